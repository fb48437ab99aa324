// The candidate's page: /take#<invite token>.
//
// - The invite token arrives in the URL fragment (never sent to a server), is moved
//   to sessionStorage and removed from the address bar.
// - The session token lives in sessionStorage (this tab only); a reload resumes.
// - Every answer is kept in localStorage with its op id until the server has
//   acknowledged it, and is resent with the same op id after a reconnect or reload.
// - The clock is the server's: the deadline comes from the server and the timer
//   runs on Date.now() + an offset measured from ticks and pongs.
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
const MISSED_TICKS = 3;
const CLOCK_CORRECTION_MS = 1000;

const $ = (id) => document.getElementById(id);

const state = {
  invite: null,
  session: null, // {id, token, attemptId}
  view: null, // the last AttemptView
  heartbeatS: 5,
  deadline: null, // server epoch seconds
  graceS: 5,
  question: null, // the QuestionView on screen
  saved: {}, // question id -> the answer the server acknowledged
  stopped: false, // taken over, voided, ended: this tab does nothing more
  finished: false, // the result is on screen
  timeUp: false,
  ws: null,
  wsReady: false,
  wsError: null,
  wsAttempt: 0,
  wsTimer: null,
  beatTimer: null,
  lastHeard: Date.now(),
  lastPingAt: 0,
  lost: false,
  appliedOffset: null, // ms: server clock - client clock, as used by the timer
  measuredOffset: null,
  rtt: null, // ms, last measured round trip
  saveFailed: false,
  saveInFlight: false,
  saveRetry: null,
  saveRetryDelay: 1000,
  debounce: null,
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

function loadPending() {
  if (!state.session) return {};
  return readJson(localStorage, pendingKey(state.session.attemptId)) || {};
}

function storePending(pending) {
  if (!state.session) return;
  const key = pendingKey(state.session.attemptId);
  writeJson(localStorage, key, Object.keys(pending).length ? pending : null);
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

/** A clock sample: the server said `serverTime` (s); it reached us at
 * `receivedAt` (ms, client clock); `rtt` (ms) is the round trip if known. The
 * message left the server about half a round trip before we got it. */
function clockSample(serverTime, receivedAt, rtt) {
  if (typeof serverTime !== "number") return;
  if (typeof rtt === "number" && rtt >= 0) state.rtt = rtt;
  const half = state.rtt !== null ? state.rtt / 2 : 0;
  const offset = serverTime * 1000 + half - receivedAt;
  state.measuredOffset = offset;
  if (
    state.appliedOffset === null ||
    Math.abs(offset - state.appliedOffset) > CLOCK_CORRECTION_MS
  ) {
    state.appliedOffset = offset;
  }
}

function serverNow() {
  return (Date.now() + (state.appliedOffset || 0)) / 1000;
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
  const count = Object.keys(loadPending()).length;
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
  } else if (state.saveFailed) {
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
    const invite = decodeURIComponent(hash.slice(1)).trim();
    const stored = sessionStorage.getItem(KEY_INVITE);
    if (stored !== invite) {
      dropSession();
      sessionStorage.removeItem(KEY_SKIP_PRACTICE);
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

function marksText(q) {
  if (q.section === "practice") return "Practice question – not scored";
  const pts = `${formatScore(q.points)} mark${q.points === 1 ? "" : "s"}`;
  return q.penalty > 0 ? `${pts} · a wrong answer costs ${formatScore(q.penalty)}` : pts;
}

function renderQuestion(q, serverAnswer) {
  state.question = q;
  writeQuestion({ ...q, answer: null });
  if (serverAnswer !== null && serverAnswer !== undefined) state.saved[q.id] = serverAnswer;
  const pending = loadPending()[q.id];
  const shown = pending ? pending.answer : serverAnswer;

  $("q-section").textContent = q.section === "practice" ? "Practice round" : "Test";
  $("q-heading").textContent = `Question ${q.number} of ${q.total}`;
  $("q-marks").textContent = marksText(q);
  const bar = $("q-progress");
  bar.max = q.total;
  bar.value = q.number;
  $("q-message").textContent = "";
  $("q-body").replaceChildren(answerControl(q, shown));
  $("q-body").dataset.question = q.id;
  const last = q.number >= q.total;
  const next = $("q-next");
  next.disabled = false;
  if (q.section === "practice") next.textContent = last ? "Finish the practice round" : "Next question";
  else next.textContent = last ? "Save and finish" : "Next question";
  $("q-skip-practice").hidden = q.section !== "practice";
  $("q-finish").hidden = q.section !== "test";
  setInputsDisabled(false);
  show("question");
  sendPing();
}

function answerControl(q, value) {
  const name = `answer-${q.id}`;
  const onChange = () => answerChanged();
  switch (q.kind) {
    case "single":
    case "true_false": {
      const options =
        q.kind === "single"
          ? q.choices.map((c) => ({ value: c.id, text: c.text }))
          : [
              { value: "true", text: "True" },
              { value: "false", text: "False" },
            ];
      const current = q.kind === "true_false" && typeof value === "boolean" ? String(value) : value;
      return el(
        "fieldset",
        { class: "answer", "data-kind": q.kind },
        el("legend", { class: "q-text", text: q.text }),
        el(
          "div",
          { class: "choices" },
          ...options.map((o, i) => {
            const id = `${name}-${i}`;
            return el(
              "label",
              { class: "choice", for: id },
              el("input", {
                type: "radio",
                id,
                name,
                value: o.value,
                checked: current === o.value,
                onchange: onChange,
              }),
              el("span", { text: o.text }),
            );
          }),
        ),
      );
    }
    case "multiple": {
      const chosen = Array.isArray(value) ? value : [];
      const hint = `${name}-hint`;
      return el(
        "fieldset",
        { class: "answer", "data-kind": q.kind, "aria-describedby": hint },
        el("legend", { class: "q-text", text: q.text }),
        el("p", { class: "hint", id: hint, text: "Select all that apply." }),
        el(
          "div",
          { class: "choices" },
          ...q.choices.map((c, i) => {
            const id = `${name}-${i}`;
            return el(
              "label",
              { class: "choice", for: id },
              el("input", {
                type: "checkbox",
                id,
                name,
                value: c.id,
                checked: chosen.includes(c.id),
                onchange: onChange,
              }),
              el("span", { text: c.text }),
            );
          }),
        ),
      );
    }
    case "short_text":
    case "numeric": {
      const id = `${name}-input`;
      const hint = `${name}-hint`;
      const numeric = q.kind === "numeric";
      return el(
        "div",
        { class: "answer field", "data-kind": q.kind },
        el("label", { class: "q-text", for: id, text: q.text }),
        el("p", {
          class: "hint",
          id: hint,
          text: numeric ? "Enter a number (use a dot for decimals)." : "Type your answer.",
        }),
        el("input", {
          type: numeric ? "number" : "text",
          id,
          name,
          step: numeric ? "any" : undefined,
          inputmode: numeric ? "decimal" : undefined,
          maxlength: numeric ? undefined : 2000,
          autocomplete: "off",
          spellcheck: numeric ? undefined : "false",
          "aria-describedby": hint,
          value: value === null || value === undefined ? "" : String(value),
          oninput: onChange,
        }),
      );
    }
    default:
      return el("p", { text: `Unsupported question kind: ${q.kind}` });
  }
}

/** The answer on screen, or undefined when nothing is given yet. */
function readAnswer() {
  const q = state.question;
  if (!q) return undefined;
  const body = $("q-body");
  switch (q.kind) {
    case "single": {
      const checked = body.querySelector("input:checked");
      return checked ? checked.value : undefined;
    }
    case "true_false": {
      const checked = body.querySelector("input:checked");
      return checked ? checked.value === "true" : undefined;
    }
    case "multiple":
      return Array.from(body.querySelectorAll("input:checked"), (i) => i.value);
    case "short_text": {
      const value = body.querySelector("input").value;
      return value.trim() === "" ? undefined : value;
    }
    case "numeric": {
      const input = body.querySelector("input");
      if (input.value.trim() === "") return undefined;
      const n = Number(input.value);
      return Number.isFinite(n) ? n : undefined;
    }
    default:
      return undefined;
  }
}

function setInputsDisabled(disabled) {
  for (const input of $("q-body").querySelectorAll("input")) input.disabled = disabled;
}

// ------------------------------------------------------------------------- saving

/** Keep the answer on screen as unsent (with a fresh op id) unless the server
 * already has exactly this answer. Returns true when something is now unsent. */
function captureAnswer() {
  const q = state.question;
  if (!q || state.stopped || state.finished || state.timeUp) return false;
  const answer = readAnswer();
  const pending = loadPending();
  if (answer === undefined) return Boolean(pending[q.id]);
  const entry = pending[q.id];
  if (entry && sameAnswer(entry.answer, answer)) return true;
  if (!entry && q.id in state.saved && sameAnswer(state.saved[q.id], answer)) return false;
  pending[q.id] = { answer, op_id: newOpId(), section: q.section, at: Date.now() };
  storePending(pending);
  return true;
}

function answerChanged() {
  $("q-message").textContent = "";
  if (captureAnswer()) {
    renderSaveState();
    clearTimeout(state.debounce);
    state.debounce = setTimeout(flush, SAVE_DEBOUNCE_MS);
  }
}

let flushing = null;
let flushAgain = false;

/** Send every unsent answer, oldest first, one at a time. Resolves to true when
 * nothing is left unsent. */
function flush() {
  if (flushing) {
    flushAgain = true;
    return flushing;
  }
  flushing = (async () => {
    let ok = true;
    try {
      do {
        flushAgain = false;
        ok = await flushOnce();
      } while (ok && flushAgain);
    } finally {
      flushing = null;
      renderSaveState();
    }
    return ok;
  })();
  return flushing;
}

async function flushOnce() {
  clearTimeout(state.debounce);
  clearTimeout(state.saveRetry);
  const entries = Object.entries(loadPending()).sort((a, b) => a[1].at - b[1].at);
  for (const [questionId, entry] of entries) {
    if (!state.session || state.stopped) return false;
    state.saveInFlight = true;
    renderSaveState();
    try {
      const { data, sentAt, receivedAt } = await request("PUT", sessionPath("/progress"), {
        token: auth(),
        body: { question_id: questionId, answer: entry.answer, op_id: entry.op_id },
      });
      clockSample(data.server_time, receivedAt, receivedAt - sentAt);
      setDeadline(data.deadline);
      state.saved[questionId] = entry.answer;
      dropPending(questionId, entry.op_id);
      state.saveFailed = false;
      state.saveRetryDelay = 1000;
      heard();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.retryable) {
        saveFailedRetry(err);
        return false;
      }
      if (["answer_invalid", "question_unknown", "question_not_delivered", "op_id_conflict",
        "validation_error", "section_not_started", "no_such_section"].includes(err.code)) {
        // This answer can never be stored (e.g. a practice answer after the
        // practice ended): drop it rather than block the others.
        dropPending(questionId, entry.op_id);
        continue;
      }
      if (err.code === "attempt_closed" || err.code === "deadline_passed") {
        storePending({});
        waitForResult();
        return false;
      }
      if (!onSessionError(err)) saveFailedRetry(err);
      return false;
    } finally {
      state.saveInFlight = false;
    }
  }
  return true;
}

function dropPending(questionId, opId) {
  const pending = loadPending();
  if (pending[questionId] && pending[questionId].op_id === opId) {
    delete pending[questionId];
    storePending(pending);
  }
}

function saveFailedRetry() {
  state.saveFailed = true;
  renderSaveState();
  clearTimeout(state.saveRetry);
  const delay = state.saveRetryDelay;
  state.saveRetryDelay = Math.min(delay * 2, 10000);
  state.saveRetry = setTimeout(flush, delay);
}

async function onNext(event) {
  event.preventDefault();
  const next = $("q-next");
  if (next.disabled || !state.question) return;
  const q = state.question;
  const answer = readAnswer();
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
  if (!ok || loadPending()[q.id]) {
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
  if (!ok && Object.keys(loadPending()).length) {
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
  setInputsDisabled(true);
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
  storePending({});
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
  state.lastHeard = Date.now();
  if (state.lost) checkLost();
}

function checkLost() {
  const silentFor = Date.now() - state.lastHeard;
  const lost =
    !state.stopped &&
    !state.finished &&
    state.session !== null &&
    silentFor > MISSED_TICKS * state.heartbeatS * 1000 + 500;
  if (lost !== state.lost) {
    state.lost = lost;
    $("banner").hidden = !lost;
    document.body.classList.toggle("offline", lost);
    if (!lost && !state.stopped && !state.finished) announce("Connection restored.");
  }
}

function startLive() {
  stopLive();
  state.lastHeard = Date.now();
  state.wsAttempt = 0;
  connectWs();
  scheduleBeat();
}

function stopLive() {
  clearTimeout(state.wsTimer);
  clearTimeout(state.beatTimer);
  state.wsTimer = null;
  state.beatTimer = null;
  const ws = state.ws;
  state.ws = null;
  state.wsReady = false;
  if (ws) {
    try {
      ws.close(1000, "bye");
    } catch (err) {
      // already closed
    }
  }
  checkLost();
}

function scheduleBeat() {
  clearTimeout(state.beatTimer);
  state.beatTimer = setTimeout(() => {
    beat();
    scheduleBeat();
  }, state.heartbeatS * 1000);
}

function beat() {
  if (state.stopped || state.finished || !state.session) return;
  const silentFor = Date.now() - state.lastHeard;
  if (state.ws && state.wsReady && silentFor > 2.5 * state.heartbeatS * 1000) {
    // The socket says it is open but nothing comes through (a half-open
    // connection): give it up, heartbeat over HTTP and reconnect.
    dropSocket();
  }
  if (state.ws && state.wsReady && state.ws.readyState === WebSocket.OPEN) sendPing();
  else httpHeartbeat();
}

function dropSocket() {
  const ws = state.ws;
  state.ws = null;
  state.wsReady = false;
  document.body.dataset.live = "http";
  try {
    ws.close(1000, "silent");
  } catch (err) {
    // already closed
  }
  scheduleWs();
}

function onScreenQuestionId() {
  return !document.getElementById("screen-question").hidden && state.question
    ? state.question.id
    : null;
}

function sendPing() {
  const ws = state.ws;
  if (!ws || !state.wsReady || ws.readyState !== WebSocket.OPEN) return;
  state.lastPingAt = Date.now();
  try {
    ws.send(
      JSON.stringify({ type: "ping", question_id: onScreenQuestionId(), sent_at: Date.now() / 1000 }),
    );
  } catch (err) {
    // the close handler reconnects
  }
}

let beating = false;

async function httpHeartbeat() {
  if (beating || !state.session) return;
  beating = true;
  try {
    const qid = onScreenQuestionId();
    const { data, sentAt, receivedAt } = await request("POST", sessionPath("/heartbeat"), {
      token: auth(),
      body: qid ? { question_id: qid } : {},
      timeoutMs: state.heartbeatS * 1000,
    });
    if (state.session) saveSession({ ...state.session, token: data.session_token });
    heard();
    applyView(data.attempt, sentAt, receivedAt);
    if (data.attempt.result) showResult(data.attempt.result);
    else if (data.attempt.status === "voided") voided();
    else {
      flush();
      if (!state.ws) {
        // HTTP works again: try the socket now rather than at the end of the backoff.
        clearTimeout(state.wsTimer);
        state.wsTimer = null;
        connectWs();
      }
    }
  } catch (err) {
    if (err instanceof ApiError && !err.retryable) onSessionError(err);
  } finally {
    beating = false;
  }
}

function connectWs() {
  if (state.stopped || state.finished || !state.session || state.ws) return;
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${window.location.host}/sessions/${encodeURIComponent(state.session.id)}/live`;
  let ws;
  try {
    ws = new WebSocket(url);
  } catch (err) {
    scheduleWs();
    return;
  }
  state.ws = ws;
  state.wsReady = false;
  state.wsError = null;
  ws.addEventListener("open", () => {
    if (state.ws === ws && state.session) {
      ws.send(JSON.stringify({ type: "auth", token: state.session.token }));
    }
  });
  ws.addEventListener("message", (event) => {
    if (state.ws === ws) onWsMessage(ws, event);
  });
  ws.addEventListener("close", (event) => {
    if (state.ws === ws) onWsClose(event);
  });
}

function scheduleWs(minDelay = 0) {
  if (state.stopped || state.finished || state.wsTimer) return;
  const base = Math.min(15000, 500 * 2 ** state.wsAttempt);
  const delay = Math.max(minDelay, base * (0.5 + Math.random() * 0.5));
  state.wsAttempt += 1;
  state.wsTimer = setTimeout(() => {
    state.wsTimer = null;
    connectWs();
  }, delay);
}

function onWsMessage(ws, event) {
  const receivedAt = Date.now();
  let msg;
  try {
    msg = JSON.parse(event.data);
  } catch (err) {
    return;
  }
  switch (msg.type) {
    case "welcome":
      state.wsReady = true;
      document.body.dataset.live = "socket";
      state.wsAttempt = 0;
      if (msg.session_token && state.session) {
        saveSession({ ...state.session, token: msg.session_token });
      }
      heard();
      applyView(msg.attempt, null, receivedAt);
      if (msg.attempt.result) {
        showResult(msg.attempt.result);
        return;
      }
      if (msg.attempt.status === "voided") {
        voided();
        return;
      }
      sendPing();
      flush();
      return;
    case "tick":
      heard();
      clockSample(msg.server_time, receivedAt, null);
      setDeadline(msg.deadline);
      if (state.view) state.view = { ...state.view, state: msg.state, status: msg.status };
      if (msg.status === "submitted") waitForResult();
      else if (msg.status === "voided") voided();
      else if (receivedAt - state.lastPingAt > state.heartbeatS * 800) sendPing();
      return;
    case "pong": {
      heard();
      const rtt = typeof msg.echo === "number" ? receivedAt - msg.echo * 1000 : null;
      clockSample(msg.server_time, receivedAt, rtt !== null && rtt >= 0 ? rtt : null);
      setDeadline(msg.deadline);
      if (msg.session_token && state.session) {
        saveSession({ ...state.session, token: msg.session_token });
      }
      return;
    }
    case "takeover":
      takenOver();
      return;
    case "extension":
      heard();
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
    case "drain":
      // The server is restarting: the close that follows reconnects.
      state.wsAttempt = 0;
      return;
    case "error":
      state.wsError = msg.code;
      return;
    default:
  }
}

function onWsClose(event) {
  state.ws = null;
  state.wsReady = false;
  document.body.dataset.live = "http";
  if (state.stopped || state.finished) return;
  const code = state.wsError;
  switch (event.code) {
    case 4409:
      takenOver();
      return;
    case 4410:
      if (code === "attempt_voided" || event.reason === "void") voided();
      else if (event.reason === "unlock") sessionEnded();
      else if (event.reason === "end_of_test") waitForResult();
      else if (code === "session_closed") relogin();
      else waitForResult();
      return;
    case 4401:
      relogin();
      return;
    case 4403:
      showError("Connection refused", "This page's address is not allowed to connect to the quiz.");
      return;
    case 4429:
      scheduleWs(5000);
      return;
    default:
      scheduleWs();
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
    clearTimeout(state.wsTimer);
    state.wsTimer = null;
    state.wsAttempt = 0;
    connectWs();
    flush();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      renderTimer();
      if (!state.stopped && !state.finished && state.session) beat();
    } else {
      captureAnswer();
      flush();
    }
  });
  setInterval(renderTimer, 250);
  setInterval(checkLost, 1000);
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
