// The administrator's page: /admin.
//
// The API key is typed in and kept in a variable of this module only: never in
// the URL, never in any storage. Reloading the page forgets it.

import { stateText, lastSeenText, timeLeftText } from "./admin_format.js";
import { ApiError, el, request } from "./api.js";
import { formatDuration, formatScore } from "./format.js";

const REFRESH_MS = 3000;
const $ = (id) => document.getElementById(id);

let apiKey = null;
let quizId = null;
let selected = null; // attempt id shown in the detail panel
let attempts = new Map(); // attempt id -> LiveAttempt
let rows = new Map(); // attempt id -> <tr>
let refreshTimer = null;
let refreshing = false;

function admin(method, path, options = {}) {
  return request(method, path, { ...options, apiKey });
}

function message(id, text, kind = "ok") {
  const node = $(id);
  node.className = `message ${kind}`;
  node.textContent = text;
}

function problemText(err) {
  if (err instanceof ApiError) {
    if (err.status === 0) return "The server cannot be reached.";
    return `${err.detail || err.code} (${err.code})`;
  }
  return String(err);
}

function onAuthError(err) {
  if (err instanceof ApiError && (err.code === "api_key_invalid" || err.code === "api_key_required")) {
    signOut("The API key was refused. Sign in again.");
    return true;
  }
  return false;
}

// ----------------------------------------------------------------------- signing in

async function signIn(event) {
  event.preventDefault();
  const input = $("api-key");
  const key = input.value.trim();
  if (!key) {
    message("login-message", "Enter an API key.", "error");
    input.focus();
    return;
  }
  $("login-button").disabled = true;
  message("login-message", "", "error");
  try {
    apiKey = key;
    const { data } = await admin("GET", "/admin/quizzes");
    input.value = "";
    $("login-panel").hidden = true;
    $("quiz-panel").hidden = false;
    $("sign-out").hidden = false;
    $("signed-in-as").textContent = "Signed in";
    fillQuizzes(data.quizzes);
    $("quiz-select").focus();
  } catch (err) {
    apiKey = null;
    const text =
      err instanceof ApiError && err.code === "api_key_invalid"
        ? "This API key is not valid."
        : problemText(err);
    message("login-message", text, "error");
    input.focus();
  } finally {
    $("login-button").disabled = false;
  }
}

function signOut(reason = "") {
  apiKey = null;
  quizId = null;
  selected = null;
  clearTimeout(refreshTimer);
  attempts = new Map();
  rows = new Map();
  $("attempts-body").replaceChildren();
  $("results-body").replaceChildren();
  for (const id of ["quiz-panel", "attempts-panel", "detail-panel", "results-panel", "sign-out"]) {
    $(id).hidden = true;
  }
  $("signed-in-as").textContent = "";
  $("login-panel").hidden = false;
  message("login-message", reason, "error");
  $("api-key").focus();
}

// --------------------------------------------------------------------------- quizzes

function fillQuizzes(quizzes) {
  const select = $("quiz-select");
  const keep = quizId;
  select.replaceChildren(
    el("option", { value: "", text: quizzes.length ? "Choose a quiz…" : "No quizzes yet" }),
    ...quizzes.map((q) =>
      el("option", { value: q.id, text: `${q.title} (${q.id}, version ${q.version})` }),
    ),
  );
  if (keep && quizzes.some((q) => q.id === keep)) select.value = keep;
  else if (quizzes.length === 1) {
    select.value = quizzes[0].id;
    chooseQuiz();
  }
}

async function reloadQuizzes() {
  try {
    const { data } = await admin("GET", "/admin/quizzes");
    fillQuizzes(data.quizzes);
    message("quiz-message", "", "error");
  } catch (err) {
    if (!onAuthError(err)) message("quiz-message", problemText(err), "error");
  }
}

function chooseQuiz() {
  const value = $("quiz-select").value;
  quizId = value || null;
  selected = null;
  attempts = new Map();
  rows = new Map();
  $("attempts-body").replaceChildren();
  $("detail-panel").hidden = true;
  const on = quizId !== null;
  $("attempts-panel").hidden = !on;
  $("results-panel").hidden = !on;
  clearTimeout(refreshTimer);
  if (on) refresh();
}

// --------------------------------------------------------------------- the live list

async function refresh() {
  clearTimeout(refreshTimer);
  if (!apiKey || !quizId || refreshing) return;
  refreshing = true;
  const forQuiz = quizId;
  try {
    const { data } = await admin(
      "GET",
      `/admin/quizzes/${encodeURIComponent(forQuiz)}/live`,
    );
    if (forQuiz !== quizId) return;
    renderAttempts(data.attempts, data.server_time);
    $("refresh-status").textContent =
      `Updated at ${new Date().toLocaleTimeString()} · ${data.attempts.length} attempt(s)`;
    message("quiz-message", "", "error");
  } catch (err) {
    if (onAuthError(err)) return;
    message("quiz-message", `Could not refresh: ${problemText(err)}`, "error");
  } finally {
    refreshing = false;
    if (apiKey && quizId) refreshTimer = setTimeout(refresh, REFRESH_MS);
  }
}

const ATTEMPT_COLUMNS = [
  ["Candidate", ""],
  ["State", ""],
  ["Time left", "num"],
  ["Connection", ""],
  ["Last seen", ""],
  ["Answered", "num"],
  ["Score", "num"],
];

function renderAttempts(list, now) {
  attempts = new Map(list.map((a) => [a.attempt_id, a]));
  const body = $("attempts-body");
  const seen = new Set();
  for (const a of list) {
    seen.add(a.attempt_id);
    let tr = rows.get(a.attempt_id);
    if (!tr) {
      tr = el("tr", { "data-attempt": a.attempt_id });
      const cells = ATTEMPT_COLUMNS.map(([label, cls]) => el("td", { "data-label": label, class: cls }));
      const manage = el("button", {
        type: "button",
        class: "button small",
        text: "Manage",
        onclick: () => selectAttempt(a.attempt_id),
      });
      tr.append(...cells, el("td", { class: "actions-cell" }, manage));
      rows.set(a.attempt_id, tr);
      body.append(tr);
    }
    const name = a.candidate_name || a.candidate_id;
    const cells = tr.children;
    setCell(cells[0], name, a.candidate_name ? a.candidate_id : "");
    setText(cells[1], stateText(a));
    setText(cells[2], timeLeftText(a));
    setBadge(cells[3], a.connected);
    setText(cells[4], lastSeenText(a.last_seen, now));
    setText(cells[5], `${a.answered} / ${a.total}`);
    setText(
      cells[6],
      a.score === null || a.score === undefined
        ? "–"
        : `${formatScore(a.score)} / ${formatScore(a.max_score)}`,
    );
    tr.lastElementChild.firstElementChild.setAttribute("aria-label", `Manage the attempt of ${name}`);
    tr.classList.toggle("selected", a.attempt_id === selected);
  }
  for (const [id, tr] of rows) {
    if (!seen.has(id)) {
      tr.remove();
      rows.delete(id);
    }
  }
  $("attempts-empty").hidden = list.length > 0;
  renderResults(list);
  if (selected) renderSummary();
}

function setText(cell, text) {
  if (cell.textContent !== text) cell.textContent = text;
}

function setCell(cell, main, sub) {
  const key = `${main}\u0000${sub}`;
  if (cell.dataset.key === key) return;
  cell.dataset.key = key;
  const box = el("div", { class: "who" }, el("span", { text: main }));
  if (sub) box.append(el("br"), el("span", { class: "muted small", text: sub }));
  cell.replaceChildren(box);
}

function setBadge(cell, connected) {
  const key = connected ? "on" : "off";
  if (cell.dataset.key === key) return;
  cell.dataset.key = key;
  cell.replaceChildren(
    el("span", { class: `badge ${key}`, text: connected ? "Connected" : "Not connected" }),
  );
}

function renderResults(list) {
  const done = list
    .filter((a) => a.status === "submitted" && a.score !== null && a.score !== undefined)
    .sort((x, y) => (y.score ?? 0) - (x.score ?? 0));
  $("results-body").replaceChildren(
    ...done.map((a) =>
      el(
        "tr",
        {},
        el("td", { "data-label": "Candidate", text: a.candidate_name || a.candidate_id }),
        el("td", { "data-label": "Candidate id", text: a.candidate_id }),
        el("td", { "data-label": "Score", class: "num", text: formatScore(a.score) }),
        el("td", { "data-label": "Out of", class: "num", text: formatScore(a.max_score) }),
        el("td", {
          "data-label": "Percent",
          class: "num",
          text: a.max_score ? `${Math.round((a.score / a.max_score) * 100)} %` : "–",
        }),
      ),
    ),
  );
  $("results-empty").hidden = done.length > 0;
}

// ------------------------------------------------------------------ one attempt

function selectAttempt(attemptId) {
  selected = attemptId;
  for (const [id, tr] of rows) tr.classList.toggle("selected", id === attemptId);
  $("detail-panel").hidden = false;
  message("detail-message", "");
  renderSummary();
  loadTimeline();
  $("detail-title").focus();
}

function renderSummary() {
  const a = attempts.get(selected);
  if (!a) return;
  const name = a.candidate_name || a.candidate_id;
  $("detail-title").textContent = `Attempt of ${name}`;
  const parts = [
    `Id ${a.attempt_id}`,
    stateText(a),
    a.status === "open" && a.time_remaining_s !== null ? `${timeLeftText(a)} left` : null,
    a.connected ? "connected" : "not connected",
    `${a.answered} / ${a.total} answered`,
  ].filter(Boolean);
  $("detail-summary").textContent = parts.join(" · ");
}

async function loadTimeline() {
  if (!selected) return;
  const forAttempt = selected;
  try {
    const { data } = await admin(
      "GET",
      `/admin/attempts/${encodeURIComponent(forAttempt)}/timeline`,
      { text: true },
    );
    if (forAttempt === selected) $("timeline").textContent = data;
  } catch (err) {
    if (!onAuthError(err)) $("timeline").textContent = `Could not load: ${problemText(err)}`;
  }
}

async function act(path, body, done) {
  if (!selected) return;
  const forAttempt = selected;
  try {
    await admin("POST", `/admin/attempts/${encodeURIComponent(forAttempt)}/${path}`, { body });
    message("detail-message", done, "ok");
    await refresh();
    await loadTimeline();
  } catch (err) {
    if (!onAuthError(err)) message("detail-message", `Not done: ${problemText(err)}`, "error");
  }
}

function extend(event) {
  event.preventDefault();
  const input = $("extend-seconds");
  const seconds = Number(input.value);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 604800) {
    message("detail-message", "Enter a number of seconds between 1 and 604800.", "error");
    input.focus();
    return;
  }
  const reason = $("extend-reason").value.trim();
  act("extend", { seconds, reason }, `Extended by ${formatDuration(seconds)}.`);
}

function unlock(event) {
  event.preventDefault();
  act("unlock", undefined, "Unlocked: the candidate can log in again.");
}

function askVoid(event) {
  event.preventDefault();
  const a = attempts.get(selected);
  const name = a ? a.candidate_name || a.candidate_id : "this candidate";
  $("void-dialog-text").textContent =
    `The attempt of ${name} will be cancelled and will no longer count. This is recorded in its log.`;
  const dialog = $("void-dialog");
  if (typeof dialog.showModal === "function") dialog.showModal();
}

function confirmVoid() {
  $("void-dialog").close();
  act("void", { reason: $("void-reason").value.trim() }, "The attempt was voided.");
}

// ----------------------------------------------------------------------------- wiring

$("login-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => signOut(""));
$("quiz-select").addEventListener("change", chooseQuiz);
$("reload-quizzes").addEventListener("click", reloadQuizzes);
$("extend-form").addEventListener("submit", extend);
$("unlock-form").addEventListener("submit", unlock);
$("void-form").addEventListener("submit", askVoid);
$("void-confirm").addEventListener("click", confirmVoid);
$("void-cancel").addEventListener("click", () => $("void-dialog").close());
$("timeline-refresh").addEventListener("click", loadTimeline);
$("api-key").focus();
