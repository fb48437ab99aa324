// ordering: a numbered list of items put in order with a "Move up" and a "Move
// down" button per item (named "Move <item> up"; keyboard and pointer alike, no
// dragging needed). After a move the focus stays on the moved item's button and
// a status region tells its new position. The order first shown (the server
// shuffled it) is no answer until the candidate moves an item or presses "Keep
// this order". Answer: every item id, in the order shown.

import { el } from "../api.js";
import { choiceText, controlName, questionFieldset } from "./common.js";

/** The answer is a list whose order matters (see sameAnswer). */
export const ordered = true;

/** The items in the order of `value` (ids it lacks keep their place after it). */
export function orderedItems(items, value) {
  if (!Array.isArray(value)) return [...items];
  const byId = new Map(items.map((item) => [item.id, item]));
  const first = value.filter((id) => byId.has(id)).map((id) => byId.get(id));
  return [...first, ...items.filter((item) => !value.includes(item.id))];
}

export function render(q, value, onChange) {
  const name = controlName(q);
  const hint = `${name}-hint`;
  const items = orderedItems(q.items || [], value);
  const touched = Array.isArray(value) && value.length > 0;
  const list = el("ol", { class: "order-list" });
  const status = el("p", { class: "order-status", role: "status", "aria-live": "polite" });
  const root = questionFieldset(
    q,
    { "aria-describedby": hint, "data-touched": touched ? "true" : undefined },
    el("p", {
      class: "hint",
      id: hint,
      text: "Put the items in order with the Move up and Move down buttons. The order shown becomes your answer once you move an item or press “Keep this order”.",
    }),
    list,
    el("button", {
      type: "button",
      class: "button small order-keep",
      text: "Keep this order",
      onclick: () => {
        root.dataset.touched = "true";
        status.textContent = "The order shown is your answer.";
        onChange();
      },
    }),
    status,
  );
  const move = (row, step, button) => {
    const rows = Array.from(list.children);
    const at = rows.indexOf(row);
    const to = at + step;
    const text = row.dataset.text;
    if (to < 0 || to >= rows.length) {
      status.textContent = `${text} is already ${step < 0 ? "first" : "last"}.`;
      return;
    }
    list.insertBefore(row, step < 0 ? rows[to] : rows[to].nextElementSibling);
    refreshButtons(list);
    button.focus();
    root.dataset.touched = "true";
    status.textContent = `${text} moved to position ${to + 1} of ${rows.length}.`;
    onChange();
  };
  for (const item of items) {
    const row = el("li", { class: "order-item", "data-item": item.id, "data-text": item.text });
    const up = moveButton(item.text, "up");
    const down = moveButton(item.text, "down");
    up.addEventListener("click", () => move(row, -1, up));
    down.addEventListener("click", () => move(row, 1, down));
    row.append(
      el("span", { class: "order-text", text: item.text }),
      el("span", { class: "order-buttons" }, up, down),
    );
    list.append(row);
  }
  refreshButtons(list);
  return root;
}

function moveButton(text, direction) {
  return el(
    "button",
    { type: "button", class: "button small order-move", "data-move": direction },
    "Move ",
    el("span", { class: "visually-hidden", text: `${text} ` }),
    direction,
  );
}

/** The first item cannot go up, the last not down: told, not hidden (a
 * disabled button would lose the focus after a move). */
function refreshButtons(list) {
  const rows = Array.from(list.children);
  rows.forEach((row, i) => {
    const up = row.querySelector("[data-move=up]");
    const down = row.querySelector("[data-move=down]");
    if (i === 0) up.setAttribute("aria-disabled", "true");
    else up.removeAttribute("aria-disabled");
    if (i === rows.length - 1) down.setAttribute("aria-disabled", "true");
    else down.removeAttribute("aria-disabled");
  });
}

export function read(element) {
  if (element.dataset.touched !== "true") return null;
  return Array.from(element.querySelectorAll("li[data-item]"), (row) => row.dataset.item);
}

export function describe(q, value) {
  if (!Array.isArray(value) || !value.length) return "";
  return value.map((id) => choiceText(q.items, id)).join(", ");
}
