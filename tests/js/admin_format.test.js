import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  lastSeenText,
  scoreText,
  stateText,
  timeLeftText,
} from "../../src/quizsession/entrypoints/web/static/admin_format.js";

describe("the administrator page's wording", () => {
  it("words an attempt's state", () => {
    assert.equal(stateText({ status: "open", state: "test_started" }), "Taking the test");
    assert.equal(stateText({ status: "open", state: "practice_not_started" }), "Logged in");
    assert.equal(stateText({ status: "submitted", state: "test_finished" }), "Submitted");
    assert.equal(stateText({ status: "voided", state: "test_started" }), "Voided");
    assert.equal(stateText({ status: "open", state: "new_state" }), "new_state");
    assert.equal(
      stateText({ status: "submitted", state: "test_finished", pending: true }),
      "Submitted, score pending",
    );
  });

  it("words a score, pending while answers wait for a grader", () => {
    assert.equal(scoreText({ score: null }), "–");
    assert.equal(scoreText({ score: 7.5, max_score: 9 }), "7.5 / 9");
    assert.equal(scoreText({ score: 1, max_score: 9, pending: true }), "pending (1 / 9 so far)");
  });

  it("words the last sign of life", () => {
    assert.equal(lastSeenText(null, 100), "–");
    assert.equal(lastSeenText(98, 100), "just now");
    assert.equal(lastSeenText(58, 100), "42 s ago");
    assert.equal(lastSeenText(100, 100 + 420), "7 min ago");
    assert.equal(lastSeenText(110, 100), "just now", "a clock skew is not negative");
  });

  it("words the time left", () => {
    assert.equal(timeLeftText({ status: "open", time_remaining_s: 249 }), "4:09");
    assert.equal(timeLeftText({ status: "open", time_remaining_s: null }), "not started");
    assert.equal(timeLeftText({ status: "submitted", time_remaining_s: 0 }), "–");
  });
});
