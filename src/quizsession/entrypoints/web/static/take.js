// The candidate's page: /take#<invite token>.
//
// - The invite token arrives in the URL fragment (never sent to a server), is moved
//   to sessionStorage and removed from the address bar.
// - The session token lives in sessionStorage (this tab only); a reload resumes.
// - Every answer is kept in localStorage with its op id until the server has
//   acknowledged it, and is resent with the same op id after a reconnect or reload.
// - The clock is the server's: the deadline comes from the server and the timer
//   runs on the client's monotonic clock + an offset measured from ticks and
//   pongs (a wall-clock change on the computer does not move it).
// - The live WebSocket carries ticks, pings and notices; while it is down the page
//   heartbeats over HTTP and shows a banner after 3 missed ticks.

import {
  ApiError,
  el,
  formatDuration,
  formatScore,
  newOpId,
  request,
  sameAnswer,
  spokenDuration,
} from "./api.js";
import { ServerClock } from "./clock.js";
import { CLOSE_AUTH, CLOSE_ENDED, CLOSE_SUPERSEDED, LiveChannel } from "./live.js";
import { DROP, Outbox, RETRY, SENT, STOP } from "./outbox.js";
import { answerControl, marksText, readAnswer, setInputsDisabled } from "./questions.js";

const KEY_INVITE = "quizsession.invite";
const KEY_SESSION = "quizsession.session";
const KEY_SKIP_PRACTICE = "quizsession.skipPractice";
const KEY_SUBMIT_OP = "quizsession.submitOp";
const pendingKey = (attemptId) => `quizsession.pending.${attemptId}`;
// The question on screen, shared by this browser's tabs (a takeover in another
// tab shows the same question).
const questionKey = (attemptId) => `quizsession.question.${attemptId}`;

const SAVE_DEBOUNCE_MS = 1500;
const PERIODIC_SAVE_MS = 30000;
const CLOCK_CORRECTION_MS = 1000;
// The deployment's heartbeat (the server writes it into the page), used until
// the first attempt view gives the quiz's own (view.heartbeat_s).
const DEPLOYMENT_HEARTBEAT_S =
  Number(document.querySelector('meta[name="quizsession-heartbeat-s"]')?.content) || 5;

const $ = (id) => document.getElementById(id);
const clock = new ServerClock(CLOCK_CORRECTION_MS);
const live = new LiveChannel({
  sessionId: () => (state.session ? state.session.id : null),
  token: () => (state.session ? state.session.token : null),
  heartbeatS: () => state.heartbeatS,
  questionId: () => onScreenQuestionId(),
  active: () => !state.stopped && !state.finished && state.session !== null,
  onMessage: (msg, receivedAt) => onLiveMessage(msg, receivedAt),
  onClose: (code, reason, errorCode) => onLiveClose(code, reason, errorCode),
  httpBeat: () => httpHeartbeat(),
  onLost: (lost) => showLost(lost),
});
const outbox = new Outbox({
  key: () => (state.session ? pendingKey(state.session.attemptId) : null),
  send: (questionId, entry) => sendAnswer(questionId, entry),
  onChange: () => renderSaveState(),
  debounceMs: SAVE_DEBOUNCE_MS,
});

const state = {
  invite: null,
  session: null, // {id, token, attemptId}
  view: null, // the last AttemptView
  heartbeatS: DEPLOYMENT_HEARTBEAT_S,
  deadline: null, // server epoch seconds
  graceS: 5,
  question: null, // the QuestionView on screen
  saved: {}, // question id -> the answer the server acknowledged
  stopped: false, // taken over, voided, ended: this tab does nothing more
  finished: false, // the result is on screen
  timeUp: false,
  loginBusy: false,
  busyTimer: null,
  resultTimer: null,
  announced: new Set(),
};

// ----------------------------------------------------------------------------- storage

function readJson(storage, key) {
  try {
    const raw = storage.getItem(key);
    return raw ? JSON.parse(raw) : null;
  } catch (err) {
    return null;
  }
}

function writeJson(storage, key, value) {
  try {
    if (value === null || value === undefined) storage.removeItem(key);
    else storage.setItem(key, JSON.stringify(value));
  } catch (err) {
    // Storage full or disabled: the page still works, only resuming is harder.
  }
}

function saveSession(session) {
  state.session = session;
  writeJson(sessionStorage, KEY_SESSION, session);
}

function dropSession() {
  state.session = null;
  writeJson(sessionStorage, KEY_SESSION, null);
}

function readQuestion() {
  return state.session ? readJson(localStorage, questionKey(state.session.attemptId)) : null;
}

function writeQuestion(question) {
  if (state.session) writeJson(localStorage, questionKey(state.session.attemptId), question);
}

// --------------------------------------------------------------------------- screens

const SCREENS = [
  "loading",
  "error",
  "busy",
  "intro",
  "test-intro",
  "question",
  "section-done",
  "waiting",
  "result",
  "stopped",
];

function show(name, { focus = true } = {}) {
  for (const screen of SCREENS) $(`screen-${screen}`).hidden = screen !== name;
  if (focus) {
    const heading = $(`screen-${name}`).querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: false });
    }
  }
  document.body.dataset.screen = name;
}

function noteError(err) {
  document.body.dataset.lastError = err instanceof ApiError ? `${err.status} ${err.code}` : String(err);
}

function loading(title, text) {
  $("loading-title").textContent = title;
  $("loading-text").textContent = text;
  show("loading", { focus: false });
}

function announce(text) {
  const region = $("timer-announce");
  region.textContent = "";
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

function showError(title, text, hint = "", retry = null) {
  $("error-title").textContent = title;
  $("error-text").textContent = text;
  $("error-hint").textContent = hint;
  const button = $("error-retry");
  button.hidden = !retry;
  button.onclick = retry;
  show("error");
}

// ----------------------------------------------------------------------------- clock

function clockSample(serverTime, receivedAt, rtt = null) {
  clock.sample(serverTime, receivedAt, rtt);
}

function serverNow() {
  return clock.now();
}

function setDeadline(deadline) {
  if (deadline === undefined) return;
  const before = state.deadline;
  state.deadline = deadline;
  if (
    before !== null &&
    deadline !== null &&
    deadline > before + 0.5 &&
    state.timeUp &&
    !state.finished &&
    deadline > serverNow()
  ) {
    // Extended after the time had run out on screen: carry on.
    state.timeUp = false;
    showCurrentQuestion();
  }
  renderTimer();
}

function renderTimer() {
  const box = $("timer-box");
  const running =
    state.deadline !== null &&
    !state.finished &&
    !state.stopped &&
    state.view &&
    state.view.state === "test_started";
  box.hidden = !running;
  if (!running) return;
  const left = state.deadline - serverNow();
  const text = formatDuration(left);
  const timer = $("timer");
  if (timer.textContent !== text) timer.textContent = text;
  box.classList.toggle("low", left < 60);
  for (const mark of [600, 300, 60, 30]) {
    if (left <= mark && left > mark - 5 && !state.announced.has(mark)) {
      state.announced.add(mark);
      announce(`${spokenDuration(mark)} left.`);
    }
  }
  if (left <= 0 && !state.timeUp) onTimeUp();
}

// ------------------------------------------------------------------------ save state

function renderSaveState() {
  const node = $("save-state");
  const count = outbox.count();
  let kind;
  let text;
  if (!state.session || state.finished || state.stopped) {
    kind = "idle";
    text = "";
  } else if (count === 0 && Object.keys(state.saved).length === 0) {
    kind = "idle";
    text = "";
  } else if (count === 0) {
    kind = "saved";
    text = "All answers saved";
  } else if (outbox.failed) {
    kind = "error";
    text = `Not saved yet (${count}) – kept on this device, retrying`;
  } else {
    kind = "saving";
    text = "Saving…";
  }
  if (node.dataset.state !== kind || node.textContent !== text) {
    node.dataset.state = kind;
    node.textContent = text;
  }
}

// ------------------------------------------------------------------------- requests

function auth() {
  return state.session ? state.session.token : null;
}

function sessionPath(suffix = "") {
  return `/sessions/${encodeURIComponent(state.session.id)}${suffix}`;
}

function applyView(view, sentAt, receivedAt) {
  if (!view) return;
  state.view = view;
  state.heartbeatS = view.heartbeat_s || state.heartbeatS;
  state.graceS = view.grace_s ?? state.graceS;
  const title = view.quiz_title || "Quiz";
  $("quiz-title").textContent = title;
  document.title = `${title} – quiz`;
  if (receivedAt) {
    clockSample(view.server_time, receivedAt, sentAt ? receivedAt - sentAt : null);
  }
  setDeadline(view.deadline);
}

/** Deal with a refusal that ends or changes this session. True when handled. */
function onSessionError(err) {
  switch (err.code) {
    case "session_superseded":
      takenOver();
      return true;
    case "attempt_voided":
      voided();
      return true;
    case "token_invalid":
    case "token_expired":
    case "session_idle_timeout":
    case "session_closed":
    case "not_found":
      relogin();
      return true;
    case "attempt_closed":
    case "deadline_passed":
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
}

// Another tab of this browser using the same session (a duplicated tab copies
// sessionStorage) must not write as the same session: it logs in afresh instead,
// which the server refuses while this one lives.
const channel = "BroadcastChannel" in window ? new BroadcastChannel("quizsession") : null;
if (channel) {
  channel.addEventListener("message", (event) => {
    const msg = event.data || {};
    if (msg.type === "who" && state.session && msg.session_id === state.session.id) {
      if (!state.stopped) channel.postMessage({ type: "mine", session_id: msg.session_id });
    }
  });
}

function otherTabHas(sessionId) {
  if (!channel) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onMessage = (event) => {
      const msg = event.data || {};
      if (msg.type === "mine" && msg.session_id === sessionId) {
        clearTimeout(timer);
        channel.removeEventListener("message", onMessage);
        resolve(true);
      }
    };
    const timer = setTimeout(() => {
      channel.removeEventListener("message", onMessage);
      resolve(false);
    }, 300);
    channel.addEventListener("message", onMessage);
    channel.postMessage({ type: "who", session_id: sessionId });
  });
}

async function boot() {
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

async function login(takeover, delay = 500) {
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
    state.stopped = false;
    applyView(data.attempt, sentAt, receivedAt);
    state.loginBusy = false;
    await enter(data.attempt);
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

function relogin() {
  if (state.stopped || state.finished || state.loginBusy) return;
  stopLive();
  dropSession();
  login(false);
}

// ------------------------------------------------------------------------ the flow

async function enter(view) {
  state.stopped = false;
  state.finished = false;
  state.timeUp = false;
  startLive();
  flush();
  await route(view);
}

async function route(view) {
  if (view.status === "voided") {
    voided();
    return;
  }
  if (view.result) {
    showResult(view.result);
    return;
  }
  switch (view.state) {
    case "practice_not_started":
      if (sessionStorage.getItem(KEY_SKIP_PRACTICE)) showTestIntro(view);
      else showIntro(view);
      return;
    case "practice_started":
    case "test_started":
      await showCurrentQuestion();
      return;
    case "test_not_started":
      showTestIntro(view);
      return;
    case "test_finished":
      waitForResult();
      return;
    default:
      showError("Unexpected state", `The quiz is in an unknown state (${view.state}).`);
  }
}

function minutes(seconds) {
  const m = Math.round(seconds / 60);
  if (seconds < 120) return `${Math.round(seconds)} seconds`;
  return `${m} minutes`;
}

function commonInstructions(view) {
  return [
    `The test lasts ${minutes(view.duration_s)}. The timer starts when you start the test and is kept by the server: closing this page does not stop it.`,
    "Questions come one at a time. Answer each one, then go on to the next; you cannot go back to an earlier question.",
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
  fillList($("intro-list"), [
    "It starts with a short practice round so that you can try the page. The practice round is not scored and has no time limit. You can skip it.",
    ...commonInstructions(view),
  ]);
  show("intro");
}

function showTestIntro(view) {
  fillList($("test-intro-list"), commonInstructions(view));
  show("test-intro");
}

async function startSection(section) {
  const button = section === "test" ? $("start-test") : $("start-practice");
  button.disabled = true;
  try {
    const { data, sentAt, receivedAt } = await request("POST", sessionPath("/start"), {
      token: auth(),
      body: { section, op_id: newOpId() },
    });
    applyView(data, sentAt, receivedAt);
    state.announced.clear();
    await route(data);
  } catch (err) {
    if (!(err instanceof ApiError) || !onSessionError(err)) {
      const text = err instanceof ApiError && err.retryable
        ? "The server cannot be reached. Check your connection and try again."
        : (err.detail || String(err));
      showError("Could not start", text, "", () => refreshView());
    }
  } finally {
    button.disabled = false;
  }
}

async function refreshView() {
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

/** The question the candidate is on: the one kept from before a reload when it
 * was answered and no newer one was delivered, else the API's current one. */
async function showCurrentQuestion() {
  const view = state.view;
  const cached = readQuestion();
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

async function fetchQuestion(delay = 1000) {
  if (state.stopped || state.finished) return;
  try {
    const { data, sentAt, receivedAt } = await request("GET", sessionPath("/question"), {
      token: auth(),
    });
    clockSample(data.server_time, receivedAt, receivedAt - sentAt);
    if (data.question) renderQuestion(data.question, data.question.answer);
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

function renderQuestion(q, serverAnswer) {
  state.question = q;
  writeQuestion({ ...q, answer: null });
  if (serverAnswer !== null && serverAnswer !== undefined) state.saved[q.id] = serverAnswer;
  const pending = outbox.get(q.id);
  const shown = pending ? pending.answer : serverAnswer;

  $("q-section").textContent = q.section === "practice" ? "Practice round" : "Test";
  $("q-heading").textContent = `Question ${q.number} of ${q.total}`;
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
  if (q.section === "practice") next.textContent = last ? "Finish the practice round" : "Next question";
  else next.textContent = last ? "Save and finish" : "Next question";
  $("q-skip-practice").hidden = q.section !== "practice";
  $("q-finish").hidden = q.section !== "test";
  setInputsDisabled($("q-body"), false);
  show("question");
  sendPing();
}

// ------------------------------------------------------------------------- saving

/** Keep the answer on screen as unsent unless the server already has exactly
 * this answer. Returns true when something is now unsent for it. */
function captureAnswer() {
  const q = state.question;
  if (!q || state.stopped || state.finished || state.timeUp) return false;
  const answer = readAnswer(q, $("q-body"));
  const entry = outbox.get(q.id);
  if (answer === undefined) return Boolean(entry);
  if (!entry && q.id in state.saved && sameAnswer(state.saved[q.id], answer)) return false;
  outbox.put(q.id, answer, q.section);
  return true;
}

function answerChanged() {
  $("q-message").textContent = "";
  if (captureAnswer()) outbox.later();
}

function flush() {
  return outbox.flush();
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
  if (!state.session || state.stopped) return STOP;
  try {
    const { data, sentAt, receivedAt } = await request("PUT", sessionPath("/progress"), {
      token: auth(),
      body: { question_id: questionId, answer: entry.answer, op_id: entry.op_id },
    });
    clockSample(data.server_time, receivedAt, receivedAt - sentAt);
    setDeadline(data.deadline);
    state.saved[questionId] = entry.answer;
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

async function onNext(event) {
  event.preventDefault();
  const next = $("q-next");
  if (next.disabled || !state.question) return;
  const q = state.question;
  const answer = readAnswer(state.question, $("q-body"));
  if (answer === undefined) {
    $("q-message").textContent =
      q.kind === "numeric"
        ? "Enter a number to continue."
        : "Answer this question to continue.";
    const first = $("q-body").querySelector("input");
    if (first) first.focus();
    return;
  }
  captureAnswer();
  next.disabled = true;
  $("q-message").textContent = "Saving your answer…";
  const ok = await flush();
  if (state.stopped || state.finished || state.question !== q) return;
  if (!ok || outbox.get(q.id)) {
    next.disabled = false;
    $("q-message").textContent =
      "Your answer is not saved yet because the server cannot be reached. It is kept on this device and will be saved automatically; you can go on once it is saved.";
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

async function finishPractice() {
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

async function submitTest() {
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

// ----------------------------------------------------------------------- the end

function onTimeUp() {
  if (state.finished || state.stopped || state.timeUp) return;
  state.timeUp = true;
  captureAnswerBeforeDeadline();
  setInputsDisabled($("q-body"), true);
  $("waiting-title").textContent = "Time is up";
  $("waiting-text").textContent =
    "Your answers are being submitted. Your result will appear here in a few seconds.";
  show("waiting");
  announce("Time is up. Your answers are being submitted.");
  flush();
  waitForResult();
}

function captureAnswerBeforeDeadline() {
  // captureAnswer() refuses once timeUp is set; take what is on screen first.
  const wasUp = state.timeUp;
  state.timeUp = false;
  captureAnswer();
  state.timeUp = wasUp;
}

/** Poll the attempt until the server has submitted it (the end_of_test notice
 * usually comes first). */
function waitForResult() {
  if (state.finished || state.stopped || state.resultTimer) return;
  const poll = async () => {
    state.resultTimer = null;
    if (state.finished || state.stopped || !state.session) return;
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
      if (data.deadline !== null && data.deadline > serverNow() + 1 && state.timeUp) {
        state.timeUp = false;
        await route(data);
        return;
      }
    } catch (err) {
      const ending = ["session_superseded", "attempt_voided", "token_invalid", "token_expired",
        "session_idle_timeout", "session_closed", "not_found"];
      if (err instanceof ApiError && ending.includes(err.code)) {
        onSessionError(err);
        return;
      }
    }
    state.resultTimer = setTimeout(poll, 2000);
  };
  const due = state.deadline !== null ? (state.deadline + state.graceS - serverNow()) * 1000 : 0;
  state.resultTimer = setTimeout(poll, Math.max(500, Math.min(due + 700, 30000)));
}

function showResult(result) {
  if (state.stopped) return;
  state.finished = true;
  clearTimeout(state.resultTimer);
  state.resultTimer = null;
  stopLive();
  outbox.clear();
  writeQuestion(null);
  state.question = null;
  const score = result ? result.score : null;
  const max = result ? result.max_score : null;
  const pct = max ? `${Math.round((score / max) * 100)} %` : "";
  $("result-score").replaceChildren(
    el("span", { "aria-hidden": "true", text: `${formatScore(score)} / ${formatScore(max)}` }),
    el("span", {
      class: "visually-hidden",
      text: `Score: ${formatScore(score)} out of ${formatScore(max)}`,
    }),
  );
  let text = "Your test has been submitted and scored.";
  if (result && result.reason === "deadline") {
    text = "The time ran out and your answers were submitted automatically.";
  } else if (result && result.reason === "candidate") {
    text = "You submitted the test.";
  }
  if (result && result.finished_at) {
    text += ` Finished at ${new Date(result.finished_at * 1000).toLocaleTimeString()}.`;
  }
  $("result-text").textContent = `${text}${pct ? ` You scored ${pct}.` : ""}`;
  renderTimer();
  renderSaveState();
  show("result");
}

function stopTab(title, text, allowContinue) {
  state.stopped = true;
  stopLive();
  clearTimeout(state.resultTimer);
  state.resultTimer = null;
  $("stopped-title").textContent = title;
  $("stopped-text").textContent = text;
  $("stopped-continue").hidden = !allowContinue;
  $("banner").hidden = true;
  renderTimer();
  renderSaveState();
  show("stopped");
}

function takenOver() {
  if (state.stopped) return;
  dropSession();
  stopTab(
    "This quiz was taken over in another window",
    "Your quiz was opened in another window or on another device, which now has control. This window has stopped so that nothing is overwritten. Everything saved so far carries on there.",
    true,
  );
}

function voided() {
  if (state.stopped) return;
  stopTab(
    "This attempt was cancelled",
    "An administrator has voided this attempt. Please contact the quiz organiser.",
    false,
  );
}

function sessionEnded() {
  if (state.stopped || state.finished) return;
  dropSession();
  stopTab(
    "Your session was ended by an administrator",
    "An administrator has released this quiz so it can be continued elsewhere. If you want to continue here, you can.",
    true,
  );
}

// ----------------------------------------------------------------------- the live channel

function heard() {
  live.heard();
}

function showLost(lost) {
  $("banner").hidden = !lost;
  document.body.classList.toggle("offline", lost);
  if (!lost && !state.stopped && !state.finished) announce("Connection restored.");
}

function startLive() {
  live.start();
}

function stopLive() {
  live.stop();
}

function sendPing() {
  live.ping();
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
      clockSample(msg.server_time, receivedAt);
      setDeadline(msg.deadline);
      if (state.view) state.view = { ...state.view, state: msg.state, status: msg.status };
      if (msg.status === "submitted") waitForResult();
      else if (msg.status === "voided") voided();
      return;
    case "pong": {
      const rtt = typeof msg.echo === "number" ? receivedAt - msg.echo * 1000 : null;
      clockSample(msg.server_time, receivedAt, rtt);
      setDeadline(msg.deadline);
      updateToken(msg.session_token);
      return;
    }
    case "takeover":
      takenOver();
      return;
    case "extension":
      setDeadline(msg.deadline);
      announce(
        msg.seconds
          ? `Your time has been extended by ${spokenDuration(msg.seconds)}.`
          : "Your time has been extended.",
      );
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
  switch (code) {
    case CLOSE_SUPERSEDED:
      takenOver();
      return;
    case CLOSE_ENDED:
      if (errorCode === "attempt_voided" || reason === "void") voided();
      else if (reason === "unlock") sessionEnded();
      else if (errorCode === "session_closed") relogin();
      else waitForResult();
      return;
    case CLOSE_AUTH:
      relogin();
      return;
    default:
      showError("Connection refused", "This page's address is not allowed to connect to the quiz.");
  }
}

// ---------------------------------------------------------------------------- wiring

function bind() {
  $("question-form").addEventListener("submit", onNext);
  $("start-practice").addEventListener("click", () => startSection("practice"));
  $("skip-practice").addEventListener("click", () => {
    sessionStorage.setItem(KEY_SKIP_PRACTICE, "1");
    if (state.view) showTestIntro(state.view);
  });
  $("start-test").addEventListener("click", () => startSection("test"));
  $("q-skip-practice").addEventListener("click", () => finishPractice());
  $("done-continue").addEventListener("click", () => {
    if (state.view && state.view.section === "practice") finishPractice();
    else submitTest();
  });
  const dialog = $("finish-dialog");
  $("q-finish").addEventListener("click", () => {
    if (typeof dialog.showModal === "function") dialog.showModal();
    else submitTest();
  });
  $("finish-cancel").addEventListener("click", () => dialog.close());
  $("finish-confirm").addEventListener("click", () => {
    dialog.close();
    submitTest();
  });
  $("busy-retry").addEventListener("click", () => login(false));
  $("busy-takeover").addEventListener("click", () => login(true));
  $("stopped-continue").addEventListener("click", () => {
    state.stopped = false;
    login(false);
  });
  window.addEventListener("online", () => {
    if (!state.session || state.stopped || state.finished) return;
    live.connectNow();
    flush();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      renderTimer();
      live.beat();
    } else {
      captureAnswer();
      flush();
    }
  });
  setInterval(renderTimer, 250);
  setInterval(() => {
    if (!state.session || state.stopped || state.finished) return;
    captureAnswer();
    flush();
  }, PERIODIC_SAVE_MS);
}

bind();
boot().catch((err) => {
  showError("Something went wrong", String(err), "Reload the page to try again.");
});
