// The question screen: which question to show, showing it, and "Next".

import { ApiError, request } from "./api.js";
import { sendPing } from "./live_wiring.js";
import {
  answerControl,
  answerProblem,
  blankMessage,
  isAnswerable,
  marksText,
  readAnswer,
  setInputsDisabled,
} from "./questions.js";
import { resetCheck } from "./practice_check.js";
import { goNext, isFree, loadNav, openQuestion, renderNav } from "./question_nav.js";
import { answerChanged, captureAnswer, flush, NOT_SAVED_MESSAGE, outbox } from "./saving.js";
import { show, showError } from "./screens.js";
import { auth, onSessionError, refreshView, sessionPath } from "./session_flow.js";
import { showSummary } from "./summary.js";
import { $, clock, phase, readQuestion, state, writeQuestion } from "./take_state.js";

/** The question the candidate is on: the one kept from before a reload when it
 * was answered and no newer one was delivered, else the API's current one. */
export async function showCurrentQuestion() {
  const view = state.view;
  const cached = readQuestion();
  if (isFree() && view && cached && cached.section === view.section) {
    // Free navigation: back to the question this browser was on.
    await openQuestion(cached.id);
    return;
  }
  if (
    view &&
    view.current_question_id === null &&
    cached &&
    cached.section === view.section &&
    cached.number === view.delivered &&
    Object.prototype.hasOwnProperty.call(view.answers, cached.id)
  ) {
    renderQuestion(cached, view.answers[cached.id]);
    return;
  }
  await fetchQuestion();
}

export async function fetchQuestion(delay = 1000) {
  if (phase.stopped || phase.finished) return;
  try {
    const { data, sentAt, receivedAt } = await request("GET", sessionPath("/question"), {
      token: auth(),
    });
    clock.sample(data.server_time, receivedAt, receivedAt - sentAt);
    if (data.question) renderQuestion(data.question, data.question.answer);
    else if (isFree()) await showSummary();
    else sectionDone();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (onSessionError(err)) return;
    if (err.code === "section_not_started" || err.code === "section_state") {
      await refreshView();
      return;
    }
    if (err.retryable) {
      $("q-message").textContent = "Cannot reach the server to load the next question. Retrying…";
      setTimeout(() => fetchQuestion(Math.min(delay * 2, 10000)), delay);
      return;
    }
    showError("Could not load the question", err.detail, "", () => refreshView());
  }
}

export function renderQuestion(q, serverAnswer) {
  state.question = q;
  writeQuestion({ ...q, answer: null });
  if (serverAnswer !== null && serverAnswer !== undefined) {
    state.saved[q.id] = { answer: serverAnswer, section: q.section };
  }
  const pending = outbox.get(q.id);
  const shown = pending ? pending.answer : serverAnswer;

  $("q-section").textContent = q.section === "practice" ? "Practice round" : "Test";
  const answerable = isAnswerable(q);
  $("q-heading").textContent = answerable ? `Question ${q.number} of ${q.total}` : "Information";
  $("q-marks").textContent = marksText(q);
  const bar = $("q-progress");
  bar.max = q.total;
  bar.value = q.number;
  $("q-message").textContent = "";
  $("q-body").replaceChildren(answerControl(q, shown, answerChanged));
  $("q-body").dataset.question = q.id;
  const last = q.number >= q.total;
  const next = $("q-next");
  next.disabled = false;
  if (!answerable) next.textContent = "Continue";
  else if (q.section === "practice") {
    next.textContent = last ? "Finish the practice round" : "Next question";
  } else next.textContent = last ? "Save and finish" : "Next question";
  $("q-skip-practice").hidden = q.section !== "practice";
  resetCheck(q);
  $("q-finish").hidden = q.section !== "test";
  setInputsDisabled($("q-body"), false);
  renderNav();
  show("question");
  if (isFree()) loadNav();
  sendPing();
}

/** Enter in a typed answer saves it but stays on the question (only the button
 * moves on). */
export function onAnswerKeydown(event) {
  if (event.key !== "Enter" || event.isComposing) return;
  const target = event.target;
  if (!(target instanceof HTMLInputElement) || target.type !== "text") return;
  event.preventDefault();
  const problem = answerProblem(state.question, $("q-body"));
  if (problem) {
    $("q-message").textContent = problem;
    return;
  }
  if (captureAnswer()) flush();
}

export async function onNext(event) {
  event.preventDefault();
  const next = $("q-next");
  if (next.disabled || !state.question) return;
  if (isFree()) {
    // Free navigation: on to the next question (or the summary), answered or not.
    await goNext();
    return;
  }
  const q = state.question;
  const body = $("q-body");
  if (!isAnswerable(q)) {
    // Information only: nothing to save, on to the next question.
    next.disabled = true;
    await fetchQuestion();
    return;
  }
  const answer = readAnswer(q, body);
  if (answer === undefined) {
    $("q-message").textContent = answerProblem(q, body) || blankMessage(q);
    const first = body.querySelector("input, select, textarea, button");
    if (first) first.focus();
    return;
  }
  captureAnswer();
  next.disabled = true;
  $("q-message").textContent = "Saving your answer…";
  const ok = await flush();
  if (phase.stopped || phase.finished || state.question !== q) return;
  if (!ok || outbox.get(q.id)) {
    next.disabled = false;
    $("q-message").textContent = NOT_SAVED_MESSAGE;
    return;
  }
  $("q-message").textContent = "";
  await fetchQuestion();
}

function sectionDone() {
  const q = state.question;
  const practice = state.view && state.view.section === "practice";
  state.question = null;
  writeQuestion(null);
  if (practice) {
    $("done-title").textContent = "Practice round complete";
    $("done-text").textContent =
      "That was the practice round. When you are ready, go on to the test.";
    $("done-continue").textContent = "Continue to the test";
  } else {
    $("done-title").textContent = "All questions answered";
    $("done-text").textContent =
      `You have answered all ${q ? q.total : state.view.total} questions. Submit the test to see your result. Until you submit, the timer keeps running.`;
    $("done-continue").textContent = "Submit the test";
  }
  show("section-done");
  sendPing();
}
