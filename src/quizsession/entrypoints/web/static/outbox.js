// Unsent answers. Every answer the candidate gives is kept in localStorage, with
// the op id it was first sent with, until the server has acknowledged it (a 2xx
// means it is on disk). After a reconnect, a reload or a crash of the server the
// same entry is sent again with the same op id, so a retry can never count twice.
// One entry per question: a newer answer replaces an unsent older one (with a
// fresh op id). Entries are sent oldest first, one at a time.

import { newOpId, sameAnswer } from "./api.js";

/** What `send` resolves to for one entry. */
export const SENT = "sent"; // stored by the server
export const DROP = "drop"; // can never be stored (e.g. a practice answer after the practice)
export const RETRY = "retry"; // not now (network, server down): try again later
export const STOP = "stop"; // this page must not send any more (taken over, ended)

const MAX_RETRY_DELAY_MS = 10000;

export class Outbox {
  /**
   * @param {object} options
   * @param {() => string|null} options.key storage key of the attempt's entries
   * @param {(questionId: string, entry: object) => Promise<string>} options.send
   * @param {() => void} options.onChange the count or the failed state changed
   * @param {number} [options.debounceMs] default delay between an edit and its save
   * @param {Storage} [options.storage] where entries are kept (localStorage)
   * @param {{setTimeout: Function, clearTimeout: Function}} [options.timers]
   * @param {() => string} [options.newId] a fresh op id
   * @param {() => number} [options.now] ms, orders the entries
   */
  constructor({
    key,
    send,
    onChange = () => {},
    debounceMs = 1000,
    storage = globalThis.localStorage,
    timers = globalThis,
    newId = newOpId,
    now = () => Date.now(),
  }) {
    this.key = key;
    this.send = send;
    this.onChange = onChange;
    this.debounceMs = debounceMs;
    this.storage = storage;
    this.timers = timers;
    this.newId = newId;
    this.now = now;
    this.failed = false; // the last attempt to send failed: retrying
    this.retryDelay = 1000;
    this.flushing = null;
    this.again = false;
    this.debounce = null;
    this.retry = null;
  }

  all() {
    const key = this.key();
    if (!key) return {};
    try {
      return JSON.parse(this.storage.getItem(key) || "{}") || {};
    } catch (err) {
      return {};
    }
  }

  store(entries) {
    const key = this.key();
    if (!key) return;
    try {
      if (Object.keys(entries).length) this.storage.setItem(key, JSON.stringify(entries));
      else this.storage.removeItem(key);
    } catch (err) {
      // Storage full or disabled: the answer is still sent, only not kept.
    }
  }

  get(questionId) {
    return this.all()[questionId];
  }

  count() {
    return Object.keys(this.all()).length;
  }

  /** Keep `answer` as the unsent answer to `questionId` (a fresh op id unless
   * the same answer is already waiting; `ordered`: a list's order matters). */
  put(questionId, answer, section, { ordered = false } = {}) {
    const entries = this.all();
    const entry = entries[questionId];
    if (entry && sameAnswer(entry.answer, answer, ordered)) return;
    entries[questionId] = { answer, op_id: this.newId(), section, at: this.now() };
    this.store(entries);
    this.onChange();
  }

  /** Forget the entry of `questionId` if it is still the one sent as `opId`. */
  drop(questionId, opId) {
    const entries = this.all();
    if (entries[questionId] && entries[questionId].op_id === opId) {
      delete entries[questionId];
      this.store(entries);
    }
  }

  clear() {
    this.cancel();
    this.store({});
    this.onChange();
  }

  cancel() {
    this.timers.clearTimeout(this.debounce);
    this.timers.clearTimeout(this.retry);
    this.debounce = null;
    this.retry = null;
  }

  /** Send after `delayMs` of quiet (restarted by every edit): typing waits
   * for a pause, a click saves at once (`flush`). */
  later(delayMs = this.debounceMs) {
    this.timers.clearTimeout(this.debounce);
    this.debounce = this.timers.setTimeout(() => this.flush(), delayMs);
  }

  /** Send every entry. Resolves to true when nothing is left unsent. */
  flush() {
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      let ok = true;
      try {
        do {
          this.again = false;
          ok = await this.flushOnce();
        } while (ok && this.again);
      } finally {
        this.flushing = null;
        this.onChange();
      }
      return ok;
    })();
    return this.flushing;
  }

  async flushOnce() {
    this.cancel();
    const entries = Object.entries(this.all()).sort((a, b) => a[1].at - b[1].at);
    for (const [questionId, entry] of entries) {
      const outcome = await this.send(questionId, entry);
      if (outcome === SENT || outcome === DROP) {
        this.drop(questionId, entry.op_id);
        if (outcome === SENT) {
          this.failed = false;
          this.retryDelay = 1000;
        }
        this.onChange();
        continue;
      }
      if (outcome === RETRY) this.retryLater();
      return false;
    }
    return true;
  }

  retryLater() {
    this.failed = true;
    this.onChange();
    this.timers.clearTimeout(this.retry);
    const delay = this.retryDelay;
    this.retryDelay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
    this.retry = this.timers.setTimeout(() => this.flush(), delay);
  }
}
