// What the candidate is told about answers, as text: the instructions'
// paragraphs, the practice round's feedback, and the review of a submitted
// test. Pure functions: no DOM, no clock (unit-tested in
// tests/js/review_format.test.js).

import { formatScore } from "./format.js";

/** The paragraphs of an AttemptView's instructions: the quiz's and the
 * section's text (blank lines separate paragraphs), then the warning about
 * negative marks when there is one. */
export function instructionParagraphs(view) {
  const text = (view && view.instructions) || "";
  const paragraphs = text
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, " ").trim())
    .filter(Boolean);
  const warning = view && view.penalty_warning ? view.penalty_warning.trim() : "";
  return { paragraphs, warning };
}

/** The practice check's verdict: `{kind, title, sentence}` where kind is
 * "right", "partly", "wrong", "blank" or "manual"; the status region says the
 * title, then the sentence. */
export function checkVerdict(feedback) {
  const right = feedback.right_answer ? `The right answer is: ${feedback.right_answer}.` : "";
  if (!feedback.answered) {
    return {
      kind: "blank",
      title: "No answer yet",
      sentence: `You have not answered this question. ${right}`.trim(),
    };
  }
  if (feedback.grading !== "auto") {
    return {
      kind: "manual",
      title: "Marked by hand",
      sentence: "In the test, an answer like this is marked by a person.",
    };
  }
  if (feedback.correct) {
    return { kind: "right", title: "Right", sentence: "Your answer is correct." };
  }
  if (feedback.fraction > 0) {
    const pct = Math.round(feedback.fraction * 100);
    return {
      kind: "partly",
      title: "Partly right",
      sentence: `Your answer would earn ${pct} % of the marks. ${right}`.trim(),
    };
  }
  return { kind: "wrong", title: "Not right", sentence: right || "This answer would earn no marks." };
}

/** The review's score line: `{visual, spoken}` ("7.5 / 13" and "Score: 7.5 out
 * of 13"), "pending" while a grader has not finished, or null when the policy
 * does not show the score. */
export function reviewScore(review) {
  if (!review.available.includes("score")) return null;
  const max = formatScore(review.max_score);
  if (review.pending || review.score === undefined) {
    return {
      visual: `Pending / ${max}`,
      spoken: `Score: pending, out of ${max}. Some answers are still being marked.`,
      pending: true,
    };
  }
  const score = formatScore(review.score);
  return { visual: `${score} / ${max}`, spoken: `Score: ${score} out of ${max}`, pending: false };
}

/** The quiz's overall feedback for the candidate's grade: `{text, pending}`
 * (the band's text, line breaks kept; or, while answers are still being
 * marked, a sentence saying it comes with the final score), or null when the
 * review shows none (the policy does not show it now, or no band reaches the
 * candidate's grade). */
export function overallFeedback(review) {
  if (!review.available.includes("overall_feedback")) return null;
  if (review.pending) {
    return {
      text: "Pending: it is shown with your final score, once every answer has been marked.",
      pending: true,
    };
  }
  const text = typeof review.overall_feedback === "string" ? review.overall_feedback.trim() : "";
  return text ? { text, pending: false } : null;
}

/** The sentence that says what the review shows now and when more comes
 * (`formatTime` turns epoch seconds into local text). */
export function reviewNote(review, formatTime) {
  const later = review.next_at !== null && review.next_at !== undefined;
  // What is shown per question (the score and the overall feedback are not).
  const shown = review.available.filter((item) => item !== "score" && item !== "overall_feedback");
  const parts = [];
  if (!review.available.length) {
    parts.push(later ? "Your results are not shown yet." : "The results of this quiz are not shown.");
  } else if (!shown.length && later) {
    parts.push("Your answers are not shown yet.");
  }
  if (later) {
    parts.push(`More of your review is shown from ${formatTime(review.next_at)}.`);
  }
  return parts.join(" ");
}

/** One reviewed question as labelled lines: `[{label, text, kind}]`, in the
 * order shown; only what the review includes. */
export function questionLines(q) {
  const lines = [];
  if (q.answer !== undefined) {
    lines.push({ label: "Your answer", text: q.answer_text || "No answer", kind: "answer" });
  }
  if (q.right_answer !== undefined) {
    lines.push({ label: "Right answer", text: q.right_answer, kind: "right" });
  }
  if (q.pending) {
    lines.push({ label: "Marks", text: `Pending (out of ${formatScore(q.points)})`, kind: "score" });
  } else if (q.score !== undefined) {
    lines.push({
      label: "Marks",
      text: `${formatScore(q.score)} out of ${formatScore(q.points)}`,
      kind: "score",
    });
  }
  for (const f of q.feedback || []) lines.push({ label: "Feedback", text: f.text, kind: "feedback" });
  if (q.grade_comment) lines.push({ label: "Marker's comment", text: q.grade_comment, kind: "comment" });
  if (q.general_feedback) {
    lines.push({ label: "About this question", text: q.general_feedback, kind: "general" });
  }
  return lines;
}

/** "Question 3" or "Information" (a description). */
export function questionTitle(q) {
  return q.number > 0 ? `Question ${q.number}` : "Information";
}
