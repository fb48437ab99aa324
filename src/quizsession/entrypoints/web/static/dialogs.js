// The finish dialog: "Submit the test now?" with what would be left unanswered.

import { finishSummary, finishText } from "./attempt_flow.js";
import { submitTest } from "./ending.js";
import { freeFinishSummary, isFree } from "./question_nav.js";
import { answeredTestIds, captureAnswer } from "./saving.js";
import { showSummary } from "./summary.js";
import { $, state } from "./take_state.js";

/** Open the dialog (or submit at once where <dialog> is not supported). */
export function askFinish() {
  const dialog = $("finish-dialog");
  if (typeof dialog.showModal !== "function") {
    submitTest();
    return;
  }
  captureAnswer();
  const q = state.question;
  const total = q ? q.total : state.view ? state.view.total : 0;
  const delivered = q ? q.number : state.view ? state.view.delivered : 0;
  const summary = freeFinishSummary() || finishSummary({ total, delivered, answered: answeredTestIds() });
  const text = $("finish-text");
  text.textContent = finishText(summary);
  text.dataset.unseen = String(summary.unseen);
  text.dataset.blank = String(summary.blank);
  dialog.showModal();
}

export function bindFinishDialog() {
  const dialog = $("finish-dialog");
  // Free navigation goes through the summary first; sequential asks at once.
  $("q-finish").addEventListener("click", () => (isFree() ? showSummary() : askFinish()));
  $("finish-cancel").addEventListener("click", () => dialog.close());
  $("finish-confirm").addEventListener("click", () => {
    dialog.close();
    submitTest();
  });
}
