// Question rendering for the candidate's page: one control per kind, each with
// its label (fieldset + legend for choices), and reading the answer back.
//
// single: radio buttons; multiple: checkboxes; true_false: two radio buttons;
// short_text: a text field; numeric: a text field for a number (a decimal comma
// is understood: "3,14" is 3.14; see parseNumber).

import { el } from "./api.js";
import { formatScore, parseNumber } from "./format.js";

/** "2 marks · a wrong answer costs 0.5" */
export function marksText(q) {
  if (q.section === "practice") return "Practice question – not scored";
  const pts = `${formatScore(q.points)} mark${q.points === 1 ? "" : "s"}`;
  return q.penalty > 0 ? `${pts} · a wrong answer costs ${formatScore(q.penalty)}` : pts;
}

/** The control for question `q` showing `value`; `onChange` runs on every edit. */
export function answerControl(q, value, onChange) {
  const name = `answer-${q.id}`;
  switch (q.kind) {
    case "single":
    case "true_false": {
      const options =
        q.kind === "single"
          ? q.choices.map((c) => ({ value: c.id, text: c.text }))
          : [
              { value: "true", text: "True" },
              { value: "false", text: "False" },
            ];
      const current = q.kind === "true_false" && typeof value === "boolean" ? String(value) : value;
      return el(
        "fieldset",
        { class: "answer", "data-kind": q.kind },
        el("legend", { class: "q-text", text: q.text }),
        el(
          "div",
          { class: "choices" },
          ...options.map((o, i) => {
            const id = `${name}-${i}`;
            return el(
              "label",
              { class: "choice", for: id },
              el("input", {
                type: "radio",
                id,
                name,
                value: o.value,
                checked: current === o.value,
                onchange: onChange,
              }),
              el("span", { text: o.text }),
            );
          }),
        ),
      );
    }
    case "multiple": {
      const chosen = Array.isArray(value) ? value : [];
      const hint = `${name}-hint`;
      return el(
        "fieldset",
        { class: "answer", "data-kind": q.kind, "aria-describedby": hint },
        el("legend", { class: "q-text", text: q.text }),
        el("p", { class: "hint", id: hint, text: "Select all that apply." }),
        el(
          "div",
          { class: "choices" },
          ...q.choices.map((c, i) => {
            const id = `${name}-${i}`;
            return el(
              "label",
              { class: "choice", for: id },
              el("input", {
                type: "checkbox",
                id,
                name,
                value: c.id,
                checked: chosen.includes(c.id),
                onchange: onChange,
              }),
              el("span", { text: c.text }),
            );
          }),
        ),
      );
    }
    case "short_text":
    case "numeric": {
      const id = `${name}-input`;
      const hint = `${name}-hint`;
      const numeric = q.kind === "numeric";
      return el(
        "div",
        { class: "answer field", "data-kind": q.kind },
        el("label", { class: "q-text", for: id, text: q.text }),
        el("p", {
          class: "hint",
          id: hint,
          text: numeric
            ? "Enter a number, for example 42 or 3.14 (a decimal comma works too)."
            : "Type your answer.",
        }),
        el("input", {
          type: "text",
          id,
          name,
          inputmode: numeric ? "decimal" : undefined,
          maxlength: numeric ? undefined : 2000,
          autocomplete: "off",
          spellcheck: numeric ? undefined : "false",
          "aria-describedby": hint,
          value: value === null || value === undefined ? "" : String(value),
          oninput: onChange,
        }),
      );
    }
    default:
      return el("p", { text: `Unsupported question kind: ${q.kind}` });
  }
}

/** The answer on screen, or undefined when nothing is given yet. */
export function readAnswer(q, body) {
  if (!q) return undefined;
  switch (q.kind) {
    case "single": {
      const checked = body.querySelector("input:checked");
      return checked ? checked.value : undefined;
    }
    case "true_false": {
      const checked = body.querySelector("input:checked");
      return checked ? checked.value === "true" : undefined;
    }
    case "multiple":
      return Array.from(body.querySelectorAll("input:checked"), (i) => i.value);
    case "short_text": {
      const value = body.querySelector("input").value;
      return value.trim() === "" ? undefined : value;
    }
    case "numeric": {
      const parsed = parseNumber(body.querySelector("input").value);
      return parsed.value === undefined ? undefined : parsed.value;
    }
    default:
      return undefined;
  }
}

/** Why the number typed in `body` cannot be read ("" when it can, or when
 * nothing is typed); marks the field invalid for assistive technology. */
export function numericProblem(body) {
  const input = body.querySelector("input");
  if (!input) return "";
  const parsed = parseNumber(input.value);
  const problem = parsed.error || "";
  if (problem) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
  return problem;
}

export function setInputsDisabled(body, disabled) {
  for (const input of body.querySelectorAll("input")) input.disabled = disabled;
}
