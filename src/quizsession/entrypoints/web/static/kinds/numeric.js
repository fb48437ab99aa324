// numeric: a number typed in a text field. A decimal comma is understood ("3,14"
// is 3.14); what cannot be read as one number without guessing is told, not
// saved (see parseNumber). Answer: the number.

import { parseNumber } from "../format.js";
import { textFieldQuestion } from "./common.js";

export const typed = true;

export const blankMessage = "Enter a number to continue.";

export function render(q, value, onChange) {
  return textFieldQuestion(q, value, onChange, {
    hint: "Enter a number, for example 42 or 3.14 (a decimal comma works too).",
    input: { inputmode: "decimal" },
  });
}

export function read(element) {
  const parsed = parseNumber(element.querySelector("input").value);
  return parsed.value === undefined ? null : parsed.value;
}

/** Why the number typed cannot be read ("" when it can, or when nothing is
 * typed); marks the field invalid for assistive technology. */
export function problem(element) {
  return numberProblem(element.querySelector("input"));
}

/** The problem of the number in one text `input` (also used by cloze gaps). */
export function numberProblem(input) {
  if (!input) return "";
  const problemText = parseNumber(input.value).error || "";
  if (problemText) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
  return problemText;
}

export function describe(q, value) {
  return typeof value === "number" ? String(value) : "";
}
