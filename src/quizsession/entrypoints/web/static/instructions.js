// The instructions the candidate is told: the quiz's and the section's text and
// the warning about negative marks (AttemptView.instructions and
// .penalty_warning), shown on the screen before a section starts and behind
// the "Instructions" button while it runs.

import { el } from "./api.js";
import { instructionParagraphs } from "./review_format.js";
import { $ } from "./take_state.js";

/** The instructions of `view` as nodes: its paragraphs, then the warning. */
function instructionNodes(view) {
  const { paragraphs, warning } = instructionParagraphs(view);
  const nodes = paragraphs.map((text) => el("p", { text }));
  if (warning) {
    nodes.push(
      el(
        "p",
        { class: "penalty-warning", "data-warning": "penalty" },
        el("strong", { text: "Negative marks: " }),
        warning,
      ),
    );
  }
  return nodes;
}

/** Fill `box` (hidden when there is nothing to say) with `view`'s instructions. */
export function fillInstructions(box, view) {
  const nodes = instructionNodes(view);
  box.replaceChildren(...nodes);
  box.hidden = nodes.length === 0;
}

/** Keep the question screen's "Instructions" panel in step with `view`; the
 * button is hidden when there are none. */
export function refreshInstructionsPanel(view) {
  const panel = $("q-instructions");
  const toggle = $("q-instructions-toggle");
  if (!panel || !toggle) return;
  fillInstructions(panel, view);
  const none = panel.childElementCount === 0;
  toggle.hidden = none;
  panel.hidden = none || toggle.getAttribute("aria-expanded") !== "true";
}

/** The "Instructions" button opens and closes its panel (a disclosure). */
export function bindInstructions() {
  const toggle = $("q-instructions-toggle");
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    $("q-instructions").hidden = !open;
  });
}
