// multiple: any number of choices (checkboxes in a fieldset). Answer: the list
// of the chosen ids; unticking every box saves an empty list (a blank on
// purpose: "none of these" is a possible answer).

import { el } from "../api.js";
import { choiceList, choiceText, controlName, questionFieldset } from "./common.js";

export function render(q, value, onChange) {
  const chosen = Array.isArray(value) ? value : [];
  const hint = `${controlName(q)}-hint`;
  const options = q.choices.map((c) => ({ value: c.id, text: c.text }));
  return questionFieldset(
    q,
    { "aria-describedby": hint },
    el("p", { class: "hint", id: hint, text: "Select all that apply." }),
    choiceList(q, "checkbox", options, (v) => chosen.includes(v), onChange),
  );
}

export function read(element) {
  const chosen = Array.from(element.querySelectorAll("input:checked"), (i) => i.value);
  return chosen.length ? chosen : null;
}

/** No box ticked is an answer too (an empty list), unlike an empty text field. */
export function blankAnswer() {
  return [];
}

export function describe(q, value) {
  if (!Array.isArray(value)) return "";
  return value.map((id) => choiceText(q.choices, id)).join(", ");
}
