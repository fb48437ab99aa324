// Question rendering for the candidate's page: the control of each kind comes
// from its renderer module (kinds/<kind>.js, registered in kinds/index.js);
// this module asks the registry and adds what every kind shares: the marks
// line, reading the answer back, why a typed value cannot be read, and turning
// the controls off and on.

import { formatScore } from "./format.js";
import { kindOf } from "./kinds/index.js";

/** "2 marks · a wrong answer costs 0.5" */
export function marksText(q) {
  if (!isAnswerable(q)) return "";
  if (q.section === "practice") return "Practice question – not scored";
  const pts = `${formatScore(q.points)} mark${q.points === 1 ? "" : "s"}`;
  return q.penalty > 0 ? `${pts} · a wrong answer costs ${formatScore(q.penalty)}` : pts;
}

/** The control for question `q` showing `value`; `onChange` runs on every edit. */
export function answerControl(q, value, onChange) {
  return kindOf(q).render(q, value, onChange);
}

/** The rendered control of the question in `body` (its root carries data-kind). */
function controlIn(body) {
  return body.querySelector("[data-kind]");
}

/** The answer on screen, or undefined when nothing is given yet. */
export function readAnswer(q, body) {
  if (!q) return undefined;
  const control = controlIn(body);
  if (!control) return undefined;
  const kind = kindOf(q);
  const value = kind.read(control);
  if (value !== null) return value;
  return kind.blankAnswer ? kind.blankAnswer() : undefined;
}

/** Why what is typed in `body` cannot be read ("" when it can, or when nothing
 * is typed); marks the fields concerned invalid for assistive technology. */
export function answerProblem(q, body) {
  const kind = q ? kindOf(q) : null;
  const control = controlIn(body);
  if (!kind || !kind.problem || !control) return "";
  return kind.problem(control);
}

/** What to say when "Next" is pressed with nothing answered. */
export function blankMessage(q) {
  return kindOf(q).blankMessage || "Answer this question to continue.";
}

/** False for information only (a description): no answer, no number. */
export function isAnswerable(q) {
  return kindOf(q).answerable !== false;
}

/** True when the answer is typed (saved after a pause, not at once). */
export function isTyped(q) {
  return kindOf(q).typed === true;
}

/** True when the answer is a list whose order is the answer (ordering). */
export function isOrdered(q) {
  return kindOf(q).ordered === true;
}

/** The answer `value` to question `q` in words ("" when blank), for summaries
 * and reviews. */
export function describeAnswer(q, value) {
  if (value === null || value === undefined) return "";
  return kindOf(q).describe(q, value);
}

/** The question's text as a review or summary shows it (a cloze's gap markers
 * become "[gap n]"); the kind decides, the text as written by default. */
export function reviewText(q) {
  const kind = kindOf(q);
  return typeof kind.reviewText === "function" ? kind.reviewText(q) : q.text;
}

export function setInputsDisabled(body, disabled) {
  for (const input of body.querySelectorAll("input, select, textarea, button")) {
    input.disabled = disabled;
  }
}
