// How the grading panel words things and checks the points typed in. Pure
// (unit-tested in tests/js/admin_grading_text.test.js).

import { formatScore, parseNumber } from "./format.js";

/** "120 words", "1 word", "230 words: over the limit of 200". */
export function wordsText(count, limit) {
  const words = `${count} ${count === 1 ? "word" : "words"}`;
  if (limit === null || limit === undefined) return words;
  return count > limit ? `${words}: over the limit of ${limit}` : `${words} (limit ${limit})`;
}

/** "From 0 to 5 points." */
export function pointsHint(item) {
  return `From ${formatScore(item.min_points)} to ${formatScore(item.max_points)} points.`;
}

/** The points typed in as a number, or the problem with them (`{ points }` or
 * `{ problem }`). */
export function readPoints(text, item) {
  const read = parseNumber(text);
  if (read.empty) return { problem: "Enter the points." };
  if (read.error) return { problem: read.error };
  const points = read.value;
  if (!Number.isFinite(points)) return { problem: "Enter a number, such as 3 or 2.5." };
  if (points < item.min_points || points > item.max_points) {
    return { problem: `Enter a number from ${formatScore(item.min_points)} to ${formatScore(item.max_points)}.` };
  }
  return { points };
}

/** "Answer 2 of 5: Ann Example, question e1" ("of 5 or more" when more pages follow). */
export function itemTitle(item, index, count, more) {
  const name = item.candidate_name || item.candidate_id;
  return `Answer ${index + 1} of ${count}${more ? " or more" : ""}: ${name}, question ${item.question_id}`;
}

/** What the status line says once a grade is saved. */
export function savedText(grade, name) {
  const r = grade.result;
  const score = `${formatScore(r.score)} of ${formatScore(r.max_score)}`;
  const left = r.pending
    ? `, pending: ${r.pending_questions} ${r.pending_questions === 1 ? "answer" : "answers"} still to grade`
    : "";
  return `Saved ${formatScore(grade.points)} points for ${name}. The attempt's score: ${score}${left}.`;
}
