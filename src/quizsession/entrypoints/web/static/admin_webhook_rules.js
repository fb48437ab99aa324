// What the administrator page's webhooks panel decides without the DOM: the
// register form's checks, how an endpoint's state, its delivery counts and a
// delivery are worded,
// when "Redeliver" applies (and why not), and the delivery log's pages. Pure
// (unit-tested in tests/js/admin_webhook_rules.test.js).

/** The event types an endpoint can subscribe to, with their wording. */
export const EVENT_TYPES = [
  ["attempt.started", "Attempt started"],
  ["attempt.extended", "Time extended"],
  ["attempt.submitted", "Attempt submitted"],
  ["attempt.scored", "Attempt scored"],
  ["attempt.voided", "Attempt voided"],
  ["attempt.reopened", "Attempt reopened"],
  ["attempt.graded", "Answer graded by hand"],
  ["attempt.regraded", "Attempt regraded"],
];

export const MAX_URL = 2048;
export const MAX_DESCRIPTION = 200;
/** Deliveries shown per page of the log. */
export const PAGE_SIZE = 20;

/**
 * Check the register form. `url` and `description` as typed, `types` the
 * event types ticked. Returns `{errors, body}`: `errors` maps a field ("url",
 * "types", "description") to what is wrong, in the order of the form; `body` is
 * the request body when there is no error, else null.
 */
export function checkRegistration({ url, types, description }) {
  const errors = {};
  const address = String(url ?? "").trim();
  const urlError = checkUrl(address);
  if (urlError) errors.url = urlError;
  const known = EVENT_TYPES.map(([t]) => t);
  const chosen = known.filter((t) => (types || []).includes(t));
  if (chosen.length === 0) errors.types = "Choose at least one event type.";
  const note = String(description ?? "").trim();
  if (note.length > MAX_DESCRIPTION) {
    const has = `(it has ${note.length})`;
    errors.description = `Keep the description to ${MAX_DESCRIPTION} characters ${has}.`;
  }
  if (Object.keys(errors).length) return { errors, body: null };
  const body = { url: address, event_types: chosen };
  if (note) body.description = note;
  return { errors, body };
}

/** What is wrong with a webhook URL ("" when nothing is): the server's rules. */
export function checkUrl(url) {
  if (!url) return "Enter the URL the events are sent to.";
  if (url.length > MAX_URL) return `Keep the URL to ${MAX_URL} characters.`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(url)) return "The URL must not contain spaces.";
  let parsed;
  try {
    parsed = new URL(url);
  } catch (err) {
    return "Enter a full URL, such as https://example.org/hooks.";
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return "The URL must start with https:// or http://.";
  }
  if (!parsed.hostname) return "The URL has no host.";
  if (parsed.username || parsed.password) {
    return "The URL must not contain a user name or password.";
  }
  if (url.includes("#")) return "The URL must not contain a fragment (#…).";
  return "";
}

/** How an endpoint's state is worded: `{text, kind}` with kind "on" or "off". */
export function endpointState(endpoint) {
  if (endpoint.enabled) return { text: "Enabled", kind: "on" };
  const reason = String(endpoint.disabled_reason || "");
  if (/\b410\b/.test(reason)) return { text: "Disabled after 410 Gone", kind: "off" };
  if (reason) return { text: `Disabled by the service: ${reason}`, kind: "off" };
  return { text: "Disabled", kind: "off" };
}

function count(value) {
  return Number.isInteger(value) && value > 0 ? value : 0;
}

/** An endpoint's delivery counts as text: "2 pending, 5 delivered, 1 failed"
 * (missing counts are 0). */
export function deliveryCountsText(counts) {
  const c = counts || {};
  return `${count(c.pending)} pending, ${count(c.delivered)} delivered, ${count(c.failed)} failed`;
}

/** When the oldest pending delivery was created, in ms since the epoch (whole
 * seconds), or null when nothing is pending. */
export function oldestPendingMs(counts) {
  const c = counts || {};
  const at = c.oldest_pending_at;
  if (count(c.pending) === 0 || typeof at !== "number" || !Number.isFinite(at)) return null;
  return Math.floor(at) * 1000;
}

/** "Attempt started, Attempt scored" (all six: "Every event"). */
export function eventTypesText(types) {
  const list = types || [];
  if (EVENT_TYPES.every(([t]) => list.includes(t))) return "Every event";
  const words = new Map(EVENT_TYPES);
  return list.map((t) => words.get(t) || t).join(", ");
}

/** The event type as worded on the page. */
export function eventTypeText(type) {
  return new Map(EVENT_TYPES).get(type) || type;
}

/** How a delivery's status is worded: "Delivered", "Failed", "Retrying"
 * (pending after a send that did not succeed), "Waiting" (pending, not sent). */
export function deliveryStatusText(d) {
  if (d.status === "delivered") return "Delivered";
  if (d.status === "failed") return "Failed";
  return d.attempts > 0 ? "Retrying" : "Waiting";
}

/**
 * Whether "Redeliver" applies to delivery `d` of `endpoint`: `{enabled, reason}`
 * (`reason` says why not). A delivery of a disabled endpoint would only wait;
 * one never sent yet goes out on its own.
 */
export function redeliverAllowed(d, endpoint) {
  if (endpoint && !endpoint.enabled) {
    return {
      enabled: false,
      reason: "The endpoint is disabled: enable it first (its deliveries wait until then).",
    };
  }
  if (d.status === "pending" && d.attempts === 0) {
    return {
      enabled: false,
      reason: "Not sent yet: it goes out on its own (after any earlier event of its attempt).",
    };
  }
  return { enabled: true, reason: "" };
}

/** The text of what a redelivery did. */
export function redeliveredText(d) {
  const what = `${eventTypeText(d.type)} (delivery ${d.id})`;
  return `${what} is being sent again now, with the same webhook-id.`;
}

/**
 * One page of the log from `found`, the deliveries asked for with a limit of
 * `size + 1` at `offset`: `{rows, offset, hasPrevious, hasNext, text}`.
 */
export function logPage(found, offset, size = PAGE_SIZE) {
  const list = found || [];
  const rows = list.slice(0, size);
  const hasNext = list.length > size;
  const hasPrevious = offset > 0;
  const text =
    rows.length === 0
      ? hasPrevious
        ? "No more deliveries."
        : "No deliveries yet."
      : `Deliveries ${offset + 1}–${offset + rows.length}, newest first.`;
  return { rows, offset, hasPrevious, hasNext, text };
}

/** The offset of the previous or next page (never below 0). */
export function pageOffset(offset, direction, size = PAGE_SIZE) {
  return Math.max(0, offset + (direction === "next" ? size : -size));
}

/** "500", or "–" when nothing was answered (no send, or no answer at all). */
export function lastStatusText(d) {
  return d.last_status === null || d.last_status === undefined ? "–" : String(d.last_status);
}
