// The administrator's page: /admin. Signing in, choosing a quiz, the refresh
// loop and the downloads; the list (admin_list.js), the detail panel
// (admin_detail.js), the grading panel (admin_grading.js) and the webhooks panel
// (admin_webhooks.js) do the rest.
//
// The API key is typed in and kept in admin_session.js's memory only: never in
// the URL, never in any storage. Reloading the page forgets it.

import { bindDetail, closeDetail, renderDetail, selectAttempt, selectedAttempt } from "./admin_detail.js";
import { download } from "./admin_downloads.js";
import { bindGrading, closeGrading, openGrading } from "./admin_grading.js";
import { bindList, clearList, renderList, resetListControls } from "./admin_list.js";
import { $, admin, message, onAuthError, problemText, session } from "./admin_session.js";
import { bindWebhooks, closeWebhooks, openWebhooks } from "./admin_webhooks.js";
import { ApiError, el } from "./api.js";

const REFRESH_MS = 3000;
/** The live list is read a page (1,000 attempts) at a time; this many pages at most. */
const MAX_LIVE_PAGES = 20;

let refreshTimer = null;
let refreshing = null; // the refresh under way (a promise), if any
let again = null; // the one to run after it (asked for during it)

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
    session.apiKey = key;
    const { data } = await admin("GET", "/admin/quizzes");
    input.value = "";
    $("login-panel").hidden = true;
    $("quiz-panel").hidden = false;
    $("sign-out").hidden = false;
    $("signed-in-as").textContent = "Signed in";
    fillQuizzes(data.quizzes);
    openWebhooks();
    $("quiz-select").focus();
  } catch (err) {
    session.apiKey = null;
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
  session.apiKey = null;
  session.quizId = null;
  clearTimeout(refreshTimer);
  clearList();
  closeDetail();
  closeWebhooks();
  closeGrading();
  for (const id of ["quiz-panel", "attempts-panel", "results-panel", "sign-out"]) {
    $(id).hidden = true;
  }
  $("signed-in-as").textContent = "";
  $("login-panel").hidden = false;
  message("login-message", reason, "error");
  message("download-message", "");
  $("api-key").focus();
}

// --------------------------------------------------------------------------- quizzes

function fillQuizzes(quizzes) {
  const select = $("quiz-select");
  const keep = session.quizId;
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
  session.quizId = value || null;
  clearList();
  closeDetail();
  resetListControls();
  message("download-message", "");
  const on = session.quizId !== null;
  $("attempts-panel").hidden = !on;
  $("results-panel").hidden = !on;
  clearTimeout(refreshTimer);
  if (on) refresh();
  openGrading(session.quizId);
}

// --------------------------------------------------------------------- the live list

/** Load the quiz's attempts (once more after a load under way, if any). */
function refresh() {
  if (refreshing) {
    again ??= refreshing.then(() => {
      again = null;
      return refresh();
    });
    return again;
  }
  refreshing = load().finally(() => {
    refreshing = null;
    clearTimeout(refreshTimer);
    if (session.apiKey && session.quizId) refreshTimer = setTimeout(refresh, REFRESH_MS);
  });
  return refreshing;
}

async function load() {
  clearTimeout(refreshTimer);
  const forQuiz = session.quizId;
  if (!session.apiKey || !forQuiz) return;
  try {
    const path = `/admin/quizzes/${encodeURIComponent(forQuiz)}/live`;
    let { data } = await admin("GET", path);
    const attempts = [...data.attempts];
    // A page is 1,000 attempts: follow the cursor (at most MAX_LIVE_PAGES pages).
    for (let pages = 1; data.next_cursor && pages < MAX_LIVE_PAGES; pages += 1) {
      if (forQuiz !== session.quizId) return;
      ({ data } = await admin("GET", `${path}?cursor=${encodeURIComponent(data.next_cursor)}`));
      attempts.push(...data.attempts);
    }
    if (forQuiz !== session.quizId) return;
    renderList(attempts, data.server_time);
    if (selectedAttempt()) renderDetail();
    $("refresh-status").textContent = `Updated at ${new Date().toLocaleTimeString()}`;
    message("quiz-message", "", "error");
  } catch (err) {
    if (onAuthError(err)) return;
    message("quiz-message", `Could not refresh: ${problemText(err)}`, "error");
  }
}

// ------------------------------------------------------------------------ downloads

async function offer(kind) {
  const quiz = session.quizId;
  if (!quiz) return;
  const base = `/admin/quizzes/${encodeURIComponent(quiz)}`;
  const [path, fallback] =
    kind === "csv"
      ? [`${base}/results?format=csv`, `${quiz}-results.csv`]
      : [`${base}/report.html`, `${quiz}-report.html`];
  const button = $(`download-${kind}`);
  button.disabled = true;
  message("download-message", "Preparing the download…", "ok");
  try {
    const name = await download(path, session.apiKey, fallback);
    message("download-message", `Downloaded ${name}.`, "ok");
  } catch (err) {
    if (!onAuthError(err)) message("download-message", `Not downloaded: ${problemText(err)}`, "error");
  } finally {
    button.disabled = false;
  }
}

// ----------------------------------------------------------------------------- wiring

session.signOut = signOut;
bindList({ onManage: selectAttempt });
bindDetail({ refreshList: refresh });
bindWebhooks();
bindGrading();
$("login-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => signOut(""));
$("quiz-select").addEventListener("change", chooseQuiz);
$("reload-quizzes").addEventListener("click", reloadQuizzes);
$("download-csv").addEventListener("click", () => offer("csv"));
$("download-html").addEventListener("click", () => offer("html"));
$("api-key").focus();
