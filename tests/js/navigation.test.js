import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  blankAnswer,
  countsText,
  flagAnnouncement,
  itemLabel,
  navCounts,
  navItems,
  neighbours,
  renderPanel,
} from "../../src/quizsession/entrypoints/web/static/navigation.js";
import { installFakeDom } from "./fakes.js";

const nav = {
  section: "test",
  navigation: "free",
  questions: [
    { id: "intro", number: 0, kind: "description", state: "information", flagged: false },
    { id: "q1", number: 1, kind: "single", state: "answered", flagged: false },
    { id: "q2", number: 2, kind: "short_text", state: "not_answered", flagged: true },
    { id: "q3", number: 3, kind: "numeric", state: "not_seen", flagged: false },
  ],
  answered: 1,
  unanswered: 2,
  flagged: 1,
};

describe("navItems", () => {
  it("takes the server's states and marks the question on screen", () => {
    const items = navItems(nav, { current: "q2" });
    assert.deepEqual(
      items.map((i) => [i.id, i.state, i.flagged, i.current]),
      [
        ["intro", "information", false, false],
        ["q1", "answered", false, false],
        ["q2", "not_answered", true, true],
        ["q3", "not_seen", false, false],
      ],
    );
  });

  it("lets this page's answers (saved or unsent) and flags win", () => {
    const local = new Map([
      ["q2", "typed here"],
      ["q1", ""], // emptied: blank again
      ["intro", "ignored"],
    ]);
    const flags = new Map([["q2", false], ["q3", true]]);
    const items = navItems(nav, { local, flags });
    assert.deepEqual(
      items.map((i) => [i.id, i.state, i.flagged]),
      [
        ["intro", "information", false],
        ["q1", "not_answered", false],
        ["q2", "answered", false],
        ["q3", "not_seen", true],
      ],
    );
  });

  it("a question on screen is seen even before the map says so", () => {
    const items = navItems(nav, { current: "q3" });
    assert.equal(items[3].state, "not_answered");
  });

  it("no view, no items", () => {
    assert.deepEqual(navItems(null), []);
    assert.deepEqual(navItems({}), []);
  });
});

describe("labels", () => {
  it("say the number, the state and the flag in words", () => {
    const [intro, q1, q2, q3] = navItems(nav);
    assert.equal(itemLabel(q1), "Question 1, answered");
    assert.equal(itemLabel(q2), "Question 2, not answered, flagged");
    assert.equal(itemLabel(q3), "Question 3, not seen yet");
    assert.equal(itemLabel(intro), "Information");
    assert.equal(itemLabel({ ...intro, flagged: true }), "Information, flagged");
    assert.equal(flagAnnouncement(q2, true), "Question 2 flagged for review.");
    assert.equal(flagAnnouncement(q2, false), "Question 2 no longer flagged.");
  });
});

describe("navCounts and countsText", () => {
  it("count answered, not answered (never seen or blank) and flagged; information is not counted", () => {
    const counts = navCounts(navItems(nav));
    assert.deepEqual(counts, { answered: 1, unanswered: 2, unseen: 1, blank: 1, flagged: 1 });
    assert.equal(countsText(counts), "1 question answered, 2 not answered, 1 flagged for review.");
    assert.equal(
      countsText({ answered: 0, unanswered: 0, flagged: 0 }),
      "0 questions answered, 0 not answered, 0 flagged for review.",
    );
  });
});

describe("neighbours", () => {
  it("gives the previous and next question in the section's order", () => {
    const items = navItems(nav);
    assert.deepEqual(neighbours(items, "intro"), { previous: null, next: "q1" });
    assert.deepEqual(neighbours(items, "q2"), { previous: "q1", next: "q3" });
    assert.deepEqual(neighbours(items, "q3"), { previous: "q2", next: null });
    assert.deepEqual(neighbours(items, "unknown"), { previous: null, next: "intro" });
    assert.deepEqual(neighbours([], "q1"), { previous: null, next: null });
  });
});

describe("blankAnswer", () => {
  it("knows no answer from an answer", () => {
    for (const blank of [null, undefined, "", "  ", [], {}]) assert.equal(blankAnswer(blank), true);
    for (const given of ["x", ["a"], { p: "x" }, false, 0]) assert.equal(blankAnswer(given), false);
  });
});

describe("renderPanel", () => {
  function panel() {
    const doc = installFakeDom();
    const list = doc.createElement("ol");
    doc.body.append(list);
    const opened = [];
    return { doc, list, opened, draw: (items) => renderPanel(list, items, (id) => opened.push(id)) };
  }
  const buttons = (list) => [...list.querySelectorAll("button.nav-item")];

  it("draws one button per question, named by its state, the current one marked", () => {
    const { list, opened, draw } = panel();
    draw(navItems(nav, { current: "q2" }));
    const drawn = buttons(list);
    assert.deepEqual(
      drawn.map((b) => b.getAttribute("data-question")),
      ["intro", "q1", "q2", "q3"],
    );
    assert.equal(drawn[2].getAttribute("aria-current"), "step");
    assert.equal(drawn[1].getAttribute("aria-current"), null);
    assert.match(drawn[2].textContent, /Question 2, not answered, flagged/);
    drawn[3].click();
    assert.deepEqual(opened, ["q3"]);
  });

  it("updates the same buttons in place after a save: focus stays where it was", () => {
    const { doc, list, opened, draw } = panel();
    draw(navItems(nav, { current: "q2" }));
    const before = buttons(list);
    before[3].focus();
    draw(navItems(nav, { current: "q2", local: new Map([["q2", "typed"]]) }));
    const after = buttons(list);
    assert.deepEqual(after, before);
    assert.equal(doc.activeElement, before[3]);
    assert.equal(after[2].getAttribute("data-state"), "answered");
    assert.match(after[2].textContent, /Question 2, answered, flagged/);
    assert.doesNotMatch(after[2].textContent, /null/);
    draw(navItems(nav, { current: "q3" }));
    assert.equal(after[2].getAttribute("aria-current"), null);
    assert.equal(after[3].getAttribute("aria-current"), "step");
    after[1].click();
    assert.deepEqual(opened, ["q1"]);
  });

  it("draws new buttons when the questions differ (another section)", () => {
    const { list, draw } = panel();
    draw(navItems(nav, {}));
    const before = buttons(list);
    const other = { ...nav, questions: nav.questions.slice(1) };
    draw(navItems(other, {}));
    const after = buttons(list);
    assert.equal(after.length, 3);
    assert.ok(after.every((b) => !before.includes(b)));
  });
});
