// essay: a longer text in a textarea, line breaks kept, graded by hand. The
// response template (if the question has one) fills an empty answer; left as it
// is, it is no answer. A count under the field tells the words written ("120 of
// 250 words"); over the limit a written warning shows (the save still happens:
// work is never lost). Screen readers hear the count when they reach the field
// (it describes it) and an announcement only when the text crosses the limit,
// never on every keystroke.

import { el } from "../api.js";
import { controlName, fieldText, questionImages } from "./common.js";

export const typed = true;

/** The longest essay answer the server stores (characters). */
export const MAX_ESSAY_ANSWER = 50000;

/** The number of words in `text` (runs of non-space characters). */
export function countWords(text) {
  const words = String(text ?? "").match(/\S+/g);
  return words ? words.length : 0;
}

/** "1 word", "120 words", "120 of 250 words". */
export function wordCountText(words, limit) {
  if (limit) return `${words} of ${limit} words`;
  return `${words} word${words === 1 ? "" : "s"}`;
}

/** The warning over the limit ("" within it). */
export function overLimitText(words, limit) {
  if (!limit || words <= limit) return "";
  const over = words - limit;
  return `Over the word limit by ${over} word${over === 1 ? "" : "s"} (${words} of ${limit}). Your answer is still saved.`;
}

export function render(q, value, onChange) {
  const name = controlName(q);
  const id = `${name}-input`;
  const countId = `${name}-count`;
  const warningId = `${name}-warning`;
  const limit = q.word_limit || null;
  const template = q.response_template || "";
  const text = fieldText(value);
  const field = el("textarea", {
    id,
    name,
    rows: 12,
    maxlength: MAX_ESSAY_ANSWER,
    spellcheck: "true",
    "aria-describedby": `${countId} ${warningId}`,
  });
  field.value = text.trim() === "" ? template : text;
  const count = el("p", { class: "word-count", id: countId });
  const warning = el("p", { class: "word-warning", id: warningId, hidden: true });
  // Told only when the text crosses the limit (one way or the other).
  const announce = el("p", { class: "visually-hidden", role: "status", "data-role": "announce" });
  let wasOver = null;
  const update = () => {
    const words = countWords(field.value);
    const over = Boolean(limit) && words > limit;
    count.textContent = wordCountText(words, limit);
    warning.textContent = overLimitText(words, limit);
    warning.hidden = !over;
    if (wasOver !== null && over !== wasOver) {
      announce.textContent = over
        ? `Over the word limit: ${words} of ${limit} words.`
        : `Within the word limit again: ${words} of ${limit} words.`;
    }
    wasOver = over;
  };
  field.addEventListener("input", (event) => {
    update();
    onChange(event);
  });
  update();
  return el(
    "div",
    {
      class: "answer field essay",
      "data-kind": q.kind,
      "data-template": template || undefined,
    },
    el("label", { class: "q-text", for: id, text: q.text }),
    questionImages(q),
    field,
    count,
    warning,
    announce,
  );
}

export function read(element) {
  const field = element.querySelector("textarea");
  const text = field.value;
  if (text.trim() === "") return null;
  if (text === (element.dataset.template || "")) return null;
  return text;
}

export function describe(q, value) {
  if (typeof value !== "string" || value.trim() === "") return "";
  const words = countWords(value);
  const start = value.trim().replace(/\s+/g, " ");
  const shown = start.length > 80 ? `${start.slice(0, 79)}…` : start;
  return `${shown} (${wordCountText(words, null)})`;
}
