import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  itemTitle,
  pointsHint,
  readPoints,
  savedText,
  wordsText,
} from "../../src/quizsession/entrypoints/web/static/admin_grading_text.js";

const ITEM = { min_points: 0, max_points: 5, candidate_name: "Ann", candidate_id: "c1", question_id: "e1" };

describe("the grading panel's wording", () => {
  it("counts words against the limit", () => {
    assert.equal(wordsText(1, null), "1 word");
    assert.equal(wordsText(120, 200), "120 words (limit 200)");
    assert.equal(wordsText(230, 200), "230 words: over the limit of 200");
  });

  it("reads the points within the range", () => {
    assert.equal(pointsHint(ITEM), "From 0 to 5 points.");
    assert.deepEqual(readPoints("2,5", ITEM), { points: 2.5 });
    assert.deepEqual(readPoints("5", ITEM), { points: 5 });
    assert.equal(readPoints("", ITEM).problem, "Enter the points.");
    assert.equal(readPoints("6", ITEM).problem, "Enter a number from 0 to 5.");
    assert.equal(readPoints("-1", ITEM).problem, "Enter a number from 0 to 5.");
    assert.ok(readPoints("abc", ITEM).problem);
  });

  it("titles an answer and says what was saved", () => {
    assert.equal(itemTitle(ITEM, 1, 5, false), "Answer 2 of 5: Ann, question e1");
    assert.equal(itemTitle(ITEM, 0, 20, true), "Answer 1 of 20 or more: Ann, question e1");
    const pending = { points: 4, result: { score: 5, max_score: 9, pending: true, pending_questions: 1 } };
    assert.equal(
      savedText(pending, "Ann"),
      "Saved 4 points for Ann. The attempt's score: 5 of 9, pending: 1 answer still to grade.",
    );
    const done = { points: 3, result: { score: 8, max_score: 9, pending: false, pending_questions: 0 } };
    assert.equal(savedText(done, "Ann"), "Saved 3 points for Ann. The attempt's score: 8 of 9.");
  });
});
