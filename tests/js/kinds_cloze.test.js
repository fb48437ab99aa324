import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { choose, installFakeDom, typeInto } from "./fakes.js";
import { VIEWS } from "./kinds_samples.js";
import {
  problem,
  read,
  render,
  splitCloze,
} from "../../src/quizsession/entrypoints/web/static/kinds/cloze.js";

function cloze(value, q = VIEWS.cloze) {
  installFakeDom();
  const changes = [];
  const root = render(q, value, () => changes.push(1));
  const gap = (id) => root.querySelector(`[data-gap=${id}]`);
  return { root, changes, gap };
}

describe("cloze", () => {
  it("splits the text at its gap markers", () => {
    assert.deepEqual(splitCloze("a {{x}} b {{ y }}"), ["a ", { gap: "x" }, " b ", { gap: "y" }]);
    assert.deepEqual(splitCloze("{{x}}"), [{ gap: "x" }]);
    assert.deepEqual(splitCloze("no gaps"), ["no gaps"]);
  });

  it("puts a labelled control in each gap, in the text's order", () => {
    const { root, gap } = cloze(null);
    assert.equal(gap("country").tagName, "SELECT");
    assert.equal(gap("country").options[0].textContent, "Choose...");
    assert.equal(gap("product").getAttribute("inputmode"), "decimal");
    assert.equal(gap("colour").getAttribute("type"), "text");
    const labels = ["country", "product", "colour"].map(
      (id) => root.querySelector(`label[for=${gap(id).id}]`).textContent,
    );
    assert.deepEqual(labels, ["Gap 1 of 3", "Gap 2 of 3", "Gap 3 of 3"]);
    const text = root.querySelector(".cloze-text").textContent;
    assert.match(text, /^The capital of Gap 1 of 3.*is Paris; 6 x 7 = Gap 2 of 3/);
  });

  it("reads filled gaps only, a decimal comma as a number", () => {
    const { root, changes, gap } = cloze(null);
    assert.equal(read(root), null);
    typeInto(gap("product"), "42,5");
    assert.deepEqual(read(root), { product: 42.5 });
    choose(gap("country"), "es");
    typeInto(gap("colour"), "   ");
    assert.deepEqual(read(root), { country: "es", product: 42.5 });
    typeInto(gap("colour"), "Blue");
    assert.deepEqual(read(root), { country: "es", product: 42.5, colour: "Blue" });
    assert.ok(changes.length >= 4);
    choose(gap("country"), "");
    assert.deepEqual(read(root), { product: 42.5, colour: "Blue" });
  });

  it("tells which numeric gap cannot be read, and leaves it out", () => {
    const { root, gap } = cloze({ country: "fr" });
    typeInto(gap("product"), "1,234");
    assert.match(problem(root), /^Gap 2 of 3: “1,234” could mean/);
    assert.equal(gap("product").getAttribute("aria-invalid"), "true");
    assert.deepEqual(read(root), { country: "fr" });
    typeInto(gap("product"), "1234");
    assert.equal(problem(root), "");
    assert.equal(gap("product").getAttribute("aria-invalid"), null);
  });
});
