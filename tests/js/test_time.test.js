import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { testTimeText } from "../../src/quizsession/entrypoints/web/static/test_time.js";

const clock = () => "14:00";

describe("testTimeText", () => {
  it("says the plain length without extra time", () => {
    const view = { duration_s: 600, test_duration_s: 600, extra_time_s: 0 };
    assert.equal(testTimeText(view, clock), "The test lasts 10 minutes.");
  });

  it("names the extra time in the total", () => {
    const view = { duration_s: 1800, test_duration_s: 2700, extra_time_s: 900 };
    assert.equal(
      testTimeText(view, clock),
      "You have 45 minutes (including 15 minutes of extra time).",
    );
  });

  it("says plainly when the quiz window's close cuts the time", () => {
    const view = {
      duration_s: 1800,
      test_duration_s: 2700,
      extra_time_s: 900,
      cut_by_close: true,
      closes_at: 1_800_003_600,
      effective_time_s: 1920,
    };
    assert.equal(
      testTimeText(view, clock),
      "You have 45 minutes (including 15 minutes of extra time). " +
        "This quiz closes at 14:00 (your time), so you will have 32 minutes.",
    );
  });

  it("falls back to the quiz's duration for a view without the new fields", () => {
    assert.equal(testTimeText({ duration_s: 90 }, clock), "The test lasts 90 seconds.");
  });
});
