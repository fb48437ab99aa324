// The candidate page's screens (one <section> shown at a time), the status
// region and the visible notice under the timer.

import { ApiError } from "./api.js";
import { $ } from "./take_state.js";

const SCREENS = [
  "loading",
  "error",
  "busy",
  "intro",
  "test-intro",
  "question",
  "section-done",
  "summary",
  "waiting",
  "result",
  "stopped",
];

const NOTICE_MS = 30000;
let noticeTimer = null;

/** Show screen `name` and move focus to its heading (unless `focus` is false). */
export function show(name, { focus = true } = {}) {
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

/** Keep the last error where the browser tests can read it. */
export function noteError(err) {
  document.body.dataset.lastError =
    err instanceof ApiError ? `${err.status} ${err.code}` : String(err);
}

export function loading(title, text) {
  $("loading-title").textContent = title;
  $("loading-text").textContent = text;
  show("loading", { focus: false });
}

/** Say `text` through the status region (polite: focus does not move). */
export function announce(text) {
  const region = $("status-announce");
  region.textContent = "";
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

/** Show `text` under the timer for a while, and say it through the status region. */
export function notify(text, { kind = "info" } = {}) {
  const box = $("notice");
  $("notice-text").textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(clearNotice, NOTICE_MS);
  announce(text);
}

export function clearNotice() {
  clearTimeout(noticeTimer);
  noticeTimer = null;
  $("notice").hidden = true;
}

export function showError(title, text, hint = "", retry = null) {
  $("error-title").textContent = title;
  $("error-text").textContent = text;
  $("error-hint").textContent = hint;
  const button = $("error-retry");
  button.hidden = !retry;
  button.onclick = retry;
  show("error");
}

/** The quiz's title in the header and the tab. */
export function showTitle(title) {
  $("quiz-title").textContent = title;
  document.title = `${title} – quiz`;
}
