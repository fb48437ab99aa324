// description: information between questions (text and images), no control and
// no answer. The screen calls it "Information" and offers "Continue".

import { el } from "../api.js";
import { questionImages } from "./common.js";

export const answerable = false;

export function render(q) {
  return el(
    "div",
    { class: "answer description", "data-kind": q.kind },
    el("p", { class: "q-text description-text", text: q.text }),
    questionImages(q),
  );
}

export function read() {
  return null;
}

export function describe() {
  return "";
}
