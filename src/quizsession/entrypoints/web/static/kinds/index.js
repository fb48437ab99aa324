// The question kinds the candidate's page can show: kind name -> its renderer
// module (the interface is described in kinds/common.js). A kind the page does
// not know gets a plain notice instead of a control.

import { el } from "../api.js";
import * as cloze from "./cloze.js";
import * as description from "./description.js";
import * as essay from "./essay.js";
import * as matching from "./matching.js";
import * as multiple from "./multiple.js";
import * as numeric from "./numeric.js";
import * as ordering from "./ordering.js";
import * as short_text from "./short_text.js";
import * as single from "./single.js";
import * as true_false from "./true_false.js";

export const KINDS = Object.freeze({
  single,
  multiple,
  true_false,
  short_text,
  numeric,
  essay,
  matching,
  ordering,
  cloze,
  description,
});

const unsupported = Object.freeze({
  render: (q) => el("p", { text: `Unsupported question kind: ${q.kind}` }),
  read: () => null,
  describe: () => "",
});

/** The renderer module of question `q`'s kind. */
export function kindOf(q) {
  return Object.prototype.hasOwnProperty.call(KINDS, q.kind) ? KINDS[q.kind] : unsupported;
}
