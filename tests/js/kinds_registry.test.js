import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { installFakeDom } from "./fakes.js";
import { ANSWERS, VIEWS } from "./kinds_samples.js";
import { KINDS, kindOf } from "../../src/quizsession/entrypoints/web/static/kinds/index.js";
import {
  answerControl,
  describeAnswer,
  reviewText,
  isAnswerable,
  isTyped,
  marksText,
  readAnswer,
  setInputsDisabled,
} from "../../src/quizsession/entrypoints/web/static/questions.js";
import { SAVE_QUIET_MS, saveDelay } from "../../src/quizsession/entrypoints/web/static/save_policy.js";

const STATIC = new URL("../../src/quizsession/entrypoints/web/static/", import.meta.url);
const NAMES = [
  "single",
  "multiple",
  "true_false",
  "short_text",
  "numeric",
  "essay",
  "matching",
  "ordering",
  "cloze",
  "description",
];

function shown(q, value) {
  const doc = installFakeDom();
  const body = doc.createElement("div");
  body.append(answerControl(q, value, () => {}));
  doc.body.append(body);
  return body;
}

describe("the registry of question kinds", () => {
  it("has one module per kind, each with the same interface", () => {
    assert.deepEqual(Object.keys(KINDS).sort(), [...NAMES].sort());
    const files = readdirSync(new URL("kinds/", STATIC)).filter((f) => f.endsWith(".js"));
    for (const name of NAMES) {
      assert.ok(files.includes(`${name}.js`), name);
      for (const fn of ["render", "read", "describe"]) {
        assert.equal(typeof KINDS[name][fn], "function", `${name}.${fn}`);
      }
    }
  });

  it("round-trips an answer of every kind through its control", () => {
    for (const [name, value] of Object.entries(ANSWERS)) {
      const q = VIEWS[name];
      const body = shown(q, value);
      const control = body.querySelector("[data-kind]");
      assert.equal(control.dataset.kind, name);
      assert.deepEqual(kindOf(q).read(control), value, name);
      assert.deepEqual(readAnswer(q, body), value, name);
    }
  });

  it("reads a blank control as null (and no answer on the page)", () => {
    for (const name of NAMES) {
      const q = VIEWS[name];
      const body = shown(q, null);
      assert.equal(kindOf(q).read(body.querySelector("[data-kind]")), null, name);
      const expected = name === "multiple" ? [] : undefined; // no box ticked is an answer
      assert.deepEqual(readAnswer(q, body), expected, name);
    }
  });

  it("labels every control", () => {
    for (const name of NAMES) {
      const body = shown(VIEWS[name], ANSWERS[name] ?? null);
      for (const field of body.querySelectorAll("input, select, textarea")) {
        const label = body.querySelector(`label[for=${field.id}]`);
        assert.ok(label && label.textContent.trim(), `${name}: ${field.id} has no label`);
      }
      for (const button of body.querySelectorAll("button")) {
        assert.ok(button.textContent.trim(), `${name}: a button has no name`);
        assert.equal(button.getAttribute("type"), "button", `${name}: a button would submit`);
      }
    }
  });

  it("shows the question's images with their alt text on every kind", () => {
    const images = [
      { url: "https://example.org/a.png", alt: "A graph" },
      { url: "data:image/png;base64,iVBORw0KGgo=", alt: "" },
    ];
    for (const name of NAMES) {
      const body = shown({ ...VIEWS[name], images }, null);
      const imgs = Array.from(body.querySelectorAll("img"));
      assert.deepEqual(
        imgs.map((img) => [img.getAttribute("src"), img.getAttribute("alt")]),
        images.map((i) => [i.url, i.alt]),
        name,
      );
    }
  });

  it("describes answers in words", () => {
    const words = {
      single: "4",
      multiple: "2, 3",
      true_false: "False",
      short_text: "Paris",
      numeric: "3.14",
      essay: "Rayleigh scattering. Short waves scatter more. (6 words)",
      matching: "France → Paris; Italy → Rome",
      ordering: "1, 2, 3, 4",
      cloze: "gap 1: France; gap 2: 42; gap 3: blue",
    };
    for (const [name, text] of Object.entries(words)) {
      assert.equal(describeAnswer(VIEWS[name], ANSWERS[name]), text, name);
      assert.equal(describeAnswer(VIEWS[name], null), "", name);
    }
  });

  it("saves typing after a pause and choices at once, as the registry says", () => {
    const typed = new Set(["short_text", "numeric", "essay", "cloze"]);
    for (const name of NAMES) {
      assert.equal(saveDelay(isTyped(VIEWS[name])), typed.has(name) ? SAVE_QUIET_MS : 0, name);
    }
  });

  it("treats a description as information: no answer, no marks", () => {
    assert.equal(isAnswerable(VIEWS.description), false);
    assert.equal(marksText(VIEWS.description), "");
    for (const name of NAMES.filter((n) => n !== "description")) {
      assert.equal(isAnswerable(VIEWS[name]), true, name);
    }
  });

  it("turns every control off and on", () => {
    for (const name of NAMES) {
      const body = shown(VIEWS[name], null);
      setInputsDisabled(body, true);
      for (const field of body.querySelectorAll("input, select, textarea, button")) {
        assert.equal(field.disabled, true, name);
      }
      setInputsDisabled(body, false);
      assert.equal(body.querySelectorAll("[disabled]").length, 0, name);
    }
  });

  it("an unknown kind gets a notice, not a crash", () => {
    const body = shown({ ...VIEWS.single, kind: "hotspot" }, null);
    assert.match(body.textContent, /Unsupported question kind: hotspot/);
    assert.equal(readAnswer({ ...VIEWS.single, kind: "hotspot" }, body), undefined);
  });

  it("leaves no switch on the question kind in the page's modules", () => {
    const files = readdirSync(STATIC, { recursive: true }).filter((f) => String(f).endsWith(".js"));
    for (const file of files) {
      const text = readFileSync(new URL(String(file), STATIC), "utf8");
      assert.doesNotMatch(text, /switch\s*\(\s*\w+\.kind\s*\)/, String(file));
    }
  });
});

it("a review shows a cloze's markers as numbered gaps, other texts as written", () => {
  const cloze = {
    kind: "cloze",
    text: "The capital of {{country}} is Paris; 6 x 7 = {{product}}.",
    gaps: [
      { id: "product", kind: "numeric" },
      { id: "country", kind: "choice", choices: [] },
    ],
  };
  assert.equal(reviewText(cloze), "The capital of [gap 1] is Paris; 6 x 7 = [gap 2].");
  assert.equal(reviewText({ kind: "short_text", text: "Say {{x}}" }), "Say {{x}}");
});
