// cloze: a text with gaps ({{gap_id}} markers), each filled in place: a select
// for a choice gap, a text field for a short-text gap, a text field for a
// numeric gap (a decimal comma understood, as in numeric questions). Each
// control is labelled "Gap 2 of 5". Answer: {gap id: choice id | text | number};
// empty gaps are unanswered (all empty: blank).

import { el } from "../api.js";
import { parseNumber } from "../format.js";
import { choiceText, controlName, questionImages } from "./common.js";
import { numberProblem } from "./numeric.js";

export const typed = true;

export const CHOOSE = "Choose...";

const MARKER = /\{\{\s*([A-Za-z0-9_.:-]+)\s*\}\}/g;

/** The text split at its gap markers: strings and {gap: id} parts, in order. */
export function splitCloze(text) {
  const parts = [];
  let last = 0;
  for (const match of String(text || "").matchAll(MARKER)) {
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push({ gap: match[1] });
    last = match.index + match[0].length;
  }
  if (last < String(text || "").length) parts.push(text.slice(last));
  return parts;
}

function gapControl(q, gap, number, total, value, onChange) {
  const id = `${controlName(q)}-gap-${number}`;
  const label = el("label", { class: "visually-hidden", for: id, text: `Gap ${number} of ${total}` });
  const common = { id, name: id, "data-gap": gap.id, "data-gap-kind": gap.kind };
  let control;
  if (gap.kind === "choice") {
    control = el(
      "select",
      { ...common, onchange: onChange },
      el("option", { value: "", text: CHOOSE, selected: value === undefined }),
      ...(gap.choices || []).map((c) =>
        el("option", { value: c.id, text: c.text, selected: c.id === value }),
      ),
    );
  } else {
    const numeric = gap.kind === "numeric";
    control = el("input", {
      ...common,
      type: "text",
      class: numeric ? "gap-number" : "gap-text",
      inputmode: numeric ? "decimal" : undefined,
      maxlength: numeric ? undefined : 2000,
      autocomplete: "off",
      spellcheck: numeric ? undefined : "false",
      value: value === undefined || value === null ? "" : String(value),
      oninput: onChange,
    });
  }
  return el("span", { class: "gap" }, label, control);
}

export function render(q, value, onChange) {
  const given = value && typeof value === "object" && !Array.isArray(value) ? value : {};
  const gaps = new Map((q.gaps || []).map((gap) => [gap.id, gap]));
  const total = gapsInText(q).length;
  const hint = `${controlName(q)}-hint`;
  const numbers = (q.gaps || []).some((gap) => gap.kind === "numeric");
  let number = 0;
  const text = el(
    "p",
    { class: "cloze-text" },
    ...splitCloze(q.text).map((part) => {
      if (typeof part === "string") return part;
      const gap = gaps.get(part.gap);
      if (!gap) return `{{${part.gap}}}`;
      number += 1;
      return gapControl(q, gap, number, total, given[gap.id], onChange);
    }),
  );
  return el(
    "fieldset",
    { class: "answer cloze", "data-kind": q.kind, "aria-describedby": numbers ? hint : undefined },
    el("legend", {
      class: "q-text",
      text: `Fill in the ${total === 1 ? "gap" : `${total} gaps`} in the text.`,
    }),
    questionImages(q),
    numbers
      ? el("p", {
          class: "hint",
          id: hint,
          text: "Write numbers with a decimal point or a decimal comma, for example 3.14 or 3,14.",
        })
      : null,
    text,
  );
}

export function read(element) {
  const answer = {};
  for (const control of element.querySelectorAll("[data-gap]")) {
    const id = control.dataset.gap;
    const kind = control.dataset.gapKind;
    if (kind === "numeric") {
      const parsed = parseNumber(control.value);
      if (parsed.value !== undefined) answer[id] = parsed.value;
    } else if (kind === "choice") {
      if (control.value !== "") answer[id] = control.value;
    } else if (control.value.trim() !== "") {
      answer[id] = control.value;
    }
  }
  return Object.keys(answer).length ? answer : null;
}

/** Why a numeric gap's number cannot be read ("" when every gap can). */
export function problem(element) {
  const problems = [];
  const controls = Array.from(element.querySelectorAll("[data-gap]"));
  controls.forEach((control, i) => {
    if (control.dataset.gapKind !== "numeric") return;
    const text = numberProblem(control);
    if (text) problems.push(`Gap ${i + 1} of ${controls.length}: ${text}`);
  });
  return problems.join(" ");
}

/** The gaps in the order the text shows them. */
function gapsInText(q) {
  const gaps = new Map((q.gaps || []).map((gap) => [gap.id, gap]));
  return splitCloze(q.text)
    .filter((part) => typeof part !== "string" && gaps.has(part.gap))
    .map((part) => gaps.get(part.gap));
}

/** The text as a review shows it: each gap marker becomes "[gap n]", numbered
 * as the question page numbers its gaps. */
export function reviewText(q) {
  const gaps = new Set((q.gaps || []).map((gap) => gap.id));
  let n = 0;
  return splitCloze(q.text)
    .map((part) => {
      if (typeof part === "string") return part;
      if (!gaps.has(part.gap)) return "";
      n += 1;
      return `[gap ${n}]`;
    })
    .join("");
}

export function describe(q, value) {
  if (!value || typeof value !== "object") return "";
  const parts = [];
  gapsInText(q).forEach((gap, i) => {
    if (!Object.prototype.hasOwnProperty.call(value, gap.id)) return;
    const given = value[gap.id];
    const shown = gap.kind === "choice" ? choiceText(gap.choices, given) : String(given);
    parts.push(`gap ${i + 1}: ${shown}`);
  });
  return parts.join("; ");
}
