// What the administrator page's modules share: the API key (in this module's
// memory only: never in the URL, never in any storage), the chosen quiz, the
// requests that carry the key, and how problems are worded.

import { ApiError, request } from "./api.js";

export const $ = (id) => document.getElementById(id);

/** The signed-in state. `signOut` is set by admin.js. */
export const session = {
  apiKey: null,
  quizId: null,
  signOut: (reason) => reason,
};

/** A request with the key in `X-API-Key`. */
export function admin(method, path, options = {}) {
  return request(method, path, { ...options, apiKey: session.apiKey });
}

/** Show `text` in the message element `id` ("" hides it). */
export function message(id, text, kind = "ok") {
  const node = $(id);
  node.className = `message ${kind}`;
  node.textContent = text;
}

export function problemText(err) {
  if (err instanceof ApiError) {
    if (err.status === 0) return "The server cannot be reached.";
    return `${err.detail || err.code} (${err.code})`;
  }
  return String(err);
}

/** Sign out when the key was refused; true when it was. */
export function onAuthError(err) {
  if (err instanceof ApiError && (err.code === "api_key_invalid" || err.code === "api_key_required")) {
    session.signOut("The API key was refused. Sign in again.");
    return true;
  }
  return false;
}
