// The candidate page's side of the live channel (live.js): what each server
// message and each final close means for this tab, the HTTP heartbeat while the
// socket is down, and the "connection lost" banner.

import { ApiError, request } from "./api.js";
import { liveCloseAction } from "./attempt_flow.js";
import { sessionEnded, showResult, takenOver, voided, waitForResult } from "./ending.js";
import { LiveChannel } from "./live.js";
import { flush } from "./saving.js";
import { announce, showError } from "./screens.js";
import { applyView, auth, onSessionError, relogin, sessionPath } from "./session_flow.js";
import { $, clock, phase, saveSession, state } from "./take_state.js";
import { setDeadline } from "./timer_view.js";

const live = new LiveChannel({
  sessionId: () => (state.session ? state.session.id : null),
  token: () => (state.session ? state.session.token : null),
  heartbeatS: () => state.heartbeatS,
  questionId: () => onScreenQuestionId(),
  active: () => !phase.stopped && !phase.finished && state.session !== null,
  onMessage: (msg, receivedAt) => onLiveMessage(msg, receivedAt),
  onClose: (code, reason, errorCode) => onLiveClose(code, reason, errorCode),
  httpBeat: () => httpHeartbeat(),
  onLost: (lost) => showLost(lost),
});

export function heard() {
  live.heard();
}

export function startLive() {
  live.start();
}

export function stopLive() {
  live.stop();
}

export function sendPing() {
  live.ping();
}

/** The network is back: connect now rather than at the next backoff. */
export function reconnectNow() {
  live.connectNow();
}

/** The tab is visible again: beat now. */
export function beatNow() {
  live.beat();
}

function showLost(lost) {
  $("banner").hidden = !lost;
  document.body.classList.toggle("offline", lost);
  if (!lost && !phase.stopped && !phase.finished) announce("Connection restored.");
}

function onScreenQuestionId() {
  return !$("screen-question").hidden && state.question ? state.question.id : null;
}

function updateToken(token) {
  if (token && state.session) saveSession({ ...state.session, token });
}

let beating = false;

/** POST /heartbeat while the socket is down. Resolves to true when it worked. */
async function httpHeartbeat() {
  if (beating || !state.session) return false;
  beating = true;
  try {
    const qid = onScreenQuestionId();
    const { data, sentAt, receivedAt } = await request("POST", sessionPath("/heartbeat"), {
      token: auth(),
      body: qid ? { question_id: qid } : {},
      timeoutMs: state.heartbeatS * 1000,
    });
    updateToken(data.session_token);
    heard();
    applyView(data.attempt, sentAt, receivedAt);
    if (data.attempt.result) showResult(data.attempt.result);
    else if (data.attempt.status === "voided") voided();
    else flush();
    return true;
  } catch (err) {
    if (err instanceof ApiError && !err.retryable) onSessionError(err);
    return false;
  } finally {
    beating = false;
  }
}

function onLiveMessage(msg, receivedAt) {
  switch (msg.type) {
    case "welcome":
      updateToken(msg.session_token);
      applyView(msg.attempt, null, receivedAt);
      if (msg.attempt.result) showResult(msg.attempt.result);
      else if (msg.attempt.status === "voided") voided();
      else flush();
      return;
    case "tick":
      clock.sample(msg.server_time, receivedAt);
      setDeadline(msg.deadline);
      if (state.view) state.view = { ...state.view, state: msg.state, status: msg.status };
      if (msg.status === "submitted") waitForResult();
      else if (msg.status === "voided") voided();
      return;
    case "pong": {
      const rtt = typeof msg.echo === "number" ? receivedAt - msg.echo * 1000 : null;
      clock.sample(msg.server_time, receivedAt, rtt);
      setDeadline(msg.deadline);
      updateToken(msg.session_token);
      return;
    }
    case "takeover":
      takenOver();
      return;
    case "extension":
      // The notice comes from the deadline moving (also when this message was
      // missed and a tick or a view brings the new deadline).
      setDeadline(msg.deadline);
      return;
    case "end_of_test":
      showResult({
        score: msg.score,
        max_score: msg.max_score,
        finished_at: msg.finished_at,
        reason: msg.reason,
      });
      return;
    case "void":
      voided();
      return;
    case "unlock":
      sessionEnded();
      return;
    default:
  }
}

function onLiveClose(code, reason, errorCode) {
  switch (liveCloseAction(code, reason, errorCode)) {
    case "taken-over":
      takenOver();
      return;
    case "voided":
      voided();
      return;
    case "ended":
      sessionEnded();
      return;
    case "relogin":
      relogin();
      return;
    case "wait-result":
      waitForResult();
      return;
    default:
      showError("Connection refused", "This page's address is not allowed to connect to the quiz.");
  }
}
