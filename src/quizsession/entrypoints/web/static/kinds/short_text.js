// short_text: a few words typed in a text field. Answer: the text as typed
// (blank when only white space).

import { textFieldQuestion } from "./common.js";

export const typed = true;

export function render(q, value, onChange) {
  return textFieldQuestion(q, value, onChange, {
    hint: "Type your answer.",
    input: { maxlength: 2000, spellcheck: "false" },
  });
}

export function read(element) {
  const value = element.querySelector("input").value;
  return value.trim() === "" ? null : value;
}

export function describe(q, value) {
  return typeof value === "string" ? value : "";
}
