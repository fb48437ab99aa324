// The five first kinds keep their controls: radio buttons, checkboxes, text
// fields (a decimal comma understood in numbers).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { installFakeDom, typeInto } from "./fakes.js";
import { VIEWS } from "./kinds_samples.js";
import {
  answerControl,
  answerProblem,
  blankMessage,
  readAnswer,
} from "../../src/quizsession/entrypoints/web/static/questions.js";

function page(q, value) {
  const doc = installFakeDom();
  const body = doc.createElement("div");
  const changes = [];
  body.append(answerControl(q, value, () => changes.push(1)));
  return { body, changes };
}

describe("the first five kinds", () => {
  it("single and true/false: radio buttons in a fieldset with the question as legend", () => {
    for (const [name, pick, expected] of [
      ["single", "c", "c"],
      ["true_false", "true", true],
    ]) {
      const { body, changes } = page(VIEWS[name], null);
      const fieldset = body.querySelector("fieldset");
      assert.equal(fieldset.querySelector("legend").textContent, VIEWS[name].text);
      assert.equal(readAnswer(VIEWS[name], body), undefined);
      body.querySelector(`input[value=${pick}]`).click();
      assert.equal(readAnswer(VIEWS[name], body), expected, name);
      assert.equal(changes.length, 1);
    }
    const { body } = page(VIEWS.true_false, false);
    assert.equal(body.querySelector("input:checked").value, "false");
  });

  it("multiple: checkboxes, every box unticked is an empty list", () => {
    const q = VIEWS.multiple;
    const { body } = page(q, ["c"]);
    assert.match(body.querySelector(".hint").textContent, /Select all that apply/);
    assert.deepEqual(readAnswer(q, body), ["c"]);
    body.querySelector("input[value=a]").click();
    assert.deepEqual(readAnswer(q, body), ["a", "c"]);
    body.querySelector("input[value=a]").click();
    body.querySelector("input[value=c]").click();
    assert.deepEqual(readAnswer(q, body), []);
  });

  it("short text: blank when only spaces", () => {
    const q = VIEWS.short_text;
    const { body } = page(q, "Lyon");
    const input = body.querySelector("input");
    assert.equal(input.value, "Lyon");
    assert.equal(body.querySelector(`label[for=${input.id}]`).textContent, q.text);
    typeInto(input, "  ");
    assert.equal(readAnswer(q, body), undefined);
    assert.equal(blankMessage(q), "Answer this question to continue.");
  });

  it("numeric: a decimal comma is a number, an ambiguous one is told", () => {
    const q = VIEWS.numeric;
    const { body } = page(q, null);
    const input = body.querySelector("input");
    assert.equal(input.getAttribute("inputmode"), "decimal");
    typeInto(input, "3,14");
    assert.equal(readAnswer(q, body), 3.14);
    assert.equal(answerProblem(q, body), "");
    typeInto(input, "1,234");
    assert.equal(readAnswer(q, body), undefined);
    assert.match(answerProblem(q, body), /could mean/);
    assert.equal(input.getAttribute("aria-invalid"), "true");
    assert.equal(blankMessage(q), "Enter a number to continue.");
    assert.equal(answerProblem(VIEWS.short_text, page(VIEWS.short_text, "x").body), "");
  });
});
