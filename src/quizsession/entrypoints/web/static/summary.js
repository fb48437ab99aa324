// The summary before submitting (free navigation): a table of the section's
// questions with their state and flag, each with a link back to it, the counts,
// and "Submit all and finish", which opens the finish dialog (the practice
// round: "Finish the practice round").

import { el } from "./api.js";
import { askFinish } from "./dialogs.js";
import { finishPractice } from "./ending.js";
import { countsText, itemLabel, itemTitle, navCounts, STATE_WORDS } from "./navigation.js";
import { currentItems, loadNav, openQuestion } from "./question_nav.js";
import { captureAnswer, flush } from "./saving.js";
import { show } from "./screens.js";
import { $, state } from "./take_state.js";

function row(item) {
  const status = item.state === "information" ? "Information" : STATE_WORDS[item.state];
  return el(
    "tr",
    { "data-question": item.id, "data-state": item.state },
    el(
      "th",
      { scope: "row" },
      el("button", {
        type: "button",
        class: "button link",
        "aria-label": `Go to ${itemLabel(item)}`,
        text: itemTitle(item),
        onclick: () => openQuestion(item.id),
      }),
    ),
    el("td", { class: "summary-state", text: status.charAt(0).toUpperCase() + status.slice(1) }),
    el("td", { class: "summary-flag", text: item.flagged ? "Flagged" : "" }),
  );
}

/** Show the summary screen (focus on its heading). */
export async function showSummary() {
  captureAnswer();
  flush();
  await loadNav();
  const items = currentItems();
  const practice = state.view && state.view.section === "practice";
  $("summary-title").textContent = practice
    ? "Summary of the practice round"
    : "Summary of your attempt";
  $("summary-counts").textContent = countsText(navCounts(items));
  $("summary-rows").replaceChildren(...items.map(row));
  $("summary-finish").textContent = practice ? "Finish the practice round" : "Submit all and finish";
  $("summary-return").hidden = !items.length;
  show("summary");
}

export function bindSummary() {
  $("summary-return").addEventListener("click", () => {
    const q = state.question;
    const items = currentItems();
    const target = q ? q.id : items.length ? items[0].id : null;
    if (target) openQuestion(target);
  });
  $("summary-finish").addEventListener("click", () => {
    if (state.view && state.view.section === "practice") finishPractice();
    else askFinish();
  });
}
