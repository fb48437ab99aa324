import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { installFakeDom, typeInto } from "./fakes.js";
import { VIEWS } from "./kinds_samples.js";
import {
  countWords,
  overLimitText,
  read,
  render,
  wordCountText,
} from "../../src/quizsession/entrypoints/web/static/kinds/essay.js";

function essay(value, q = VIEWS.essay) {
  installFakeDom();
  const changes = [];
  const root = render(q, value, () => changes.push(1));
  return { root, field: root.querySelector("textarea"), changes };
}

describe("essay", () => {
  it("counts words", () => {
    assert.equal(countWords(""), 0);
    assert.equal(countWords("   \n "), 0);
    assert.equal(countWords("one"), 1);
    assert.equal(countWords(" one  two\nthree\tfour "), 4);
    assert.equal(wordCountText(120, 250), "120 of 250 words");
    assert.equal(wordCountText(1, null), "1 word");
    assert.equal(wordCountText(7, null), "7 words");
    assert.equal(overLimitText(250, 250), "");
    assert.match(overLimitText(251, 250), /^Over the word limit by 1 word \(251 of 250\)/);
  });

  it("is a labelled textarea pre-filled with the template when empty", () => {
    const { root, field } = essay(null);
    assert.equal(field.value, "The sky is blue because");
    assert.equal(root.querySelector(`label[for=${field.id}]`).textContent, VIEWS.essay.text);
    assert.equal(read(root), null, "the template left as it is is no answer");
    assert.equal(essay("").field.value, "The sky is blue because");
    assert.equal(essay("Mine.").field.value, "Mine.");
  });

  it("keeps line breaks and reads white space only as blank", () => {
    const { root, field } = essay(null, { ...VIEWS.essay, response_template: "" });
    assert.equal(field.value, "");
    typeInto(field, "First line.\n\nSecond line.");
    assert.equal(read(root), "First line.\n\nSecond line.");
    typeInto(field, "  \n ");
    assert.equal(read(root), null);
  });

  it("shows a live count and a written warning over the limit", () => {
    const { root, field, changes } = essay("one two");
    const count = root.querySelector(".word-count");
    const warning = root.querySelector(".word-warning");
    const announce = root.querySelector("[role=status]");
    assert.equal(count.textContent, "2 of 5 words");
    assert.equal(warning.hidden, true);
    assert.equal(count.getAttribute("aria-live"), null, "the count is not read on every key");
    assert.ok(field.getAttribute("aria-describedby").split(" ").includes(count.id));

    typeInto(field, "one two three four");
    assert.equal(count.textContent, "4 of 5 words");
    assert.equal(announce.textContent, "", "nothing announced within the limit");
    typeInto(field, "one two three four five six");
    assert.equal(count.textContent, "6 of 5 words");
    assert.equal(warning.hidden, false);
    assert.match(warning.textContent, /Over the word limit by 1 word/);
    assert.equal(announce.textContent, "Over the word limit: 6 of 5 words.");
    typeInto(field, "one two three four five six seven");
    assert.equal(announce.textContent, "Over the word limit: 6 of 5 words.", "told once");
    typeInto(field, "one two");
    assert.equal(warning.hidden, true);
    assert.equal(announce.textContent, "Within the word limit again: 2 of 5 words.");
    assert.equal(changes.length, 4, "every edit is an answer change");
    assert.equal(read(root), "one two", "an answer over the limit is still read");
  });

  it("counts without a limit", () => {
    const { root } = essay("a b c", { ...VIEWS.essay, word_limit: null });
    assert.equal(root.querySelector(".word-count").textContent, "3 words");
  });
});
