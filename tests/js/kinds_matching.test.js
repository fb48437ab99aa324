import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { choose, installFakeDom } from "./fakes.js";
import { VIEWS } from "./kinds_samples.js";
import { read, render } from "../../src/quizsession/entrypoints/web/static/kinds/matching.js";

function matching(value) {
  installFakeDom();
  const changes = [];
  const root = render(VIEWS.matching, value, () => changes.push(1));
  const select = (id) => root.querySelector(`select[data-item=${id}]`);
  return { root, changes, select };
}

describe("matching", () => {
  it("has one labelled select per item, 'Choose...' first, then the options", () => {
    const { root, select } = matching(null);
    for (const item of VIEWS.matching.items) {
      const field = select(item.id);
      assert.equal(root.querySelector(`label[for=${field.id}]`).textContent, item.text);
      const options = Array.from(field.options, (o) => [o.value, o.textContent]);
      assert.deepEqual(options[0], ["", "Choose..."]);
      assert.deepEqual(
        options.slice(1).map(([v]) => v),
        VIEWS.matching.options,
      );
      assert.equal(field.value, "");
    }
    assert.equal(read(root), null);
  });

  it("answers chosen items only", () => {
    const { root, changes, select } = matching({ de: "Berlin" });
    assert.equal(select("de").value, "Berlin");
    choose(select("fr"), "Madrid");
    assert.deepEqual(read(root), { de: "Berlin", fr: "Madrid" });
    choose(select("de"), "");
    assert.deepEqual(read(root), { fr: "Madrid" });
    choose(select("fr"), "");
    assert.equal(read(root), null);
    assert.equal(changes.length, 3);
  });
});
