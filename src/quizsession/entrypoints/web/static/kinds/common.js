// Helpers shared by the question kinds' renderers (kinds/<kind>.js): the
// question's images, choice lists and labelled text fields.
//
// Every renderer module exports the same interface (see kinds/index.js):
//   render(q, value, onChange) -> Element  the labelled control showing `value`
//   read(element) -> answer | null          the answer on screen (null: blank)
//   describe(q, value) -> string            the answer in words ("" when blank)
// and may export:
//   typed: true                             edits are typing (saved after a pause)
//   ordered: true                           the answer is a list whose order matters
//   problem(element) -> string              why what is typed cannot be read ("")
//   blankAnswer() -> answer                 what an emptied control stands for
//   blankMessage: string                    why "Next" needs an answer first
//   answerable: false                       no answer at all (information only)

import { el } from "../api.js";

/** The id prefix of the controls of question `q` (unique on the page). */
export function controlName(q) {
  return `answer-${q.id}`;
}

/** The question's images (`img` with its alt text; "" for a decorative one), or
 * null when it has none. */
export function questionImages(q) {
  const images = Array.isArray(q.images) ? q.images : [];
  if (!images.length) return null;
  return el(
    "div",
    { class: "q-images" },
    ...images.map((image) =>
      el("img", {
        src: image.url,
        alt: image.alt || "",
        loading: "lazy",
        decoding: "async",
        referrerpolicy: "no-referrer",
      }),
    ),
  );
}

/** A list of radio buttons or checkboxes, one labelled row per option
 * (`options`: [{value, text}]), checked where `isChecked(value)`. */
export function choiceList(q, type, options, isChecked, onChange) {
  const name = controlName(q);
  return el(
    "div",
    { class: "choices" },
    ...options.map((o, i) => {
      const id = `${name}-${i}`;
      return el(
        "label",
        { class: "choice", for: id },
        el("input", {
          type,
          id,
          name,
          value: o.value,
          checked: isChecked(o.value),
          onchange: onChange,
        }),
        el("span", { text: o.text }),
      );
    }),
  );
}

/** A fieldset with the question text as its legend, the images, then `children`. */
export function questionFieldset(q, props, ...children) {
  return el(
    "fieldset",
    { class: "answer", "data-kind": q.kind, ...props },
    el("legend", { class: "q-text", text: q.text }),
    questionImages(q),
    ...children,
  );
}

/** A question answered in one text field: the question text as its label, the
 * images, a hint, then the input (`input`: extra attributes). */
export function textFieldQuestion(q, value, onChange, { hint, input = {} }) {
  const name = controlName(q);
  const id = `${name}-input`;
  const hintId = `${name}-hint`;
  return el(
    "div",
    { class: "answer field", "data-kind": q.kind },
    el("label", { class: "q-text", for: id, text: q.text }),
    questionImages(q),
    el("p", { class: "hint", id: hintId, text: hint }),
    el("input", {
      type: "text",
      id,
      name,
      autocomplete: "off",
      ...input,
      "aria-describedby": hintId,
      value: fieldText(value),
      oninput: onChange,
    }),
  );
}

/** The text of the value of a text field or textarea as it will be saved. */
export function fieldText(value) {
  return value === null || value === undefined ? "" : String(value);
}

/** The choice text of `id` among `choices` (the id itself when unknown). */
export function choiceText(choices, id) {
  const found = (choices || []).find((c) => c.id === id);
  return found ? found.text : String(id);
}
