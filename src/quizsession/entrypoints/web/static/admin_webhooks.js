// The administrator page's webhooks panel: the registered endpoints (URL,
// event types, enabled or why disabled, how many deliveries are pending,
// delivered and failed, and since when the oldest pending one waits, in the
// viewer's time zone), registering one (its secret shown
// once: admin_webhook_secret.js), enabling and disabling, rotating the secret,
// removing (after a confirmation) and, for a chosen endpoint, its delivery log
// (admin_webhook_log.js). Same API key as the rest of the page.

import { $, admin, message, onAuthError, problemText } from "./admin_session.js";
import { formatWhen, isoTime, viewerTimeZone, zoneOffset } from "./admin_timeline.js";
import {
  bindLog,
  closeLog,
  logEndpointId,
  openLog,
  updateLogEndpoint,
} from "./admin_webhook_log.js";
import {
  checkRegistration,
  deliveryCountsText,
  endpointState,
  EVENT_TYPES,
  eventTypesText,
  oldestPendingMs,
} from "./admin_webhook_rules.js";
import { bindSecret, hideSecret, showSecret } from "./admin_webhook_secret.js";
import { el } from "./api.js";

const FIELDS = ["url", "types", "description"];

const hooks = {
  endpoints: [],
  removing: null, // the endpoint the remove dialog is about
  opener: null, // the button that opened the dialog
};

function path(id) {
  return `/admin/webhooks/${encodeURIComponent(id)}`;
}

function byId(id) {
  return hooks.endpoints.find((e) => e.id === id);
}

/** Show the panel and load the endpoints (after signing in). */
export function openWebhooks() {
  $("webhooks-panel").hidden = false;
  resetForm();
  return loadEndpoints();
}

/** Hide the panel and forget what it showed (signed out). */
export function closeWebhooks() {
  hooks.endpoints = [];
  hooks.removing = null;
  const dialog = $("webhook-remove-dialog");
  if (dialog.open) dialog.close("cancel");
  hideSecret();
  closeLog();
  resetForm();
  $("webhooks-body").replaceChildren();
  $("webhooks-empty").hidden = true;
  message("webhooks-message", "");
  $("webhooks-panel").hidden = true;
}

// ------------------------------------------------------------------ the list

export async function loadEndpoints() {
  try {
    const { data } = await admin("GET", "/admin/webhooks");
    renderEndpoints(data.endpoints);
    return true;
  } catch (err) {
    if (!onAuthError(err)) {
      message("webhooks-message", `Could not load the endpoints: ${problemText(err)}`, "error");
    }
    return false;
  }
}

function renderEndpoints(endpoints) {
  hooks.endpoints = endpoints;
  $("webhooks-body").replaceChildren(...endpoints.map(endpointRow));
  $("webhooks-empty").hidden = endpoints.length > 0;
  const shown = logEndpointId();
  if (shown) updateLogEndpoint(byId(shown) || null);
}

/** The counts as text and, while some wait, "Oldest pending: <time>". */
function countsCell(counts) {
  const oldest = oldestPendingMs(counts);
  const zone = viewerTimeZone();
  return el(
    "td",
    { "data-label": "Deliveries", class: "delivery-counts" },
    el("span", { text: deliveryCountsText(counts) }),
    oldest === null ? null : el("br"),
    oldest === null
      ? null
      : el(
          "span",
          { class: "muted small oldest-pending" },
          "Oldest pending: ",
          el("time", {
            datetime: isoTime(oldest),
            text: `${formatWhen(oldest, zone)} ${zoneOffset(oldest, zone)}`,
          }),
        ),
  );
}

function endpointRow(e) {
  const state = endpointState(e);
  const selected = logEndpointId() === e.id;
  const button = (text, label, onclick, extra = "") =>
    el("button", {
      type: "button",
      class: `button small ${extra}`.trim(),
      "aria-label": label,
      text,
      onclick,
    });
  return el(
    "tr",
    { "data-endpoint": e.id, class: selected ? "selected" : undefined },
    el(
      "td",
      { "data-label": "URL", class: "who" },
      el("span", { class: "url", text: e.url }),
      e.description ? el("br") : null,
      e.description ? el("span", { class: "muted small", text: e.description }) : null,
    ),
    el("td", { "data-label": "Events", text: eventTypesText(e.event_types) }),
    el(
      "td",
      { "data-label": "State" },
      el("span", { class: `badge ${state.kind}`, text: state.text }),
    ),
    countsCell(e.deliveries),
    el(
      "td",
      { class: "actions-cell" },
      el(
        "div",
        { class: "row-actions" },
        button("Deliveries", `Deliveries to ${e.url}`, () => chooseEndpoint(e.id)),
        e.enabled
          ? button("Disable", `Disable ${e.url}`, (ev) => setEnabled(e, false, ev.currentTarget))
          : button("Enable", `Enable ${e.url}`, (ev) => setEnabled(e, true, ev.currentTarget)),
        button("Rotate the secret", `Rotate the secret of ${e.url}`, () => rotate(e.id)),
        button("Remove…", `Remove ${e.url}…`, (ev) => askRemove(e.id, ev.currentTarget), "danger"),
      ),
    ),
  );
}

function markSelected(id) {
  for (const tr of $("webhooks-body").querySelectorAll("tr")) {
    tr.classList.toggle("selected", tr.dataset.endpoint === id);
  }
}

function chooseEndpoint(id) {
  const endpoint = byId(id);
  if (!endpoint) return;
  markSelected(id);
  openLog(endpoint);
}

/** Put the focus back on the same button of the endpoint's re-drawn row. */
function refocus(id, label) {
  const row = $("webhooks-body").querySelector(`tr[data-endpoint="${CSS.escape(id)}"]`);
  const target = row && [...row.querySelectorAll("button")].find((b) => b.textContent === label);
  if (target) target.focus();
  else $("webhooks-title").focus();
}

// ------------------------------------------------------------------ changes

async function change(id, body, done, focusLabel) {
  try {
    const { data } = await admin("PATCH", path(id), { body });
    await loadEndpoints();
    if (focusLabel) refocus(id, focusLabel);
    message("webhooks-message", done(data), "ok");
    return data;
  } catch (err) {
    if (!onAuthError(err)) message("webhooks-message", `Not done: ${problemText(err)}`, "error");
    return null;
  }
}

async function setEnabled(e, enabled, button) {
  button.disabled = true;
  const done = await change(
    e.id,
    { enabled },
    () =>
      enabled
        ? `Enabled ${e.url}: its waiting deliveries are sent now.`
        : `Disabled ${e.url}: its deliveries wait until it is enabled again.`,
    enabled ? "Disable" : "Enable",
  );
  if (!done) button.disabled = false;
}

async function rotate(id) {
  const e = byId(id);
  if (!e) return;
  const data = await change(
    id,
    { rotate_secret: true },
    () =>
      `The secret of ${e.url} was rotated: the previous one keeps signing beside the new one for a day.`,
  );
  if (data && data.secret) showSecret(data.url, data.secret, true);
}

// ------------------------------------------------------------------ removing

function askRemove(id, opener) {
  const e = byId(id);
  if (!e) return;
  hooks.removing = e;
  hooks.opener = opener;
  $("webhook-remove-text").textContent =
    `Nothing more will be sent to ${e.url}, and its delivery log is deleted. This cannot be undone.`;
  const dialog = $("webhook-remove-dialog");
  if (typeof dialog.showModal === "function") dialog.showModal();
}

async function remove(e) {
  try {
    await admin("DELETE", path(e.id));
    if (logEndpointId() === e.id) closeLog();
    await loadEndpoints();
    message("webhooks-message", `Removed ${e.url}.`, "ok");
  } catch (err) {
    if (onAuthError(err)) return;
    message("webhooks-message", `Not removed: ${problemText(err)}`, "error");
  }
}

function onDialogClose() {
  const dialog = $("webhook-remove-dialog");
  const confirmed = dialog.returnValue === "remove";
  dialog.returnValue = "";
  const e = hooks.removing;
  const opener = hooks.opener;
  hooks.removing = null;
  hooks.opener = null;
  if (!e) return;
  if (!confirmed) {
    if (opener && opener.isConnected) opener.focus();
    return;
  }
  // The row (and its button) goes: the focus goes to the panel's title.
  $("webhooks-title").focus();
  remove(e);
}

// ---------------------------------------------------------------- registering

function typeBoxes() {
  return EVENT_TYPES.map(([type, text]) => {
    const id = `webhook-type-${type.replace(".", "-")}`;
    return el(
      "div",
      { class: "check" },
      el("input", { type: "checkbox", id, name: "event_types", value: type, checked: true }),
      el("label", { for: id }, text, " ", el("code", { class: "small", text: type })),
    );
  });
}

function fieldInput(field) {
  return field === "types" ? $("webhook-types") : $(`webhook-${field}`);
}

function showErrors(errors) {
  for (const field of FIELDS) {
    const text = errors[field] || "";
    $(`webhook-${field}-error`).textContent = text;
    const input = fieldInput(field);
    if (field === "types") {
      for (const box of input.querySelectorAll("input")) {
        if (text) box.setAttribute("aria-invalid", "true");
        else box.removeAttribute("aria-invalid");
      }
    } else if (text) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

function resetForm() {
  $("webhook-type-boxes").replaceChildren(...typeBoxes());
  $("webhook-url").value = "";
  $("webhook-description").value = "";
  showErrors({});
}

async function register(event) {
  event.preventDefault();
  const boxes = $("webhook-type-boxes").querySelectorAll("input:checked");
  const types = [...boxes].map((b) => b.value);
  const { errors, body } = checkRegistration({
    url: $("webhook-url").value,
    types,
    description: $("webhook-description").value,
  });
  showErrors(errors);
  if (!body) {
    const first = FIELDS.find((f) => errors[f]);
    message("webhooks-message", "The endpoint was not registered: correct the form.", "error");
    const target = fieldInput(first);
    (first === "types" ? target.querySelector("input") : target).focus();
    return;
  }
  const button = $("webhook-register");
  button.disabled = true;
  try {
    const { data } = await admin("POST", "/admin/webhooks", { body });
    resetForm();
    await loadEndpoints();
    message("webhooks-message", `Registered ${data.url}. Store its signing secret now.`, "ok");
    showSecret(data.url, data.secret, false);
  } catch (err) {
    if (onAuthError(err)) return;
    if (err.code === "webhook_invalid") {
      showErrors({ url: err.detail || "The URL was refused." });
      $("webhook-url").focus();
    }
    message("webhooks-message", `The endpoint was not registered: ${problemText(err)}`, "error");
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ wiring

/** Wire the panel (once, at load). */
export function bindWebhooks() {
  bindSecret();
  bindLog();
  $("webhook-form").addEventListener("submit", register);
  $("webhooks-reload").addEventListener("click", async () => {
    if (await loadEndpoints()) message("webhooks-message", "The endpoints were reloaded.", "ok");
  });
  const dialog = $("webhook-remove-dialog");
  $("webhook-remove-cancel").addEventListener("click", () => dialog.close("cancel"));
  $("webhook-remove-confirm").addEventListener("click", () => dialog.close("remove"));
  dialog.addEventListener("close", onDialogClose);
}
