// Free navigation on the question screen: the panel of the section's questions,
// Previous / Next, opening any question, and the flag toggle. Sequential
// navigation keeps none of these (the controls stay hidden).
//
// Opening a question first hands the answer on screen to the outbox (it is
// kept on this device and sent as always); the server delivers a question on
// its first opening. A flag is a write of its own (PUT .../flags/{id}); its
// result is said through the status region, focus stays on the button.

import { ApiError, newOpId, request } from "./api.js";
import {
  flagAnnouncement,
  navCounts,
  navItems,
  neighbours,
  renderPanel,
} from "./navigation.js";
import { isAnswerable, readAnswer } from "./questions.js";
import { renderQuestion } from "./question_screen.js";
import { captureAnswer, flush, onAnswersChange, outbox } from "./saving.js";
import { announce, showError } from "./screens.js";
import { auth, onSessionError, sessionPath } from "./session_flow.js";
import { showSummary } from "./summary.js";
import { $, phase, state } from "./take_state.js";

/** Whether the running quiz navigates freely. */
export function isFree() {
  return Boolean(state.view && state.view.navigation === "free");
}

/** The answers this page knows of in the running section (saved, unsent, on screen). */
export function localAnswers() {
  const section = state.question ? state.question.section : state.view && state.view.section;
  const known = new Map();
  for (const [id, saved] of Object.entries(state.saved)) {
    if (saved.section === section) known.set(id, saved.answer);
  }
  for (const [id, entry] of Object.entries(outbox.all())) {
    if (entry.section === section) known.set(id, entry.answer);
  }
  const q = state.question;
  if (q && q.section === section && $("q-body").dataset.question === q.id) {
    const shown = readAnswer(q, $("q-body"));
    if (shown !== undefined) known.set(q.id, shown);
  }
  return known;
}

/** The panel's items now. */
export function currentItems() {
  return navItems(state.nav, {
    local: localAnswers(),
    current: state.question ? state.question.id : null,
  });
}

/** The finish dialog's counts in free navigation (null in sequential). */
export function freeFinishSummary() {
  if (!isFree() || !state.nav) return null;
  const counts = navCounts(currentItems());
  return { unseen: counts.unseen, blank: counts.blank };
}

/** Fetch the section's map (GET /questions); false when it could not be had. */
export async function loadNav() {
  if (!isFree() || !state.session || phase.stopped || phase.finished) return false;
  try {
    const { data } = await request("GET", sessionPath("/questions"), { token: auth() });
    state.nav = data;
    renderNav();
    return true;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (onSessionError(err)) return false;
    return false; // the panel keeps what it showed; the next question refreshes it
  }
}

/** Draw the panel and set the free-navigation controls of the question screen. */
export function renderNav() {
  const free = isFree();
  const q = state.question;
  $("q-nav").hidden = !free;
  $("q-prev").hidden = !free;
  $("q-flag").hidden = !free || !q;
  if (!free) return;
  const items = currentItems();
  renderPanel($("q-nav-list"), items, (id) => openQuestion(id));
  if (!q) return;
  const { previous, next } = neighbours(items, q.id);
  $("q-prev").disabled = previous === null;
  if (items.length) {
    const onward = isAnswerable(q) ? "Next question" : "Continue";
    $("q-next").textContent = next === null ? "Go to the summary" : onward;
  }
  const here = items.find((item) => item.id === q.id);
  setFlagButton(here ? here.flagged : Boolean(q.flagged));
}

/** The toggle keeps its name ("Flag for review"); aria-pressed tells its state. */
function setFlagButton(flagged) {
  $("q-flag").setAttribute("aria-pressed", flagged ? "true" : "false");
}

/** Open question `id` (the first opening delivers it); focus goes to its heading. */
export async function openQuestion(id, delay = 1000) {
  if (phase.stopped || phase.finished) return;
  captureAnswer();
  flush();
  try {
    const { data } = await request("GET", sessionPath(`/questions/${encodeURIComponent(id)}`), {
      token: auth(),
    });
    renderQuestion(data, data.answer);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (onSessionError(err)) return;
    if (err.retryable) {
      $("q-message").textContent = "Cannot reach the server to open that question. Retrying…";
      setTimeout(() => openQuestion(id, Math.min(delay * 2, 10000)), delay);
      return;
    }
    showError("Could not open the question", err.detail, "", () => openQuestion(id));
  }
}

/** Next (or the summary after the last question). */
export async function goNext() {
  const q = state.question;
  const { next } = neighbours(currentItems(), q ? q.id : null);
  if (next === null) await showSummary();
  else await openQuestion(next);
}

export async function goPrevious() {
  const q = state.question;
  const { previous } = neighbours(currentItems(), q ? q.id : null);
  if (previous !== null) await openQuestion(previous);
}

// A flag request in flight (the button is not disabled meanwhile: disabling
// the focused button would drop the focus).
let flagBusy = false;

/** Flag the question on screen for review, or take the flag off. */
export async function toggleFlag() {
  const q = state.question;
  const button = $("q-flag");
  if (!q || flagBusy || !phase.canAnswer) return;
  const flagged = button.getAttribute("aria-pressed") !== "true";
  const item = currentItems().find((i) => i.id === q.id) || { number: q.number, state: "" };
  flagBusy = true;
  try {
    await request("PUT", sessionPath(`/flags/${encodeURIComponent(q.id)}`), {
      token: auth(),
      body: { flagged, op_id: newOpId() },
    });
    if (state.question !== q) return;
    q.flagged = flagged;
    if (state.nav) {
      state.nav = {
        ...state.nav,
        questions: state.nav.questions.map((x) => (x.id === q.id ? { ...x, flagged } : x)),
      };
    }
    renderNav();
    announce(flagAnnouncement(item, flagged));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (onSessionError(err)) return;
    announce(
      err.retryable
        ? "The flag could not be saved: the server cannot be reached. Try again."
        : `The flag could not be saved: ${err.detail || err.code}`,
    );
  } finally {
    flagBusy = false;
  }
}

export function bindNavigation() {
  $("q-prev").addEventListener("click", () => goPrevious());
  $("q-flag").addEventListener("click", () => toggleFlag());
  // An answer given, emptied or saved shows in the panel at once.
  onAnswersChange(() => {
    if (isFree() && state.nav && state.question) renderNav();
  });
}
