// The practice round's "Check" button: the answer on screen is saved, then the
// server says whether it is right, the right answer and feedback
// (POST /sessions/{id}/questions/{question_id}/check). The verdict is shown in
// a status region, so it is announced without moving the focus.

import { ApiError, el, request } from "./api.js";
import { isAnswerable } from "./questions.js";
import { checkVerdict } from "./review_format.js";
import { captureAnswer, flush, NOT_SAVED_MESSAGE, outbox } from "./saving.js";
import { auth, onSessionError, sessionPath } from "./session_flow.js";
import { $, state } from "./take_state.js";

/** Show the Check button for a practice question (not for information), and
 * clear the feedback of the question before. */
export function resetCheck(q) {
  const button = $("q-check");
  const box = $("q-feedback");
  if (!button || !box) return;
  button.hidden = !q || q.section !== "practice" || !isAnswerable(q);
  button.disabled = false;
  box.replaceChildren();
  delete box.dataset.verdict;
}

function renderFeedback(feedback) {
  const verdict = checkVerdict(feedback);
  const box = $("q-feedback");
  const parts = [el("p", { class: "verdict" }, el("strong", { text: `${verdict.title}. ` }), verdict.sentence)];
  const notes = feedback.feedback.map((f) => f.text);
  if (feedback.general_feedback) notes.push(feedback.general_feedback);
  if (notes.length) parts.push(el("ul", { class: "feedback-notes" }, ...notes.map((text) => el("li", { text }))));
  box.dataset.verdict = verdict.kind;
  box.replaceChildren(...parts);
}

export async function checkAnswer() {
  const q = state.question;
  const button = $("q-check");
  if (!q || q.section !== "practice" || button.disabled) return;
  button.disabled = true;
  try {
    captureAnswer();
    await flush();
    if (state.question !== q) return;
    if (outbox.get(q.id)) {
      $("q-feedback").replaceChildren(el("p", { text: NOT_SAVED_MESSAGE }));
      return;
    }
    const { data } = await request("POST", sessionPath(`/questions/${encodeURIComponent(q.id)}/check`), {
      token: auth(),
    });
    if (state.question === q) renderFeedback(data);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (onSessionError(err)) return;
    const text = err.retryable
      ? "The answer cannot be checked right now because the server cannot be reached. Try again in a moment."
      : "This answer cannot be checked here.";
    $("q-feedback").replaceChildren(el("p", { text }));
  } finally {
    button.disabled = false;
  }
}
