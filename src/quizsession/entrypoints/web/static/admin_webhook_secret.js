// The webhooks panel's one-time view of a signing secret (after registering an
// endpoint or rotating its secret): shown once, with a copy button and a clear
// "store it now"; it is forgotten when hidden (the server never shows it again).

import { $, message } from "./admin_session.js";

/** Show `secret` of the endpoint at `url`, and put the focus on it. */
export function showSecret(url, secret, rotated) {
  $("webhook-secret-title").textContent = rotated ? "New signing secret" : "Signing secret";
  $("webhook-secret-label").textContent = `Signing secret of ${url}`;
  const input = $("webhook-secret");
  input.value = secret;
  $("webhook-secret-box").hidden = false;
  input.focus();
  input.select();
}

/** Hide and forget the secret shown (if any). */
export function hideSecret() {
  $("webhook-secret").value = "";
  $("webhook-secret-box").hidden = true;
}

async function copySecret() {
  const input = $("webhook-secret");
  const secret = input.value;
  if (!secret) return;
  try {
    await navigator.clipboard.writeText(secret);
    message("webhooks-message", "The signing secret was copied to the clipboard.", "ok");
  } catch (err) {
    input.focus();
    input.select();
    message(
      "webhooks-message",
      "The browser did not let the page copy: the secret is selected; " +
        "copy it with Ctrl+C (⌘+C on a Mac).",
      "error",
    );
  }
}

function done() {
  hideSecret();
  message("webhooks-message", "");
  $("webhooks-title").focus();
}

/** Wire the copy and "I have stored it" buttons. */
export function bindSecret() {
  $("webhook-secret-copy").addEventListener("click", copySecret);
  $("webhook-secret-done").addEventListener("click", done);
}
