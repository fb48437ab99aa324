// Free navigation on the candidate's page: the state of each question of the
// running section (from the server's NavigationView and what this page holds
// but has not sent yet), its words, and the navigation panel: a `nav` landmark
// with one button per question ("Question 3, answered, flagged"). A state is
// told by text and shape, never by colour alone; the question on screen is
// marked aria-current.
//
// The functions that decide are pure (no DOM, no requests: unit-tested in
// tests/js/navigation.test.js); `renderPanel` builds the panel's elements.

import { el } from "./api.js";

export const STATE_WORDS = {
  answered: "answered",
  not_answered: "not answered",
  not_seen: "not seen yet",
  information: "information",
};

/** Whether an answer is no answer (null, blank text, empty list or mapping). */
export function blankAnswer(answer) {
  if (answer === null || answer === undefined) return true;
  if (typeof answer === "string") return answer.trim() === "";
  if (Array.isArray(answer)) return answer.length === 0;
  if (typeof answer === "object") return Object.keys(answer).length === 0;
  return false;
}

/**
 * The panel's items: the view's questions, with the answers this page knows of
 * (`local`: a Map of question id -> latest answer, saved or still unsent) and
 * flags it changed (`flags`: a Map of question id -> flagged) taking precedence,
 * and `current` (the question on screen) marked.
 */
export function navItems(nav, { local = new Map(), flags = new Map(), current = null } = {}) {
  if (!nav || !Array.isArray(nav.questions)) return [];
  return nav.questions.map((q) => {
    let state = q.state;
    if (state !== "information") {
      if (local.has(q.id)) state = blankAnswer(local.get(q.id)) ? "not_answered" : "answered";
      else if (q.id === current && state === "not_seen") state = "not_answered";
    }
    const flagged = flags.has(q.id) ? Boolean(flags.get(q.id)) : Boolean(q.flagged);
    return { id: q.id, number: q.number, kind: q.kind, state, flagged, current: q.id === current };
  });
}

/** "Question 3" (or "Information" for a description). */
export function itemTitle(item) {
  return item.state === "information" || !item.number ? "Information" : `Question ${item.number}`;
}

/** The button's whole name: "Question 3, answered, flagged". */
export function itemLabel(item) {
  const parts = [itemTitle(item)];
  if (item.state !== "information") parts.push(STATE_WORDS[item.state] || item.state);
  if (item.flagged) parts.push("flagged");
  return parts.join(", ");
}

/** The counts of a summary: answered, not answered (of which never seen), flagged. */
export function navCounts(items) {
  const counts = { answered: 0, unanswered: 0, unseen: 0, blank: 0, flagged: 0 };
  for (const item of items) {
    if (item.flagged) counts.flagged += 1;
    if (item.state === "information") continue;
    if (item.state === "answered") counts.answered += 1;
    else {
      counts.unanswered += 1;
      if (item.state === "not_seen") counts.unseen += 1;
      else counts.blank += 1;
    }
  }
  return counts;
}

/** The questions before and after `id` in the section's order (null at an end). */
export function neighbours(items, id) {
  const at = items.findIndex((item) => item.id === id);
  if (at < 0) return { previous: null, next: items.length ? items[0].id : null };
  return {
    previous: at > 0 ? items[at - 1].id : null,
    next: at < items.length - 1 ? items[at + 1].id : null,
  };
}

/** The sentence under the summary's heading. */
export function countsText({ answered, unanswered, flagged }) {
  const n = (count, one, many) => `${count} ${count === 1 ? one : many}`;
  return `${n(answered, "question", "questions")} answered, ${unanswered} not answered, ${flagged} flagged for review.`;
}

/** What the status region says when a flag changes. */
export function flagAnnouncement(item, flagged) {
  return `${itemTitle(item)} ${flagged ? "flagged for review" : "no longer flagged"}.`;
}

/** One panel button's content: its name in one hidden sentence ("Question 3,
 * answered, flagged": one text node, so no browser splits it), and what the
 * eye sees, which the name already says: the number (or "i"), the state in
 * words and "flagged". */
function buttonContent(item) {
  const info = item.state === "information";
  const shown = (cls, text) => el("span", { class: cls, "aria-hidden": "true", text });
  return [
    el("span", { class: "visually-hidden", text: itemLabel(item) }),
    shown("nav-number", info ? "i" : String(item.number)),
    info ? null : shown("nav-state", STATE_WORDS[item.state] || item.state),
    item.flagged ? shown("nav-flag", "flagged") : null,
  ];
}

/** Fill `list` (an <ol> inside the panel's <nav>) with one button per item;
 * `onOpen(id)` runs when one is chosen. When the list already holds the same
 * questions in the same order (a redraw after a save or a flag), each button is
 * updated in place, so a focused button keeps the focus. */
export function renderPanel(list, items, onOpen) {
  const buttons = [...list.querySelectorAll("button.nav-item")];
  const same =
    buttons.length === items.length &&
    buttons.every((button, i) => button.getAttribute("data-question") === items[i].id);
  if (same) {
    items.forEach((item, i) => updateButton(buttons[i], item));
    return;
  }
  list.replaceChildren(
    ...items.map((item) => {
      const button = el("button", {
        type: "button",
        class: "nav-item",
        "data-question": item.id,
        onclick: () => onOpen(item.id),
      });
      updateButton(button, item);
      return el("li", {}, button);
    }),
  );
}

function updateButton(button, item) {
  button.setAttribute("data-state", item.state);
  button.setAttribute("data-flagged", item.flagged ? "true" : "false");
  if (item.current) button.setAttribute("aria-current", "step");
  else button.removeAttribute("aria-current");
  button.replaceChildren(...buttonContent(item).filter(Boolean));
}
