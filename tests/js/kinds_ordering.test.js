import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { installFakeDom } from "./fakes.js";
import { VIEWS } from "./kinds_samples.js";
import {
  orderedItems,
  read,
  render,
} from "../../src/quizsession/entrypoints/web/static/kinds/ordering.js";

function ordering(value) {
  const doc = installFakeDom();
  const changes = [];
  const root = render(VIEWS.ordering, value, () => changes.push(read(root)));
  doc.body.append(root);
  const button = (text, direction) =>
    root.querySelector(`li[data-text="${text}"] [data-move=${direction}]`);
  const shownTexts = () => Array.from(root.querySelectorAll("li"), (li) => li.dataset.text);
  return { doc, root, changes, button, shownTexts };
}

describe("ordering", () => {
  it("orders items by a saved answer, unknown ids ignored, missing ones last", () => {
    const items = VIEWS.ordering.items;
    assert.deepEqual(
      orderedItems(items, ["two", "x", "one"]).map((i) => i.id),
      ["two", "one", "three", "four"],
    );
    assert.deepEqual(orderedItems(items, null), items);
  });

  it("is no answer in the order first shown, until a move or 'Keep this order'", () => {
    const { root, changes, shownTexts } = ordering(null);
    assert.deepEqual(shownTexts(), ["3", "1", "4", "2"]);
    assert.equal(read(root), null);
    const keep = Array.from(root.querySelectorAll("button")).find(
      (b) => b.textContent === "Keep this order",
    );
    keep.click();
    assert.deepEqual(read(root), ["three", "one", "four", "two"]);
    assert.deepEqual(changes, [["three", "one", "four", "two"]]);
    assert.equal(root.querySelector("[role=status]").textContent, "The order shown is your answer.");
  });

  it("moves an item, keeps the focus on its button and tells its position", () => {
    const { doc, root, changes, button, shownTexts } = ordering(null);
    const up = button("1", "up");
    assert.equal(up.textContent, "Move 1 up");
    up.focus();
    up.click();
    assert.deepEqual(shownTexts(), ["1", "3", "4", "2"]);
    assert.equal(doc.activeElement, up);
    const status = root.querySelector("[role=status]");
    assert.equal(status.textContent, "1 moved to position 1 of 4.");
    assert.deepEqual(changes, [["one", "three", "four", "two"]]);

    // First now: "up" is marked unavailable (not disabled: it keeps the focus).
    assert.equal(up.getAttribute("aria-disabled"), "true");
    assert.equal(up.disabled, false);
    up.click();
    assert.equal(status.textContent, "1 is already first.");
    assert.equal(changes.length, 1);

    const down = button("3", "down");
    down.click();
    down.click();
    assert.deepEqual(shownTexts(), ["1", "4", "2", "3"]);
    assert.equal(status.textContent, "3 moved to position 4 of 4.");
    assert.equal(down.getAttribute("aria-disabled"), "true");
    assert.equal(button("2", "down").getAttribute("aria-disabled"), null);
    down.click();
    assert.equal(status.textContent, "3 is already last.");
    assert.deepEqual(read(root), ["one", "four", "two", "three"]);
  });

  it("shows a saved order as the answer", () => {
    const { root, shownTexts } = ordering(["one", "two", "three", "four"]);
    assert.deepEqual(shownTexts(), ["1", "2", "3", "4"]);
    assert.deepEqual(read(root), ["one", "two", "three", "four"]);
  });
});
