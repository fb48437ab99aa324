// single: one choice among several (radio buttons in a fieldset). Answer: the
// choice id.

import { choiceList, choiceText, questionFieldset } from "./common.js";

export function render(q, value, onChange) {
  const options = q.choices.map((c) => ({ value: c.id, text: c.text }));
  return questionFieldset(q, {}, choiceList(q, "radio", options, (v) => v === value, onChange));
}

export function read(element) {
  const checked = element.querySelector("input:checked");
  return checked ? checked.value : null;
}

export function describe(q, value) {
  return typeof value === "string" && value !== "" ? choiceText(q.choices, value) : "";
}
