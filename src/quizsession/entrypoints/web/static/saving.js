// The save pipeline of the candidate's page: every answer goes to the outbox
// (kept on this device with its op id) and is sent from there; a click is sent
// at once, typing after a second of quiet, and whatever is on screen every 30 s.
// The indicator in the header tells the state (a status region).

import { ApiError, el, request, sameAnswer } from "./api.js";
import { isBlank } from "./attempt_flow.js";
import { waitForResult } from "./ending.js";
import { heard } from "./live_wiring.js";
import { DROP, Outbox, RETRY, SENT, STOP } from "./outbox.js";
import { answerProblem, isOrdered, isTyped, readAnswer } from "./questions.js";
import { SAVE_QUIET_MS, saveDelay, saveStateFor } from "./save_policy.js";
import { auth, onSessionError, sessionPath } from "./session_flow.js";
import { $, clock, pendingKey, phase, state } from "./take_state.js";
import { setDeadline } from "./timer_view.js";

export const NOT_SAVED_MESSAGE =
  "Your answer is not saved yet because the server cannot be reached. It is kept on this device and will be saved automatically; you can go on once it is saved.";

const answerListeners = [];

/** `listener` runs whenever an answer is put aside to send, sent or dropped
 * (the free-navigation panel redraws its states). */
export function onAnswersChange(listener) {
  answerListeners.push(listener);
}

export const outbox = new Outbox({
  key: () => (state.session ? pendingKey(state.session.attemptId) : null),
  send: (questionId, entry) => sendAnswer(questionId, entry),
  onChange: () => {
    renderSaveState();
    for (const listener of answerListeners) listener();
  },
});

export function renderSaveState() {
  const node = $("save-state");
  const pending = outbox.count();
  const { kind, text } = saveStateFor({
    active: Boolean(state.session) && !phase.finished && !phase.stopped,
    pending,
    failed: outbox.failed,
    anySaved: Object.keys(state.saved).length > 0,
  });
  if (node.dataset.state !== kind || node.dataset.text !== text) {
    node.dataset.state = kind;
    node.dataset.text = text;
    if (kind === "error") {
      // Short in the header (it must fit one line on a phone), whole for screen readers.
      node.replaceChildren(
        `Not saved yet (${pending})`,
        el("span", { class: "visually-hidden", text: " – kept on this device, retrying" }),
      );
    } else {
      node.textContent = text;
    }
  }
  // Once everything is saved, an earlier "not saved yet" under the question is
  // no longer true.
  const message = $("q-message");
  if (pending === 0 && message.textContent === NOT_SAVED_MESSAGE) message.textContent = "";
}

/** Keep the answer on screen as unsent unless the server already has exactly
 * this answer. An emptied field (a text cleared, a match reset) clears an
 * answer given before: `null` is sent, so a blank costs no penalty; a value
 * that cannot be read yet (a number being typed) changes nothing. Returns true
 * when something is now unsent for it. */
export function captureAnswer() {
  const q = state.question;
  if (!q || !phase.canAnswer) return false;
  const body = $("q-body");
  const entry = outbox.get(q.id);
  const saved = state.saved[q.id];
  const ordered = isOrdered(q);
  let answer = readAnswer(q, body);
  if (answer === undefined) {
    const before = entry ? entry.answer : saved && saved.answer;
    if (isBlank(before) || answerProblem(q, body)) return Boolean(entry);
    answer = null;
  }
  if (!entry && saved && sameAnswer(saved.answer, answer, ordered)) return false;
  outbox.put(q.id, answer, q.section, { ordered });
  return true;
}

/** An edit of the answer on screen: a choice is saved at once, typing after a
 * pause. */
let numericCheck = null;

export function answerChanged() {
  const q = state.question;
  if (!q) return;
  $("q-message").textContent = "";
  clearTimeout(numericCheck);
  if (isTyped(q)) {
    // A number that cannot be read is told once the typing pauses.
    numericCheck = setTimeout(() => {
      if (state.question !== q) return;
      const problem = answerProblem(q, $("q-body"));
      if (problem) $("q-message").textContent = problem;
    }, SAVE_QUIET_MS);
  }
  if (!captureAnswer()) return;
  const delay = saveDelay(isTyped(q));
  if (delay === 0) outbox.flush();
  else outbox.later(delay);
}

export function flush() {
  return outbox.flush();
}

/** The test's question ids answered so far (saved or waiting to be sent; the
 * latest answer counts, and an emptied one is blank again). */
export function answeredTestIds() {
  const latest = new Map();
  if (state.view && state.view.section === "test") {
    for (const [id, value] of Object.entries(state.view.answers || {})) latest.set(id, value);
  }
  for (const [id, saved] of Object.entries(state.saved)) {
    if (saved.section === "test") latest.set(id, saved.answer);
  }
  for (const [id, entry] of Object.entries(outbox.all())) {
    if (entry.section === "test") latest.set(id, entry.answer);
  }
  const q = state.question;
  if (q && q.section === "test") {
    const shown = readAnswer(q, $("q-body"));
    if (shown !== undefined) latest.set(q.id, shown);
  }
  return new Set([...latest].filter(([, answer]) => !isBlank(answer)).map(([id]) => id));
}

const NEVER_STORABLE = [
  "answer_invalid",
  "question_unknown",
  "question_not_delivered",
  "op_id_conflict",
  "validation_error",
  "section_not_started",
  "no_such_section",
];

/** PUT one unsent answer (the outbox keeps it until this resolves to SENT). */
async function sendAnswer(questionId, entry) {
  if (!state.session || phase.stopped) return STOP;
  try {
    const { data, sentAt, receivedAt } = await request("PUT", sessionPath("/progress"), {
      token: auth(),
      body: { question_id: questionId, answer: entry.answer, op_id: entry.op_id },
    });
    clock.sample(data.server_time, receivedAt, receivedAt - sentAt);
    setDeadline(data.deadline);
    state.saved[questionId] = { answer: entry.answer, section: entry.section };
    heard();
    return SENT;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.retryable) return RETRY;
    // Never storable (e.g. a practice answer after the practice ended): drop it
    // rather than block the others.
    if (NEVER_STORABLE.includes(err.code)) return DROP;
    if (err.code === "attempt_closed" || err.code === "deadline_passed") {
      outbox.clear();
      waitForResult();
      return STOP;
    }
    return onSessionError(err) ? STOP : RETRY;
  }
}
