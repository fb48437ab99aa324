// The administrator page's detail panel for one attempt: its summary, the
// actions that apply to it (the others disabled with the reason), the void
// confirmation, and its timeline (newest first, in the viewer's time zone).

import { stateText, timeLeftText } from "./admin_format.js";
import { attemptById, nameOf, serverNow, setSelected } from "./admin_list.js";
import { allowedActions, checkReopenSeconds, reopenNeedsTime } from "./admin_rules.js";
import { $, admin, message, onAuthError, problemText } from "./admin_session.js";
import {
  formatWhen,
  isoTime,
  parseTimeline,
  viewerTimeZone,
  zoneLabel,
} from "./admin_timeline.js";
import { el } from "./api.js";
import { formatDuration } from "./format.js";

const ACTIONS = ["extend", "unlock", "void", "reopen"];
const DEFAULT_EXTEND_S = "300";

const detail = {
  selected: null, // attempt id shown
  attempt: null, // its AttemptView (GET /admin/attempts/{id})
  liveSession: undefined, // its session (null: none; undefined: not loaded yet)
  refreshList: async () => {},
};

export function selectedAttempt() {
  return detail.selected;
}

/** Show the attempt `id` in the panel (fields reset when it is another one). */
export function selectAttempt(id) {
  if (detail.selected !== id) {
    resetFields();
    detail.attempt = null;
    detail.liveSession = undefined;
    $("timeline").replaceChildren();
  }
  detail.selected = id;
  setSelected(id);
  $("detail-panel").hidden = false;
  message("detail-message", "");
  renderDetail();
  loadDetail();
  loadTimeline();
  $("detail-title").focus();
}

/** Close the panel (another quiz, or signed out). */
export function closeDetail() {
  detail.selected = null;
  detail.attempt = null;
  detail.liveSession = undefined;
  $("detail-panel").hidden = true;
  $("timeline").replaceChildren();
  resetFields();
}

function resetFields() {
  $("extend-seconds").value = DEFAULT_EXTEND_S;
  for (const id of ["extend-reason", "void-reason", "reopen-seconds", "reopen-reason"]) {
    $(id).value = "";
  }
}

/** The summary and the actions, from the list's latest load. */
export function renderDetail() {
  const a = attemptById(detail.selected);
  if (!a) return;
  const name = nameOf(a);
  $("detail-title").textContent = `Attempt of ${name}`;
  const parts = [
    a.candidate_name ? `Candidate id ${a.candidate_id}` : null,
    `Attempt id ${a.attempt_id}`,
    stateText(a),
    a.status === "open" && a.time_remaining_s !== null ? `${timeLeftText(a)} left` : null,
    a.connected ? "connected" : "not connected",
    `${a.answered} / ${a.total} answered`,
  ].filter(Boolean);
  setText($("detail-summary"), parts.join(" · "));
  const allowed = allowedActions(a, { liveSession: detail.liveSession });
  for (const action of ACTIONS) {
    const { enabled, reason } = allowed[action];
    const button = $(`${action}-button`);
    const why = $(`${action}-why`);
    if (button.disabled === enabled) button.disabled = !enabled;
    setText(why, reason);
    why.hidden = enabled;
    for (const field of $(`${action}-form`).querySelectorAll("input")) field.disabled = !enabled;
  }
  const needs = reopenNeedsTime(
    detail.attempt ? detail.attempt.deadline : a.deadline,
    detail.attempt ? detail.attempt.grace_s : 0,
    serverNow(),
  );
  $("reopen-seconds").required = needs;
  setText(
    $("reopen-seconds-hint"),
    needs
      ? "The deadline has passed: give at least 1 second; the new deadline is counted from now."
      : "0 keeps the current deadline.",
  );
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

async function loadDetail() {
  const forAttempt = detail.selected;
  if (!forAttempt) return;
  try {
    const { data } = await admin("GET", `/admin/attempts/${encodeURIComponent(forAttempt)}`);
    if (forAttempt !== detail.selected) return;
    detail.attempt = data.attempt;
    detail.liveSession = data.live_session ?? null;
    renderDetail();
  } catch (err) {
    if (!onAuthError(err)) message("detail-message", `Could not load: ${problemText(err)}`, "error");
  }
}

export async function loadTimeline() {
  const forAttempt = detail.selected;
  if (!forAttempt) return;
  const list = $("timeline");
  try {
    const { data } = await admin(
      "GET",
      `/admin/attempts/${encodeURIComponent(forAttempt)}/timeline`,
      { text: true },
    );
    if (forAttempt !== detail.selected) return;
    const zone = viewerTimeZone();
    const entries = parseTimeline(data);
    list.replaceChildren(
      ...entries.map((e) =>
        el(
          "li",
          {},
          e.at === null
            ? null
            : el("time", { datetime: isoTime(e.at), text: formatWhen(e.at, zone) }),
          e.at === null ? null : " ",
          el("span", { text: e.text }),
        ),
      ),
    );
    const first = entries.find((e) => e.at !== null);
    setText(
      $("timeline-zone"),
      `Newest first. Times in ${zoneLabel(first ? first.at : Date.now(), zone)}.`,
    );
  } catch (err) {
    if (!onAuthError(err)) {
      list.replaceChildren(el("li", { text: `Could not load: ${problemText(err)}` }));
    }
  }
}

async function act(path, body, done) {
  const forAttempt = detail.selected;
  if (!forAttempt) return;
  try {
    await admin("POST", `/admin/attempts/${encodeURIComponent(forAttempt)}/${path}`, { body });
    if (forAttempt !== detail.selected) return;
    message("detail-message", done, "ok");
    await detail.refreshList();
    await loadDetail();
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

function reopen(event) {
  event.preventDefault();
  const input = $("reopen-seconds");
  const checked = checkReopenSeconds(input.value, input.required);
  if (checked.error) {
    message("detail-message", checked.error, "error");
    input.focus();
    return;
  }
  const body = { reason: $("reopen-reason").value.trim(), extra_seconds: checked.seconds };
  const more = checked.seconds > 0 ? ` with ${formatDuration(checked.seconds)} from now` : "";
  act("reopen", body, `Reopened${more}: the candidate can continue.`);
}

function askVoid(event) {
  event.preventDefault();
  const a = attemptById(detail.selected);
  const name = a ? nameOf(a) : "this candidate";
  $("void-dialog-text").textContent =
    `The attempt of ${name} will be cancelled and will no longer count. This is recorded in its log.`;
  const dialog = $("void-dialog");
  if (typeof dialog.showModal === "function") dialog.showModal();
}

/** Wire the panel's forms and the void dialog. */
export function bindDetail({ refreshList }) {
  detail.refreshList = refreshList;
  $("extend-form").addEventListener("submit", extend);
  $("unlock-form").addEventListener("submit", unlock);
  $("void-form").addEventListener("submit", askVoid);
  $("reopen-form").addEventListener("submit", reopen);
  $("timeline-refresh").addEventListener("click", () => {
    loadDetail();
    loadTimeline();
  });
  const dialog = $("void-dialog");
  $("void-cancel").addEventListener("click", () => dialog.close("cancel"));
  $("void-confirm").addEventListener("click", () => dialog.close("void"));
  dialog.addEventListener("close", () => {
    const confirmed = dialog.returnValue === "void";
    dialog.returnValue = "";
    // Focus goes back to the button that opened the dialog (or to the panel's
    // title when that button is now disabled).
    const opener = $("void-button");
    if (opener.disabled) $("detail-title").focus();
    else opener.focus();
    if (confirmed) {
      act("void", { reason: $("void-reason").value.trim() }, "The attempt was voided.").then(() => {
        if (document.activeElement === document.body || $("void-button").disabled) {
          $("detail-title").focus();
        }
      });
    }
  });
}
