// matching: each item (q.items) gets one of the options (q.options) from a
// select labelled with the item's text. Answer: {item id: option}; items left
// on "Choose..." are unanswered (none chosen: blank).

import { el } from "../api.js";
import { choiceText, controlName, questionFieldset } from "./common.js";

export const CHOOSE = "Choose...";

export function render(q, value, onChange) {
  const name = controlName(q);
  const chosen = value && typeof value === "object" && !Array.isArray(value) ? value : {};
  const options = q.options || [];
  return questionFieldset(
    q,
    {},
    el(
      "div",
      { class: "match-rows" },
      ...(q.items || []).map((item, i) => {
        const id = `${name}-${i}`;
        const current = typeof chosen[item.id] === "string" ? chosen[item.id] : "";
        return el(
          "div",
          { class: "match-row" },
          el("label", { class: "match-item", for: id, text: item.text }),
          el(
            "select",
            { id, name: id, "data-item": item.id, onchange: onChange },
            el("option", { value: "", text: CHOOSE, selected: current === "" }),
            ...options.map((option) =>
              el("option", { value: option, text: option, selected: option === current }),
            ),
          ),
        );
      }),
    ),
  );
}

export function read(element) {
  const answer = {};
  for (const select of element.querySelectorAll("select[data-item]")) {
    if (select.value !== "") answer[select.dataset.item] = select.value;
  }
  return Object.keys(answer).length ? answer : null;
}

export function describe(q, value) {
  if (!value || typeof value !== "object") return "";
  return (q.items || [])
    .filter((item) => typeof value[item.id] === "string")
    .map((item) => `${choiceText(q.items, item.id)} → ${value[item.id]}`)
    .join("; ");
}
