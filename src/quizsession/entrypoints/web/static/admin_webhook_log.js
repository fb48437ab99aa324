// The webhooks panel's delivery log of one endpoint: newest first, paged, each
// time in the viewer's time zone (named), with a "Redeliver" button per delivery
// (disabled with the reason where it cannot apply).

import { formatWhen, isoTime, viewerTimeZone, zoneLabel } from "./admin_timeline.js";
import {
  deliveryStatusText,
  eventTypeText,
  lastStatusText,
  logPage,
  PAGE_SIZE,
  pageOffset,
  redeliveredText,
  redeliverAllowed,
} from "./admin_webhook_rules.js";
import { $, admin, message, onAuthError, problemText } from "./admin_session.js";
import { el } from "./api.js";

const DASH = "–";
const COLUMNS = ["Event", "Attempt id", "Status", "Sends", "Last status", "Last error", "Next try"];

const log = {
  endpoint: null, // the endpoint shown (as last loaded)
  offset: 0,
  loading: 0, // a counter: only the latest load renders
};

export function logEndpointId() {
  return log.endpoint ? log.endpoint.id : null;
}

function path(endpointId) {
  return `/admin/webhooks/${encodeURIComponent(endpointId)}`;
}

/** Show the log of `endpoint` (first page) and put the focus on its title. */
export function openLog(endpoint) {
  const other = !log.endpoint || log.endpoint.id !== endpoint.id;
  log.endpoint = endpoint;
  if (other) {
    log.offset = 0;
    $("webhook-log-status").value = "";
    $("webhook-log-body").replaceChildren();
    message("webhook-log-message", "");
  }
  $("webhook-log-title").textContent = `Deliveries to ${endpoint.url}`;
  $("webhook-log-caption").textContent = `Deliveries to ${endpoint.url}, newest first`;
  $("webhook-log").hidden = false;
  $("webhook-log-title").focus();
  return loadLog();
}

/** The endpoint changed (or is gone: null): keep the log in step. */
export function updateLogEndpoint(endpoint) {
  if (!log.endpoint) return;
  if (!endpoint) {
    closeLog();
    return;
  }
  const changed = endpoint.enabled !== log.endpoint.enabled;
  log.endpoint = endpoint;
  if (changed) loadLog();
}

export function closeLog() {
  log.endpoint = null;
  log.offset = 0;
  log.loading += 1;
  $("webhook-log").hidden = true;
  $("webhook-log-body").replaceChildren();
  $("webhook-log-count").textContent = "";
  message("webhook-log-message", "");
}

/** Load the page at the current offset (the latest load wins). */
export async function loadLog() {
  const endpoint = log.endpoint;
  if (!endpoint) return;
  const ticket = ++log.loading;
  const status = $("webhook-log-status").value;
  const query = new URLSearchParams({ limit: String(PAGE_SIZE + 1), offset: String(log.offset) });
  if (status) query.set("status", status);
  try {
    const { data } = await admin("GET", `${path(endpoint.id)}/deliveries?${query}`);
    if (ticket !== log.loading) return;
    render(logPage(data.deliveries, log.offset));
  } catch (err) {
    if (ticket !== log.loading || onAuthError(err)) return;
    message("webhook-log-message", `Could not load the log: ${problemText(err)}`, "error");
  }
}

function render(page) {
  const zone = viewerTimeZone();
  $("webhook-log-zone").textContent = `Newest first. Times in ${zoneLabel(Date.now(), zone)}.`;
  $("webhook-log-body").replaceChildren(...page.rows.map((d) => row(d, zone)));
  const count = $("webhook-log-count");
  if (count.textContent !== page.text) count.textContent = page.text;
  $("webhook-log-newer").disabled = !page.hasPrevious;
  $("webhook-log-older").disabled = !page.hasNext;
}

function when(seconds, zone) {
  if (seconds === null || seconds === undefined) return DASH;
  const ms = seconds * 1000;
  const datetime = isoTime(Math.floor(ms / 1000) * 1000);
  return el("time", { datetime, text: formatWhen(ms, zone) });
}

function row(d, zone) {
  const allowed = redeliverAllowed(d, log.endpoint);
  const whyId = `webhook-redeliver-why-${d.id}`;
  const button = el("button", {
    type: "button",
    class: "button small",
    "aria-label": `Redeliver ${eventTypeText(d.type)} of attempt ${d.attempt_id}`,
    "aria-describedby": allowed.enabled ? undefined : whyId,
    disabled: !allowed.enabled,
    "data-delivery": d.id,
    text: "Redeliver",
    onclick: () => redeliver(d, button),
  });
  const cells = [
    el(
      "span",
      { text: eventTypeText(d.type) },
      el("br"),
      el("code", { class: "small", text: d.type }),
    ),
    el("code", { text: d.attempt_id }),
    el("span", { class: `badge delivery-${d.status}`, text: deliveryStatusText(d) }),
    String(d.attempts),
    lastStatusText(d),
    d.last_error ? el("span", { class: "error-text", text: d.last_error }) : DASH,
    when(d.next_try_at, zone),
  ];
  const numeric = new Set([3, 4]);
  return el(
    "tr",
    { "data-delivery": d.id, "data-status": d.status },
    ...cells.map((content, i) =>
      el("td", { "data-label": COLUMNS[i], class: numeric.has(i) ? "num" : undefined }, content),
    ),
    el(
      "td",
      { class: "actions-cell" },
      button,
      allowed.enabled ? null : el("p", { class: "hint why", id: whyId, text: allowed.reason }),
    ),
  );
}

async function redeliver(d, button) {
  const endpoint = log.endpoint;
  if (!endpoint) return;
  button.disabled = true;
  try {
    const { data } = await admin(
      "POST",
      `${path(endpoint.id)}/deliveries/${encodeURIComponent(d.id)}/redeliver`,
    );
    message("webhook-log-message", redeliveredText(data), "ok");
  } catch (err) {
    if (onAuthError(err)) return;
    message("webhook-log-message", `Not sent again: ${problemText(err)}`, "error");
  }
  await loadLog();
  // The focus stays where it was: on the (new) button of the same delivery.
  const again = $("webhook-log-body").querySelector(`button[data-delivery="${d.id}"]`);
  if (again && document.activeElement === document.body) again.focus();
}

function turn(direction) {
  log.offset = pageOffset(log.offset, direction);
  loadLog().then(() => {
    if (document.activeElement === document.body || document.activeElement.disabled) {
      $("webhook-log-title").focus();
    }
  });
}

/** Wire the log's filter, refresh and page buttons. */
export function bindLog() {
  $("webhook-log-status").addEventListener("change", () => {
    log.offset = 0;
    loadLog();
  });
  $("webhook-log-refresh").addEventListener("click", loadLog);
  $("webhook-log-newer").addEventListener("click", () => turn("previous"));
  $("webhook-log-older").addEventListener("click", () => turn("next"));
}
