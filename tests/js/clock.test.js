import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ServerClock } from "../../src/quizsession/entrypoints/web/static/clock.js";

/** A ServerClock on a hand-driven monotonic client clock (ms). */
function clockAt(startMs) {
  const client = { ms: startMs };
  return { clock: new ServerClock(1000, () => client.ms), client };
}

describe("ServerClock", () => {
  it("takes the first sample's offset, with half the round trip", () => {
    const { clock, client } = clockAt(5_000);
    // The server said 1000.000 s; the reply took 200 ms there and back.
    clock.sample(1000, 5_000, 200);
    assert.equal(clock.applied, 1000 * 1000 + 100 - 5_000);
    assert.equal(clock.now(), 1000.1);
    client.ms += 2_500;
    assert.equal(clock.now(), 1002.6);
  });

  it("keeps the offset in use while samples agree within a second", () => {
    const { clock } = clockAt(0);
    clock.sample(100, 0, 0);
    const applied = clock.applied;
    clock.sample(100.8, 0, 0); // 800 ms off: jitter, not a correction
    assert.equal(clock.applied, applied);
    assert.equal(clock.measured, applied + 800);
    clock.sample(99.1, 0, 0); // 900 ms the other way
    assert.equal(clock.applied, applied);
  });

  it("corrects the display when a sample is off by more than a second", () => {
    const { clock } = clockAt(0);
    clock.sample(100, 0, 0);
    clock.sample(101.5, 0, 0);
    assert.equal(clock.now(), 101.5);
    clock.sample(98, 0, 0);
    assert.equal(clock.now(), 98);
  });

  it("reuses the last round trip when a message has none (ticks)", () => {
    const { clock } = clockAt(0);
    clock.sample(10, 0, 400);
    clock.sample(20, 10_000); // tick: no rtt of its own
    assert.equal(clock.rtt, 400);
    assert.equal(clock.measured, 20_000 + 200 - 10_000);
  });

  it("ignores samples that are not numbers", () => {
    const { clock } = clockAt(0);
    clock.sample(undefined, 0);
    clock.sample(Number.NaN, 0);
    clock.sample("12", 0);
    assert.equal(clock.applied, null);
    clock.sample(12, 0, -5); // a negative round trip is not used
    assert.equal(clock.rtt, null);
  });

  it("follows the monotonic clock, not the wall clock", () => {
    const { clock, client } = clockAt(1_000);
    clock.sample(500, 1_000, 0);
    const realNow = Date.now;
    try {
      Date.now = () => realNow() + 3_600_000; // the computer's clock jumps an hour
      assert.equal(clock.now(), 500);
    } finally {
      Date.now = realNow;
    }
    client.ms += 1_000;
    assert.equal(clock.now(), 501);
  });
});
