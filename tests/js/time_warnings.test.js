import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  TimeWarnings,
  deadlineNotice,
} from "../../src/quizsession/entrypoints/web/static/time_warnings.js";

/** What `warnings` says as the time left runs from `from` down to `to`, at
 * four renders a second. */
function run(warnings, from, to) {
  const said = [];
  for (let left = from; left >= to; left -= 0.25) {
    const text = warnings.check(left);
    if (text) said.push([left, text]);
  }
  return said;
}

describe("TimeWarnings", () => {
  it("warns once at 5 minutes and once at 1 minute, not every second", () => {
    const said = run(new TimeWarnings(), 400, 0);
    assert.deepEqual(said, [
      [300, "5 minutes left."],
      [60, "1 minute left."],
    ]);
  });

  it("says nothing about marks already behind when the page opens", () => {
    const warnings = new TimeWarnings();
    assert.deepEqual(run(warnings, 200, 50), [[60, "1 minute left."]]);
  });

  it("warns at a mark reached just now when the page opens there", () => {
    const warnings = new TimeWarnings();
    assert.equal(warnings.check(298), "5 minutes left.");
  });

  it("warns again after an extension moved the time back above a mark", () => {
    const warnings = new TimeWarnings();
    run(warnings, 70, 55);
    assert.equal(warnings.check(400), null); // extended
    assert.deepEqual(run(warnings, 301, 59), [
      [300, "5 minutes left."],
      [60, "1 minute left."],
    ]);
  });

  it("gives only the latest mark when both are crossed at once", () => {
    const warnings = new TimeWarnings();
    warnings.check(400);
    assert.equal(warnings.check(30), "1 minute left.");
    assert.equal(warnings.check(29), null);
  });

  it("says nothing at or after the deadline", () => {
    const warnings = new TimeWarnings();
    warnings.check(70);
    assert.equal(warnings.check(0), null);
  });
});

describe("deadlineNotice", () => {
  it("tells an extension and a deadline brought forward", () => {
    assert.equal(deadlineNotice(1000, 1300), "Your time was extended by 5 minutes.");
    assert.equal(deadlineNotice(1000, 940), "Your deadline was brought forward by 1 minute.");
  });

  it("says nothing for no deadline or a move within a second", () => {
    assert.equal(deadlineNotice(null, 1000), null);
    assert.equal(deadlineNotice(1000, null), null);
    assert.equal(deadlineNotice(1000, 1000.6), null);
  });
});
