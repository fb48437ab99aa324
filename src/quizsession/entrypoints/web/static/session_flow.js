// Signing in, resuming after a reload, and leading the attempt from screen to
// screen (instructions, practice, test). The screen a view leads to is decided
// by attempt_flow.js; this module does the requests and shows it.

import { ApiError, el, newOpId, request } from "./api.js";
import { routeFor, sessionErrorAction } from "./attempt_flow.js";
import { showResult, takenOver, voided, waitForResult } from "./ending.js";
import { fillInstructions, refreshInstructionsPanel } from "./instructions.js";
import { testTimeText } from "./test_time.js";
import { startLive, stopLive } from "./live_wiring.js";
import { showCurrentQuestion } from "./question_screen.js";
import { flush } from "./saving.js";
import { loading, noteError, notify, show, showError, showTitle } from "./screens.js";
import {
  $,
  KEY_INVITE,
  KEY_SESSION,
  KEY_SKIP_PRACTICE,
  KEY_SUBMIT_OP,
  clock,
  dropSession,
  phase,
  readJson,
  rememberTitle,
  rememberedTitle,
  saveSession,
  state,
  warnings,
} from "./take_state.js";
import { setDeadline } from "./timer_view.js";

export function auth() {
  return state.session ? state.session.token : null;
}

export function sessionPath(suffix = "") {
  return `/sessions/${encodeURIComponent(state.session.id)}${suffix}`;
}

export function applyView(view, sentAt, receivedAt) {
  if (!view) return;
  state.view = view;
  state.heartbeatS = view.heartbeat_s || state.heartbeatS;
  state.graceS = view.grace_s ?? state.graceS;
  const title = view.quiz_title || "Quiz";
  showTitle(title);
  rememberTitle(title);
  if (receivedAt) {
    clock.sample(view.server_time, receivedAt, sentAt ? receivedAt - sentAt : null);
  }
  setDeadline(view.deadline);
  refreshInstructionsPanel(view);
}

/** Deal with a refusal that ends or changes this session. True when handled. */
export function onSessionError(err) {
  switch (sessionErrorAction(err.code)) {
    case "taken-over":
      takenOver();
      return true;
    case "voided":
      voided();
      return true;
    case "relogin":
      relogin();
      return true;
    case "wait-result":
      waitForResult();
      return true;
    default:
      return false;
  }
}

// --------------------------------------------------------------------------- login

function readFragment() {
  const hash = window.location.hash;
  if (hash && hash.length > 1) {
    let invite = hash.slice(1);
    try {
      invite = decodeURIComponent(invite);
    } catch (err) {
      // not percent-encoded: use it as it is
    }
    invite = invite.trim();
    const stored = sessionStorage.getItem(KEY_INVITE);
    if (stored !== invite) {
      dropSession();
      sessionStorage.removeItem(KEY_SKIP_PRACTICE);
      sessionStorage.removeItem(KEY_SUBMIT_OP);
    }
    try {
      sessionStorage.setItem(KEY_INVITE, invite);
    } catch (err) {
      // kept in memory only
    }
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  state.invite = sessionStorage.getItem(KEY_INVITE);
  const title = rememberedTitle();
  if (typeof title === "string" && title) showTitle(title);
}

// Another tab of this browser using the same session (a duplicated tab copies
// sessionStorage) must not write as the same session: it logs in afresh instead,
// which the server refuses while this one lives.
const channel = "BroadcastChannel" in window ? new BroadcastChannel("quizsession") : null;
if (channel) {
  channel.addEventListener("message", (event) => {
    const msg = event.data || {};
    if (msg.type === "who" && state.session && msg.session_id === state.session.id) {
      if (!phase.stopped) channel.postMessage({ type: "mine", session_id: msg.session_id });
    }
  });
}

function otherTabHas(sessionId) {
  if (!channel) return Promise.resolve(false);
  return new Promise((resolve) => {
    let timer = null;
    const onMessage = (event) => {
      const msg = event.data || {};
      if (msg.type === "mine" && msg.session_id === sessionId) {
        clearTimeout(timer);
        channel.removeEventListener("message", onMessage);
        resolve(true);
      }
    };
    timer = setTimeout(() => {
      channel.removeEventListener("message", onMessage);
      resolve(false);
    }, 300);
    channel.addEventListener("message", onMessage);
    channel.postMessage({ type: "who", session_id: sessionId });
  });
}

export async function boot() {
  readFragment();
  const stored = readJson(sessionStorage, KEY_SESSION);
  if (stored && stored.id && stored.token && !(await otherTabHas(stored.id))) {
    state.session = stored;
    await resume();
    return;
  }
  if (stored) dropSession();
  await login(false);
}

/** Resume the session kept in sessionStorage (a reload). */
async function resume(delay = 500) {
  loading("Resuming…", "Reconnecting to your quiz.");
  try {
    const { data, sentAt, receivedAt } = await request("GET", sessionPath(), { token: auth() });
    applyView(data, sentAt, receivedAt);
    await enter(data);
  } catch (err) {
    noteError(err);
    if (err instanceof ApiError && err.retryable) {
      loading("Reconnecting…", "The server cannot be reached right now. Trying again…");
      setTimeout(() => resume(Math.min(delay * 2, 8000)), delay);
      return;
    }
    if (err instanceof ApiError && err.code === "session_superseded") {
      takenOver();
      return;
    }
    if (err instanceof ApiError && err.code === "attempt_voided") {
      voided();
      return;
    }
    dropSession();
    await login(false);
  }
}

/** Log in with the invite; `takeover` takes the attempt over from another window. */
export async function login(takeover, delay = 500) {
  if (state.loginBusy) return;
  clearTimeout(state.busyTimer);
  if (!state.invite) {
    showError(
      "Open your invitation link",
      "This page needs the personal link from your invitation to sign you in.",
      "Open the link from your invitation email again. If it does not work, contact the quiz organiser.",
    );
    return;
  }
  state.loginBusy = true;
  loading("Signing you in…", "Checking your invitation.");
  try {
    const { data, sentAt, receivedAt } = await request("POST", "/sessions", {
      body: { invite_token: state.invite, takeover },
    });
    saveSession({
      id: data.session_id,
      token: data.session_token,
      attemptId: data.attempt.attempt_id,
    });
    phase.enter();
    applyView(data.attempt, sentAt, receivedAt);
    state.loginBusy = false;
    await enter(data.attempt);
    if (takeover) notify("You took over: the quiz continues in this window; the other one has stopped.");
  } catch (err) {
    state.loginBusy = false;
    noteError(err);
    if (!(err instanceof ApiError)) throw err;
    loginFailed(err, takeover, delay);
  }
}

function loginFailed(err, takeover, delay) {
  switch (err.code) {
    case "invite_invalid":
      showError(
        "This invitation link is not valid",
        "We could not find an invitation for this link.",
        "Check that you opened the whole link from your invitation email. If it still does not work, contact the quiz organiser.",
      );
      return;
    case "invite_expired":
      showError(
        "This invitation has expired",
        "The invitation was valid until a date that has passed, so the quiz can no longer be started with it.",
        "Contact the quiz organiser if you need a new invitation.",
      );
      return;
    case "session_active":
      showBusy(err.body);
      return;
    case "attempt_voided":
      voided();
      return;
    case "quiz_not_open": {
      const opens = err.body.opens_at ? new Date(err.body.opens_at * 1000) : null;
      showError(
        "This quiz is not open yet",
        opens ? `It opens on ${opens.toLocaleString()}.` : "It is not open yet.",
        "Come back to this link when the quiz opens.",
        () => login(false),
      );
      return;
    }
    case "quiz_closed":
      showError("This quiz is closed", "The time window for this quiz has ended.");
      return;
    case "not_found":
      showError("This quiz is not available", err.detail);
      return;
    default:
      if (err.retryable) {
        const wait = err.body.retry_after ? err.body.retry_after * 1000 : delay;
        loading("Reconnecting…", "The server cannot be reached right now. Trying again…");
        setTimeout(() => login(takeover, Math.min(delay * 2, 8000)), wait);
        return;
      }
      showError("Something went wrong", err.detail || err.code, "", () => login(false));
  }
}

function showBusy(problem) {
  stopLive();
  const allowed = Boolean(problem.takeover_allowed);
  $("busy-takeover").hidden = !allowed;
  $("busy-takeover-text").hidden = !allowed;
  const retryAfter = Math.max(2, Number(problem.retry_after) || 5);
  let left = retryAfter;
  const tick = () => {
    $("busy-retry-in").textContent = left > 0 ? `(checking again in ${left} s)` : "";
    if (left <= 0) {
      login(false);
      return;
    }
    left -= 1;
    state.busyTimer = setTimeout(tick, 1000);
  };
  clearTimeout(state.busyTimer);
  tick();
  show("busy");
}

export function relogin() {
  if (phase.stopped || phase.finished || state.loginBusy) return;
  stopLive();
  dropSession();
  login(false);
}

// ------------------------------------------------------------------------ the flow

async function enter(view) {
  phase.enter();
  startLive();
  flush();
  await route(view);
}

export async function route(view) {
  switch (routeFor(view, { skipPractice: Boolean(sessionStorage.getItem(KEY_SKIP_PRACTICE)) })) {
    case "voided":
      voided();
      return;
    case "result":
      showResult(view.result);
      return;
    case "intro":
      showIntro(view);
      return;
    case "test-intro":
      showTestIntro(view);
      return;
    case "question":
      await showCurrentQuestion();
      return;
    case "wait-result":
      waitForResult();
      return;
    default:
      showError("Unexpected state", `The quiz is in an unknown state (${view.state}).`);
  }
}

function commonInstructions(view) {
  return [
    `${testTimeText(view)} The timer starts when you start the test and is kept by the server: closing this page does not stop it.`,
    view.navigation === "free"
      ? "You can answer the questions in any order: move with Previous and Next or the list of questions, and flag a question to come back to it. Before you submit, a summary shows which questions are not answered or flagged."
      : "Questions come one at a time. Answer each one, then go on to the next; you cannot go back to an earlier question.",
    "Your answers are saved automatically as you go. The indicator at the top of the page shows when they are safely stored.",
    "If your connection drops, carry on: your answers are kept on this device and saved as soon as you are back online. If the page closes, open your invitation link again to continue where you left off.",
    "When the time is up, your answers are submitted automatically and your result is shown.",
  ];
}

function fillList(list, items) {
  list.replaceChildren(...items.map((text) => el("li", { text })));
}

function showIntro(view) {
  $("intro-welcome").textContent = `Welcome to “${view.quiz_title}”.`;
  fillInstructions($("intro-instructions"), view);
  fillList($("intro-list"), [
    "It starts with a short practice round so that you can try the page. The practice round is not scored and has no time limit. You can skip it.",
    ...commonInstructions(view),
  ]);
  show("intro");
}

export function showTestIntro(view) {
  fillInstructions($("test-intro-instructions"), view);
  fillList($("test-intro-list"), commonInstructions(view));
  show("test-intro");
}

export async function startSection(section) {
  const button = section === "test" ? $("start-test") : $("start-practice");
  button.disabled = true;
  try {
    const { data, sentAt, receivedAt } = await request("POST", sessionPath("/start"), {
      token: auth(),
      body: { section, op_id: newOpId() },
    });
    applyView(data, sentAt, receivedAt);
    warnings.reset();
    await route(data);
  } catch (err) {
    if (!(err instanceof ApiError) || !onSessionError(err)) {
      const text =
        err instanceof ApiError && err.retryable
          ? "The server cannot be reached. Check your connection and try again."
          : err.detail || String(err);
      showError("Could not start", text, "", () => refreshView());
    }
  } finally {
    button.disabled = false;
  }
}

export async function refreshView() {
  try {
    const { data, sentAt, receivedAt } = await request("GET", sessionPath(), { token: auth() });
    applyView(data, sentAt, receivedAt);
    await route(data);
  } catch (err) {
    if (err instanceof ApiError && onSessionError(err)) return;
    showError(
      "Connection problem",
      "The server cannot be reached. Your answers are kept on this device.",
      "",
      () => refreshView(),
    );
  }
}
