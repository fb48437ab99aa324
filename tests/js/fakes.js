// Small fakes for the unit tests of the pages' modules: an in-memory Storage and
// timers driven by hand (no real waiting).

export class MemoryStorage {
  constructor() {
    this.map = new Map();
  }

  getItem(key) {
    return this.map.has(key) ? this.map.get(key) : null;
  }

  setItem(key, value) {
    this.map.set(key, String(value));
  }

  removeItem(key) {
    this.map.delete(key);
  }
}

/** setTimeout/clearTimeout on a fake clock; `advance(ms)` runs what is due. */
export class FakeTimers {
  constructor() {
    this.now = 0;
    this.nextId = 1;
    this.pending = new Map(); // id -> {due, fn}
    this.setTimeout = (fn, ms = 0) => {
      const id = this.nextId++;
      this.pending.set(id, { due: this.now + ms, fn });
      return id;
    };
    this.clearTimeout = (id) => {
      this.pending.delete(id);
    };
  }

  /** The delays (ms from now) of the timers still waiting. */
  delays() {
    return [...this.pending.values()].map((t) => t.due - this.now).sort((a, b) => a - b);
  }

  async advance(ms) {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.pending.entries()]
        .filter(([, t]) => t.due <= until)
        .sort((a, b) => a[1].due - b[1].due);
      if (!due.length) break;
      const [id, timer] = due[0];
      this.pending.delete(id);
      this.now = timer.due;
      timer.fn();
      await settle();
    }
    this.now = until;
  }
}

/** Let pending promise callbacks run. */
export async function settle() {
  for (let i = 0; i < 20; i += 1) await Promise.resolve();
}

export { choose, installFakeDom, makeEvent, typeInto } from "./fake_dom.js";
