// Shared helpers for the quizsession pages: JSON requests with problem+json
// errors, op ids, elements and answer equality. Plain ES module, no framework
// (formatting lives in format.js).

/** An HTTP or network failure. `status` is 0 when the server could not be reached;
 * `code` is the problem's stable code ("network" without a response). */
export class ApiError extends Error {
  constructor(status, code, detail, body) {
    super(detail || code);
    this.status = status;
    this.code = code;
    this.detail = detail || "";
    this.body = body || {};
  }

  /** True when trying again later may succeed (network, overload, restart). */
  get retryable() {
    return (
      this.status === 0 ||
      this.status === 429 ||
      this.status >= 500 ||
      this.code === "busy" ||
      this.code === "draining" ||
      this.code === "store_unavailable"
    );
  }
}

const DEFAULT_TIMEOUT_MS = 10000;

/** The client's time in ms since the epoch, from the monotonic clock: it keeps
 * step even when the computer's wall clock is changed or jumps. */
export function clientNow() {
  return performance.timeOrigin + performance.now();
}

/**
 * A JSON request to this service. Resolves to `{data, sentAt, receivedAt}` (client
 * times in ms, for clock-offset measurement) or rejects with an ApiError.
 * `token` goes in `Authorization: Bearer`, `apiKey` in `X-API-Key`.
 */
export async function request(method, path, { body, token, apiKey, timeoutMs, text } = {}) {
  const headers = { Accept: "application/json, application/problem+json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  if (apiKey) headers["X-API-Key"] = apiKey;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs || DEFAULT_TIMEOUT_MS);
  const sentAt = clientNow();
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      signal: controller.signal,
    });
  } catch (err) {
    clearTimeout(timer);
    throw new ApiError(0, "network", "The server could not be reached.", { cause: String(err) });
  }
  let raw;
  try {
    raw = await response.text();
  } catch (err) {
    clearTimeout(timer);
    throw new ApiError(0, "network", "The connection dropped during the response.", {});
  }
  clearTimeout(timer);
  const receivedAt = clientNow();
  let data = null;
  if (raw && !text) {
    try {
      data = JSON.parse(raw);
    } catch (err) {
      data = null;
    }
  }
  if (!response.ok) {
    const problem = data && typeof data === "object" ? data : {};
    throw new ApiError(
      response.status,
      problem.code || `http_${response.status}`,
      problem.detail || response.statusText,
      problem,
    );
  }
  return { data: text ? raw : data, sentAt, receivedAt };
}

/** A fresh operation id (a retry reuses the id it was first sent with). */
export function newOpId() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Create an element: el("p", {class: "x", text: "hi"}, child...). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Deep equality for answer values (strings, numbers, booleans, lists, objects
 * of gap or item answers). Lists are compared as sets (chosen ids) unless
 * `ordered` (an ordering question's list, where the order is the answer). */
export function sameAnswer(a, b, ordered = false) {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    const sa = ordered ? a : [...a].sort();
    const sb = ordered ? b : [...b].sort();
    return sa.every((v, i) => v === sb[i]);
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
  }
  return a === b;
}

function isRecord(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
