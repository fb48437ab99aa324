import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  formatDuration,
  formatScore,
  minutesText,
  parseNumber,
  spokenDuration,
} from "../../src/quizsession/entrypoints/web/static/format.js";

describe("formatDuration", () => {
  it("shows minutes and seconds, hours when needed", () => {
    assert.equal(formatDuration(7), "0:07");
    assert.equal(formatDuration(249), "4:09");
    assert.equal(formatDuration(3909), "1:05:09");
  });

  it("rounds up and never goes below zero", () => {
    assert.equal(formatDuration(59.2), "1:00");
    assert.equal(formatDuration(0.01), "0:01");
    assert.equal(formatDuration(-3), "0:00");
  });
});

describe("spokenDuration", () => {
  it("says hours, minutes and seconds in words", () => {
    assert.equal(spokenDuration(300), "5 minutes");
    assert.equal(spokenDuration(60), "1 minute");
    assert.equal(spokenDuration(90), "1 minute 30 seconds");
    assert.equal(spokenDuration(45), "45 seconds");
    assert.equal(spokenDuration(1), "1 second");
    assert.equal(spokenDuration(0), "0 seconds");
    assert.equal(spokenDuration(3660), "1 hour 1 minute");
  });
});

describe("minutesText and formatScore", () => {
  it("words a test's length", () => {
    assert.equal(minutesText(45), "45 seconds");
    assert.equal(minutesText(600), "10 minutes");
  });

  it("prints scores without float noise", () => {
    assert.equal(formatScore(7.5), "7.5");
    assert.equal(formatScore(0.1 + 0.2), "0.3");
    assert.equal(formatScore(-0.25), "-0.25");
    assert.equal(formatScore(null), "–");
    assert.equal(formatScore(undefined), "–");
  });
});

describe("parseNumber", () => {
  it("reads plain numbers", () => {
    assert.deepEqual(parseNumber("42"), { value: 42 });
    assert.deepEqual(parseNumber(" 3.14 "), { value: 3.14 });
    assert.deepEqual(parseNumber("-0.5"), { value: -0.5 });
    assert.deepEqual(parseNumber(".5"), { value: 0.5 });
    assert.deepEqual(parseNumber("3e8"), { value: 3e8 });
  });

  it("understands a decimal comma", () => {
    assert.deepEqual(parseNumber("3,14"), { value: 3.14 });
    assert.deepEqual(parseNumber("0,125"), { value: 0.125 });
    assert.deepEqual(parseNumber("-2,5"), { value: -2.5 });
    assert.deepEqual(parseNumber("1234,5"), { value: 1234.5 });
  });

  it("tells nothing typed apart from a number", () => {
    assert.deepEqual(parseNumber(""), { empty: true });
    assert.deepEqual(parseNumber("   "), { empty: true });
    assert.deepEqual(parseNumber(null), { empty: true });
  });

  it("refuses what it would have to guess, with a message", () => {
    for (const text of ["1,234,5", "1.234,5", "1,234.5", "1,234", "12,500", "1 234", "12a", "abc", "--1", "1e", ","]) {
      const parsed = parseNumber(text);
      assert.equal(parsed.value, undefined, text);
      assert.ok(parsed.error && parsed.error.length > 10, `${text}: ${JSON.stringify(parsed)}`);
    }
  });

  it("never turns a comma into a thousands separator", () => {
    // The old page stored "3,14" as 314.
    assert.notEqual(parseNumber("3,14").value, 314);
  });
});
