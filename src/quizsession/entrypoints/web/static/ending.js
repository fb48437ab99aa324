// The end of the attempt in this tab: finishing the practice, submitting, the
// time running out, the result, and stopping (taken over, voided, ended).

import { ApiError, newOpId, request } from "./api.js";
import { stopLive } from "./live_wiring.js";
import { setInputsDisabled } from "./questions.js";
import { showReview } from "./review.js";
import { captureAnswer, flush, outbox, renderSaveState } from "./saving.js";
import { announce, clearNotice, notify, show, showError } from "./screens.js";
import { applyView, auth, onSessionError, refreshView, route, sessionPath } from "./session_flow.js";
import { $, KEY_SUBMIT_OP, dropSession, phase, serverNow, state, writeQuestion } from "./take_state.js";
import { renderTimer } from "./timer_view.js";

export async function finishPractice() {
  captureAnswer();
  await flush();
  try {
    const { data, sentAt, receivedAt } = await request("POST", sessionPath("/complete"), {
      token: auth(),
      body: { op_id: newOpId() },
    });
    applyView(data.attempt, sentAt, receivedAt);
    state.question = null;
    writeQuestion(null);
    await route(data.attempt);
  } catch (err) {
    if (err instanceof ApiError && err.code === "section_state") {
      await refreshView();
      return;
    }
    if (err instanceof ApiError && onSessionError(err)) return;
    showError("Could not finish the practice round", err.detail || String(err), "", () =>
      refreshView(),
    );
  }
}

export async function submitTest() {
  const button = $("done-continue");
  button.disabled = true;
  captureAnswer();
  const ok = await flush();
  if (!ok && outbox.count()) {
    button.disabled = false;
    showError(
      "Not submitted yet",
      "Some answers are not saved yet because the server cannot be reached. They are kept on this device; try again in a moment.",
      "",
      () => submitTest(),
    );
    return;
  }
  let opId = sessionStorage.getItem(KEY_SUBMIT_OP);
  if (!opId) {
    opId = newOpId();
    sessionStorage.setItem(KEY_SUBMIT_OP, opId);
  }
  try {
    const { data, sentAt, receivedAt } = await request("POST", sessionPath("/complete"), {
      token: auth(),
      body: { op_id: opId },
    });
    applyView(data.attempt, sentAt, receivedAt);
    showResult(data.attempt.result || { score: data.score, max_score: data.max_score });
  } catch (err) {
    if (err instanceof ApiError && onSessionError(err)) return;
    showError("Not submitted yet", err.detail || String(err), "", () => submitTest());
  } finally {
    button.disabled = false;
  }
}

export function onTimeUp() {
  if (phase.finished || phase.stopped || phase.timeUp) return;
  // Take what is on screen before the phase refuses new answers.
  captureAnswer();
  phase.expire();
  setInputsDisabled($("q-body"), true);
  $("waiting-title").textContent = "Time is up";
  $("waiting-text").textContent =
    "Your answers are being submitted. Your result will appear here in a few seconds.";
  show("waiting");
  announce("Time is up. Your answers are being submitted.");
  flush();
  waitForResult();
}

const ENDING_CODES = [
  "session_superseded",
  "attempt_voided",
  "token_invalid",
  "token_expired",
  "session_idle_timeout",
  "session_closed",
  "not_found",
];

/** Poll the attempt until the server has submitted it (the end_of_test notice
 * usually comes first). */
export function waitForResult() {
  if (phase.finished || phase.stopped || state.resultTimer) return;
  const poll = async () => {
    state.resultTimer = null;
    if (phase.finished || phase.stopped || !state.session) return;
    try {
      const { data, sentAt, receivedAt } = await request("GET", sessionPath(), { token: auth() });
      applyView(data, sentAt, receivedAt);
      if (data.status === "voided") {
        voided();
        return;
      }
      if (data.result) {
        showResult(data.result);
        return;
      }
      if (data.deadline !== null && data.deadline > serverNow() + 1 && phase.extend()) {
        await route(data);
        return;
      }
    } catch (err) {
      if (err instanceof ApiError && ENDING_CODES.includes(err.code)) {
        onSessionError(err);
        return;
      }
    }
    state.resultTimer = setTimeout(poll, 2000);
  };
  const due = state.deadline !== null ? (state.deadline + state.graceS - serverNow()) * 1000 : 0;
  state.resultTimer = setTimeout(poll, Math.max(500, Math.min(due + 700, 30000)));
}

export function showResult(result) {
  if (!phase.finish()) return;
  clearTimeout(state.resultTimer);
  state.resultTimer = null;
  stopLive();
  outbox.clear();
  writeQuestion(null);
  state.question = null;
  clearNotice();
  // The score and the answers as far as the quiz's review policy shows them.
  $("result-score").replaceChildren();
  $("result-review").replaceChildren();
  showReview(result);
  let text = "Your test has been submitted.";
  if (result && result.reason === "deadline") {
    text = "The time ran out and your answers were submitted automatically.";
  } else if (result && result.reason === "candidate") {
    text = "You submitted the test.";
  }
  if (result && result.finished_at) {
    text += ` Finished at ${new Date(result.finished_at * 1000).toLocaleTimeString()}.`;
  }
  $("result-text").textContent = text;
  renderTimer();
  renderSaveState();
  show("result");
}

/** Stop this tab; `continueMode` is null (no way back), "takeover" or "login". */
function stopTab(title, text, continueMode, notice) {
  if (!phase.stop()) return;
  stopLive();
  clearTimeout(state.resultTimer);
  state.resultTimer = null;
  state.continueMode = continueMode;
  $("stopped-title").textContent = title;
  $("stopped-text").textContent = text;
  $("stopped-continue").hidden = !continueMode;
  $("banner").hidden = true;
  renderTimer();
  renderSaveState();
  show("stopped");
  notify(notice, { kind: "warning" });
}

export function takenOver() {
  if (phase.stopped) return;
  dropSession();
  stopTab(
    "This quiz was taken over in another window",
    "Your quiz was opened in another window or on another device, which now has control. This window has stopped so that nothing is overwritten. Everything saved so far carries on there.",
    "takeover",
    "Taken over: the quiz continues in another window.",
  );
}

export function voided() {
  if (phase.stopped) return;
  stopTab(
    "This attempt was cancelled",
    "An administrator has voided this attempt. Please contact the quiz organiser.",
    null,
    "This attempt was cancelled by an administrator.",
  );
}

export function sessionEnded() {
  if (phase.stopped || phase.finished) return;
  dropSession();
  stopTab(
    "Your session was ended by an administrator",
    "An administrator has released this quiz so it can be continued elsewhere. If you want to continue here, you can.",
    "login",
    "Unlocked by an administrator: this window has stopped.",
  );
}
