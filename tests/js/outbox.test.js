import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  DROP,
  Outbox,
  RETRY,
  SENT,
  STOP,
} from "../../src/quizsession/entrypoints/web/static/outbox.js";
import { FakeTimers, MemoryStorage, settle } from "./fakes.js";

/** An outbox over `storage` whose sends answer from `outcomes` (a function of
 * the call) and are recorded in `sent`. */
function makeOutbox({ storage = new MemoryStorage(), timers = new FakeTimers(), outcome }) {
  const sent = [];
  let ids = 0;
  let changes = 0;
  let clock = 0;
  const outbox = new Outbox({
    key: () => "quizsession.pending.a1",
    send: async (questionId, entry) => {
      sent.push({ questionId, ...entry });
      return outcome(questionId, entry, sent.length);
    },
    onChange: () => {
      changes += 1;
    },
    storage,
    timers,
    newId: () => `op-${++ids}`,
    now: () => ++clock,
  });
  return { outbox, sent, storage, timers, changes: () => changes };
}

describe("Outbox", () => {
  it("keeps an answer on the device until it is sent", async () => {
    const { outbox, sent, storage } = makeOutbox({ outcome: () => SENT });
    outbox.put("q1", "a", "test");
    assert.equal(outbox.count(), 1);
    assert.ok(storage.getItem("quizsession.pending.a1").includes("op-1"));
    assert.equal(await outbox.flush(), true);
    assert.deepEqual(
      sent.map((s) => [s.questionId, s.answer, s.op_id]),
      [["q1", "a", "op-1"]],
    );
    assert.equal(outbox.count(), 0);
    assert.equal(storage.getItem("quizsession.pending.a1"), null);
  });

  it("a newer answer replaces an unsent one with a fresh op id; the same answer keeps it", () => {
    const { outbox } = makeOutbox({ outcome: () => SENT });
    outbox.put("q1", ["x", "y"], "test");
    outbox.put("q1", ["y", "x"], "test"); // the same choices
    assert.equal(outbox.get("q1").op_id, "op-1");
    outbox.put("q1", ["x"], "test");
    assert.equal(outbox.get("q1").op_id, "op-2");
    assert.equal(outbox.count(), 1);
  });

  it("a new order is a new answer when the order matters; an equal object is the same", () => {
    const { outbox } = makeOutbox({ outcome: () => SENT });
    outbox.put("q1", ["x", "y"], "test", { ordered: true });
    outbox.put("q1", ["x", "y"], "test", { ordered: true });
    assert.equal(outbox.get("q1").op_id, "op-1");
    outbox.put("q1", ["y", "x"], "test", { ordered: true });
    assert.deepEqual(outbox.get("q1"), { answer: ["y", "x"], op_id: "op-2", section: "test", at: 2 });
    outbox.put("q2", { fr: "Paris", de: "Berlin" }, "test");
    outbox.put("q2", { de: "Berlin", fr: "Paris" }, "test");
    assert.equal(outbox.get("q2").op_id, "op-3");
    outbox.put("q2", { de: "Berlin" }, "test");
    assert.equal(outbox.get("q2").op_id, "op-4");
    outbox.put("q2", { de: "Rome" }, "test");
    assert.equal(outbox.get("q2").op_id, "op-5");
  });

  it("resends with the same op id after a failure and after a reload", async () => {
    const storage = new MemoryStorage();
    const timers = new FakeTimers();
    let online = false;
    const first = makeOutbox({ storage, timers, outcome: () => (online ? SENT : RETRY) });
    first.outbox.put("q1", 3.14, "test");
    assert.equal(await first.outbox.flush(), false);
    assert.equal(first.outbox.failed, true);
    assert.deepEqual(timers.delays(), [1000]); // retried later

    // The page reloads: a new outbox over the same storage sends the same entry.
    first.outbox.cancel();
    online = true;
    const second = makeOutbox({ storage, timers, outcome: () => SENT });
    assert.equal(await second.outbox.flush(), true);
    assert.equal(first.sent[0].op_id, "op-1");
    assert.equal(second.sent[0].op_id, "op-1");
    assert.equal(second.outbox.count(), 0);
  });

  it("retries with a growing delay, capped, and resets after a success", async () => {
    const timers = new FakeTimers();
    let online = false;
    const { outbox, sent } = makeOutbox({ timers, outcome: () => (online ? SENT : RETRY) });
    outbox.put("q1", "a", "test");
    await outbox.flush();
    const delays = [];
    for (let i = 0; i < 6; i += 1) {
      delays.push(timers.delays()[0]);
      await timers.advance(timers.delays()[0]);
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 10000, 10000]);
    assert.ok(sent.every((s) => s.op_id === "op-1"), "every retry uses the first op id");
    online = true;
    await timers.advance(timers.delays()[0]);
    assert.equal(outbox.count(), 0);
    assert.equal(outbox.failed, false);
    assert.equal(outbox.retryDelay, 1000);
  });

  it("drops an answer that can never be stored and goes on with the others", async () => {
    const { outbox, sent } = makeOutbox({
      outcome: (questionId) => (questionId === "p1" ? DROP : SENT),
    });
    outbox.put("p1", "practice", "practice");
    outbox.put("q1", "a", "test");
    assert.equal(await outbox.flush(), true);
    assert.deepEqual(sent.map((s) => s.questionId), ["p1", "q1"]);
    assert.equal(outbox.count(), 0);
  });

  it("stops at STOP and keeps what was not sent, without retrying", async () => {
    const timers = new FakeTimers();
    const { outbox, sent } = makeOutbox({ timers, outcome: () => STOP });
    outbox.put("q1", "a", "test");
    outbox.put("q2", "b", "test");
    assert.equal(await outbox.flush(), false);
    assert.equal(sent.length, 1);
    assert.equal(outbox.count(), 2);
    assert.deepEqual(timers.delays(), []);
    assert.equal(outbox.failed, false);
  });

  it("sends oldest first, one at a time", async () => {
    let inFlight = 0;
    let most = 0;
    const { outbox, sent } = makeOutbox({
      outcome: async () => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await settle();
        inFlight -= 1;
        return SENT;
      },
    });
    outbox.put("q2", "b", "test");
    outbox.put("q1", "a", "test");
    outbox.put("q2", "c", "test"); // newer than q1 now
    await outbox.flush();
    assert.deepEqual(sent.map((s) => [s.questionId, s.answer]), [["q1", "a"], ["q2", "c"]]);
    assert.equal(most, 1);
  });

  it("a flush during a flush runs once more after it", async () => {
    let release;
    const gate = new Promise((resolve) => {
      release = resolve;
    });
    const { outbox, sent } = makeOutbox({
      outcome: async (questionId) => {
        if (questionId === "q1") await gate;
        return SENT;
      },
    });
    outbox.put("q1", "a", "test");
    const first = outbox.flush();
    outbox.put("q2", "b", "test");
    const second = outbox.flush();
    assert.equal(first, second);
    release();
    assert.equal(await first, true);
    assert.deepEqual(sent.map((s) => s.questionId), ["q1", "q2"]);
  });

  it("later() waits for quiet: each edit restarts the delay", async () => {
    const timers = new FakeTimers();
    const { outbox, sent } = makeOutbox({ timers, outcome: () => SENT });
    outbox.put("q1", "M", "test");
    outbox.later(1000);
    await timers.advance(600);
    outbox.put("q1", "Ma", "test");
    outbox.later(1000);
    await timers.advance(600);
    assert.equal(sent.length, 0);
    await timers.advance(400);
    assert.deepEqual(sent.map((s) => s.answer), ["Ma"]);
  });

  it("clear() forgets everything and cancels the timers", async () => {
    const timers = new FakeTimers();
    const { outbox, storage } = makeOutbox({ timers, outcome: () => RETRY });
    outbox.put("q1", "a", "test");
    await outbox.flush();
    outbox.clear();
    assert.equal(outbox.count(), 0);
    assert.deepEqual(timers.delays(), []);
    assert.equal(storage.getItem("quizsession.pending.a1"), null);
  });

  it("survives unreadable storage", () => {
    const storage = new MemoryStorage();
    storage.setItem("quizsession.pending.a1", "{not json");
    const { outbox } = makeOutbox({ storage, outcome: () => SENT });
    assert.equal(outbox.count(), 0);
  });
});
