// true_false: "True" or "False" (two radio buttons in a fieldset). Answer: a
// boolean.

import { choiceList, questionFieldset } from "./common.js";

const OPTIONS = [
  { value: "true", text: "True" },
  { value: "false", text: "False" },
];

export function render(q, value, onChange) {
  const current = typeof value === "boolean" ? String(value) : value;
  return questionFieldset(q, {}, choiceList(q, "radio", OPTIONS, (v) => v === current, onChange));
}

export function read(element) {
  const checked = element.querySelector("input:checked");
  return checked ? checked.value === "true" : null;
}

export function describe(q, value) {
  if (typeof value !== "boolean") return "";
  return value ? "True" : "False";
}
