import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  AttemptPhase,
  finishSummary,
  finishText,
  isBlank,
  liveCloseAction,
  routeFor,
  sessionErrorAction,
} from "../../src/quizsession/entrypoints/web/static/attempt_flow.js";

const view = (over) => ({ status: "open", state: "test_started", result: null, ...over });

describe("routeFor", () => {
  it("leads each state of the attempt to its screen", () => {
    assert.equal(routeFor(view({ state: "practice_not_started" })), "intro");
    assert.equal(routeFor(view({ state: "practice_not_started" }), { skipPractice: true }), "test-intro");
    assert.equal(routeFor(view({ state: "practice_started" })), "question");
    assert.equal(routeFor(view({ state: "test_not_started" })), "test-intro");
    assert.equal(routeFor(view({ state: "test_started" })), "question");
    assert.equal(routeFor(view({ state: "test_finished" })), "wait-result");
    assert.equal(routeFor(view({ state: "something_new" })), "unknown");
    assert.equal(routeFor(null), "unknown");
  });

  it("a void or a result wins over the section state", () => {
    assert.equal(routeFor(view({ status: "voided" })), "voided");
    assert.equal(routeFor(view({ status: "submitted", result: { score: 1 } })), "result");
  });
});

describe("sessionErrorAction and liveCloseAction", () => {
  it("tells what a refusal means for the tab", () => {
    assert.equal(sessionErrorAction("session_superseded"), "taken-over");
    assert.equal(sessionErrorAction("attempt_voided"), "voided");
    for (const code of ["token_invalid", "token_expired", "session_idle_timeout", "session_closed", "not_found"]) {
      assert.equal(sessionErrorAction(code), "relogin", code);
    }
    assert.equal(sessionErrorAction("attempt_closed"), "wait-result");
    assert.equal(sessionErrorAction("deadline_passed"), "wait-result");
    assert.equal(sessionErrorAction("answer_invalid"), null);
  });

  it("tells what a final close of the live channel means", () => {
    assert.equal(liveCloseAction(4409, "", null), "taken-over");
    assert.equal(liveCloseAction(4410, "void", null), "voided");
    assert.equal(liveCloseAction(4410, "", "attempt_voided"), "voided");
    assert.equal(liveCloseAction(4410, "unlock", null), "ended");
    assert.equal(liveCloseAction(4410, "", "session_closed"), "relogin");
    assert.equal(liveCloseAction(4410, "submitted", null), "wait-result");
    assert.equal(liveCloseAction(4401, "", null), "relogin");
    assert.equal(liveCloseAction(4403, "", null), "refused");
  });
});

describe("AttemptPhase", () => {
  it("goes active -> time-up -> finished", () => {
    const phase = new AttemptPhase();
    assert.equal(phase.canAnswer, true);
    assert.equal(phase.expire(), true);
    assert.equal(phase.timeUp, true);
    assert.equal(phase.canAnswer, false);
    assert.equal(phase.expire(), false);
    assert.equal(phase.finish(), true);
    assert.equal(phase.finished, true);
    assert.equal(phase.finish(), false, "the result is shown once");
    assert.equal(phase.extend(), false, "a finished attempt is not extended");
  });

  it("an extension after the time ran out on screen carries on", () => {
    const phase = new AttemptPhase();
    assert.equal(phase.extend(), false, "nothing to do while active");
    phase.expire();
    assert.equal(phase.extend(), true);
    assert.equal(phase.value, "active");
  });

  it("a stopped tab never shows a result and stops once", () => {
    const phase = new AttemptPhase();
    assert.equal(phase.stop(), true);
    assert.equal(phase.stop(), false);
    assert.equal(phase.finish(), false);
    assert.equal(phase.expire(), false);
    assert.equal(phase.stopped, true);
  });

  it("continuing in this window enters again", () => {
    const phase = new AttemptPhase();
    phase.stop();
    assert.equal(phase.enter(), true);
    assert.equal(phase.canAnswer, true);
    assert.equal(phase.enter(), false);
  });
});

describe("finishSummary and finishText", () => {
  it("counts questions never seen and left blank", () => {
    const summary = finishSummary({ total: 10, delivered: 4, answered: new Set(["a", "b", "c"]) });
    assert.deepEqual(summary, { unseen: 6, blank: 1 });
    const text = finishText(summary);
    assert.match(text, /6 questions you have not seen yet/);
    assert.match(text, /1 question left blank/);
  });

  it("says so when everything is answered", () => {
    const summary = finishSummary({ total: 3, delivered: 3, answered: new Set(["a", "b", "c"]) });
    assert.deepEqual(summary, { unseen: 0, blank: 0 });
    assert.match(finishText(summary), /answered every question/);
  });

  it("uses the singular for one question", () => {
    assert.match(finishText({ unseen: 1, blank: 0 }), /^There is 1 question you have not seen yet:/);
    assert.match(finishText({ unseen: 0, blank: 2 }), /^There are 2 questions left blank:/);
  });
});

describe("isBlank", () => {
  it("tells no answer from an answer", () => {
    for (const blank of [null, undefined, "", "  ", []]) assert.equal(isBlank(blank), true);
    for (const given of ["a", ["n2"], 0, false, true, 3.14]) assert.equal(isBlank(given), false);
  });
});
