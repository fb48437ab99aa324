import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  checkVerdict,
  instructionParagraphs,
  overallFeedback,
  questionLines,
  questionTitle,
  reviewNote,
  reviewScore,
} from "../../src/quizsession/entrypoints/web/static/review_format.js";

describe("instructionParagraphs", () => {
  it("splits the text at blank lines and joins wrapped lines", () => {
    const view = { instructions: "Read this.\nAll of it.\n\nSection part.", penalty_warning: "" };
    assert.deepEqual(instructionParagraphs(view), {
      paragraphs: ["Read this. All of it.", "Section part."],
      warning: "",
    });
  });

  it("carries the warning about negative marks", () => {
    const view = { instructions: "", penalty_warning: "Wrong answers cost marks: see each question." };
    assert.deepEqual(instructionParagraphs(view), {
      paragraphs: [],
      warning: "Wrong answers cost marks: see each question.",
    });
  });

  it("copes with an older server without the fields", () => {
    assert.deepEqual(instructionParagraphs({}), { paragraphs: [], warning: "" });
    assert.deepEqual(instructionParagraphs(null), { paragraphs: [], warning: "" });
  });
});

const feedback = (over) => ({
  question_id: "q",
  answered: true,
  grading: "auto",
  correct: false,
  fraction: 0,
  answer_text: "B",
  right_answer: "A",
  feedback: [],
  general_feedback: null,
  ...over,
});

describe("checkVerdict", () => {
  it("says right", () => {
    const v = checkVerdict(feedback({ correct: true, fraction: 1 }));
    assert.equal(v.kind, "right");
    assert.equal(v.title, "Right");
    assert.equal(v.sentence, "Your answer is correct.");
  });

  it("says partly right with the share and the right answer", () => {
    const v = checkVerdict(feedback({ fraction: 0.5 }));
    assert.equal(v.kind, "partly");
    assert.match(v.sentence, /50 %/);
    assert.match(v.sentence, /The right answer is: A\./);
  });

  it("says not right with the right answer", () => {
    const v = checkVerdict(feedback({}));
    assert.equal(v.kind, "wrong");
    assert.equal(v.title, "Not right");
    assert.equal(v.sentence, "The right answer is: A.");
    assert.equal(checkVerdict(feedback({ right_answer: "" })).sentence, "This answer would earn no marks.");
  });

  it("tells a blank answer and a hand-marked one apart", () => {
    assert.equal(checkVerdict(feedback({ answered: false })).kind, "blank");
    assert.equal(checkVerdict(feedback({ grading: "manual", right_answer: "" })).kind, "manual");
  });
});

const review = (over) => ({
  available: ["score"],
  next_at: null,
  pending: false,
  questions: [],
  score: 7.5,
  max_score: 13,
  ...over,
});

describe("reviewScore", () => {
  it("shows the score when the policy does", () => {
    assert.deepEqual(reviewScore(review({})), {
      visual: "7.5 / 13",
      spoken: "Score: 7.5 out of 13",
      pending: false,
    });
  });

  it("says pending while a grader has not finished", () => {
    const s = reviewScore(review({ pending: true, score: undefined }));
    assert.equal(s.pending, true);
    assert.equal(s.visual, "Pending / 13");
  });

  it("shows nothing when the policy hides the score", () => {
    assert.equal(reviewScore(review({ available: ["answers"] })), null);
  });
});

describe("overallFeedback", () => {
  const shown = ["score", "overall_feedback"];

  it("gives the band's text, line breaks kept", () => {
    const r = review({ available: shown, overall_feedback: "Well done!\nSee you next term.\n" });
    assert.deepEqual(overallFeedback(r), { text: "Well done!\nSee you next term.", pending: false });
  });

  it("says pending while a grader has not finished", () => {
    const r = review({ available: shown, pending: true, score: undefined });
    const found = overallFeedback(r);
    assert.equal(found.pending, true);
    assert.match(found.text, /^Pending/);
  });

  it("shows nothing when the policy does not show it", () => {
    assert.equal(overallFeedback(review({ overall_feedback: "Hidden" })), null);
    assert.equal(overallFeedback(review({ pending: true })), null);
  });

  it("shows nothing when no band reaches the grade", () => {
    assert.equal(overallFeedback(review({ available: shown })), null);
    assert.equal(overallFeedback(review({ available: shown, overall_feedback: "  " })), null);
  });
});

describe("reviewNote", () => {
  const at = (t) => `T${t}`;

  it("says when more comes", () => {
    assert.equal(
      reviewNote(review({ next_at: 99 }), at),
      "Your answers are not shown yet. More of your review is shown from T99.",
    );
    assert.equal(
      reviewNote(review({ available: [], next_at: 99 }), at),
      "Your results are not shown yet. More of your review is shown from T99.",
    );
  });

  it("says nothing more when the score is all there is, for good", () => {
    assert.equal(reviewNote(review({}), at), "");
  });

  it("says nothing when everything is shown", () => {
    const all = ["score", "answers", "right_answers", "feedback", "general_feedback"];
    assert.equal(reviewNote(review({ available: all }), at), "");
    assert.equal(reviewNote(review({ available: [...all, "overall_feedback"] }), at), "");
  });

  it("counts the overall feedback as no answers shown", () => {
    assert.equal(
      reviewNote(review({ available: ["score", "overall_feedback"], next_at: 99 }), at),
      "Your answers are not shown yet. More of your review is shown from T99.",
    );
  });

  it("says so when nothing is shown", () => {
    assert.equal(reviewNote(review({ available: [] }), at), "The results of this quiz are not shown.");
  });
});

describe("questionLines", () => {
  it("lists only what the review includes, in order", () => {
    const q = {
      id: "q1",
      number: 2,
      points: 2,
      answer: "b",
      answer_text: "B",
      right_answer: "A",
      score: -0.5,
      feedback: [{ ref: "b", text: "B is a trap." }],
      grade_comment: "",
      general_feedback: "Think of A.",
    };
    assert.deepEqual(
      questionLines(q).map((l) => [l.label, l.text]),
      [
        ["Your answer", "B"],
        ["Right answer", "A"],
        ["Marks", "-0.5 out of 2"],
        ["Feedback", "B is a trap."],
        ["About this question", "Think of A."],
      ],
    );
    assert.deepEqual(questionLines({ id: "q", number: 1, points: 1 }), []);
  });

  it("says a blank answer and a pending mark", () => {
    const lines = questionLines({ number: 1, points: 3, answer: null, answer_text: "", pending: true });
    assert.deepEqual(
      lines.map((l) => l.text),
      ["No answer", "Pending (out of 3)"],
    );
  });
});

describe("questionTitle", () => {
  it("numbers questions and calls a description information", () => {
    assert.equal(questionTitle({ number: 3 }), "Question 3");
    assert.equal(questionTitle({ number: 0 }), "Information");
  });
});
