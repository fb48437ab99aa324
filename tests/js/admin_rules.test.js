import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  allowedActions,
  checkReopenSeconds,
  filterAttempts,
  foldText,
  nextSort,
  reopenNeedsTime,
  sortAttempts,
  stateGroup,
} from "../../src/quizsession/entrypoints/web/static/admin_rules.js";

function attempt(id, fields = {}) {
  return {
    attempt_id: id,
    candidate_id: `c-${id}`,
    candidate_name: `Name ${id}`,
    status: "open",
    state: "test_started",
    time_remaining_s: 100,
    deadline: 1000,
    score: null,
    max_score: null,
    ...fields,
  };
}

const ROOM = [
  attempt("a", { candidate_name: "Zoë Åberg", time_remaining_s: 50 }),
  attempt("b", { candidate_name: "bob O'Neil", status: "submitted", state: "test_finished", score: 7, max_score: 13 }),
  attempt("c", { candidate_name: "Ada Lovelace", state: "practice_started", time_remaining_s: null }),
  attempt("d", { candidate_name: "Cy Candidate", status: "voided", time_remaining_s: 0 }),
  attempt("e", { candidate_name: "Bea Smith", status: "submitted", state: "test_finished", score: 13, max_score: 13 }),
  attempt("f", { candidate_name: "Dan Ng", time_remaining_s: 400 }),
];

const names = (list) => list.map((a) => a.candidate_name);

describe("the administrator page's list rules", () => {
  it("groups states for the filter", () => {
    assert.deepEqual(ROOM.map(stateGroup), ["running", "submitted", "waiting", "voided", "submitted", "running"]);
    assert.equal(stateGroup(attempt("x", { state: "test_not_started" })), "waiting");
    assert.equal(stateGroup(attempt("x", { state: "practice_not_started" })), "waiting");
  });

  it("filters by state and searches names without case or accents", () => {
    assert.deepEqual(names(filterAttempts(ROOM, { group: "submitted" })), ["bob O'Neil", "Bea Smith"]);
    assert.deepEqual(names(filterAttempts(ROOM, { search: "zoe aberg" })), ["Zoë Åberg"]);
    assert.deepEqual(names(filterAttempts(ROOM, { search: "  B " })), ["Zoë Åberg", "bob O'Neil", "Bea Smith"]);
    assert.deepEqual(names(filterAttempts(ROOM, { search: "c-f" })), ["Dan Ng"], "by candidate id too");
    assert.deepEqual(names(filterAttempts(ROOM, { group: "running", search: "bob" })), []);
    assert.equal(filterAttempts(ROOM).length, ROOM.length);
    assert.equal(foldText(" ÅNGSTRÖM "), "angstrom");
  });

  it("sorts by name, case and accents aside, numbers in order", () => {
    assert.deepEqual(names(sortAttempts(ROOM, "name")), [
      "Ada Lovelace", "Bea Smith", "bob O'Neil", "Cy Candidate", "Dan Ng", "Zoë Åberg",
    ]);
    assert.deepEqual(names(sortAttempts(ROOM, "name", "descending"))[0], "Zoë Åberg");
    const numbered = [attempt("1", { candidate_name: "Cand 10" }), attempt("2", { candidate_name: "Cand 9" })];
    assert.deepEqual(names(sortAttempts(numbered, "name")), ["Cand 9", "Cand 10"]);
    assert.deepEqual(names(sortAttempts([attempt("x", { candidate_name: "" })], "name")), [""]);
  });

  it("sorts by state: running, waiting, submitted, voided", () => {
    assert.deepEqual(names(sortAttempts(ROOM, "state")), [
      "Dan Ng", "Zoë Åberg", "Ada Lovelace", "Bea Smith", "bob O'Neil", "Cy Candidate",
    ]);
  });

  it("sorts by time left; closed attempts last in both directions", () => {
    assert.deepEqual(names(sortAttempts(ROOM, "time")), [
      "Zoë Åberg", "Dan Ng", "Ada Lovelace", "Bea Smith", "bob O'Neil", "Cy Candidate",
    ]);
    assert.deepEqual(names(sortAttempts(ROOM, "time", "descending")), [
      "Ada Lovelace", "Dan Ng", "Zoë Åberg", "Bea Smith", "bob O'Neil", "Cy Candidate",
    ]);
  });

  it("sorts by score as a share of the maximum; no score last", () => {
    assert.deepEqual(names(sortAttempts(ROOM, "score", "descending")).slice(0, 2), ["Bea Smith", "bob O'Neil"]);
    assert.deepEqual(names(sortAttempts(ROOM, "score")).slice(0, 2), ["bob O'Neil", "Bea Smith"]);
    assert.equal(sortAttempts(ROOM, "score").at(-1).candidate_name, "Zoë Åberg");
  });

  it("does not change the list it sorts", () => {
    const copy = [...ROOM];
    sortAttempts(ROOM, "time");
    assert.deepEqual(ROOM, copy);
  });

  it("flips the direction on the same column, starts a new one ascending (score: best first)", () => {
    assert.deepEqual(nextSort({ key: "name", direction: "ascending" }, "name"), { key: "name", direction: "descending" });
    assert.deepEqual(nextSort({ key: "name", direction: "descending" }, "name"), { key: "name", direction: "ascending" });
    assert.deepEqual(nextSort({ key: "name", direction: "descending" }, "time"), { key: "time", direction: "ascending" });
    assert.deepEqual(nextSort({ key: "name", direction: "ascending" }, "score"), { key: "score", direction: "descending" });
  });
});

describe("the actions that apply to an attempt", () => {
  const enabled = (actions) =>
    Object.fromEntries(Object.entries(actions).map(([k, v]) => [k, v.enabled]));

  it("an open attempt can be extended, unlocked and voided, not reopened", () => {
    const actions = allowedActions(attempt("a"), { liveSession: "s1" });
    assert.deepEqual(enabled(actions), { extend: true, unlock: true, void: true, reopen: false });
    assert.match(actions.reopen.reason, /still open/);
    assert.equal(actions.extend.reason, "");
  });

  it("unlock needs a session (unknown yet: allowed)", () => {
    const none = allowedActions(attempt("a"), { liveSession: null });
    assert.equal(none.unlock.enabled, false);
    assert.match(none.unlock.reason, /can log in already/);
    assert.equal(allowedActions(attempt("a")).unlock.enabled, true);
  });

  it("a submitted attempt can be reopened or voided; extend and unlock say why not", () => {
    const a = attempt("b", { status: "submitted", state: "test_finished" });
    const actions = allowedActions(a, { liveSession: "s1" });
    assert.deepEqual(enabled(actions), { extend: false, unlock: false, void: true, reopen: true });
    assert.match(actions.extend.reason, /submitted: reopen it/);
    assert.match(actions.unlock.reason, /submitted/);
  });

  it("a voided attempt allows nothing", () => {
    const actions = allowedActions(attempt("d", { status: "voided" }), { liveSession: null });
    assert.deepEqual(enabled(actions), { extend: false, unlock: false, void: false, reopen: false });
    for (const { reason } of Object.values(actions)) assert.ok(reason.length > 10, reason);
  });

  it("a submitted attempt whose test never started cannot be reopened", () => {
    const a = attempt("x", { status: "submitted", state: "practice_started" });
    assert.equal(allowedActions(a).reopen.enabled, false);
  });
});

describe("reopening", () => {
  it("needs time once the deadline and the grace have passed", () => {
    assert.equal(reopenNeedsTime(1000, 5, 1004), false);
    assert.equal(reopenNeedsTime(1000, 5, 1005), true);
    assert.equal(reopenNeedsTime(null, 5, 0), true);
  });

  it("checks the seconds typed", () => {
    assert.deepEqual(checkReopenSeconds("", false), { seconds: 0 });
    assert.deepEqual(checkReopenSeconds(" 120 ", true), { seconds: 120 });
    assert.ok(checkReopenSeconds("", true).error.includes("deadline has passed"));
    assert.ok(checkReopenSeconds("0", true).error);
    assert.ok(checkReopenSeconds("-1", false).error);
    assert.ok(checkReopenSeconds("abc", false).error);
    assert.ok(checkReopenSeconds("604801", false).error);
  });
});
