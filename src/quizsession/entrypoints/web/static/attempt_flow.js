// The attempt as the candidate's page sees it: which screen a view leads to, what
// a refusal or a closed live channel means for this tab, the tab's own phase,
// and what is still unanswered before a submit. Pure: no DOM, no requests
// (unit-tested in tests/js/attempt_flow.test.js).

import { CLOSE_AUTH, CLOSE_ENDED, CLOSE_SUPERSEDED } from "./live.js";

/** The screen an AttemptView leads to. */
export function routeFor(view, { skipPractice = false } = {}) {
  if (!view) return "unknown";
  if (view.status === "voided") return "voided";
  if (view.result) return "result";
  switch (view.state) {
    case "practice_not_started":
      return skipPractice ? "test-intro" : "intro";
    case "practice_started":
    case "test_started":
      return "question";
    case "test_not_started":
      return "test-intro";
    case "test_finished":
      return "wait-result";
    default:
      return "unknown";
  }
}

/** What a refusal (a problem's `code`) means for this tab, or null when it is
 * not about the session: "taken-over", "voided", "relogin" or "wait-result". */
export function sessionErrorAction(code) {
  switch (code) {
    case "session_superseded":
      return "taken-over";
    case "attempt_voided":
      return "voided";
    case "token_invalid":
    case "token_expired":
    case "session_idle_timeout":
    case "session_closed":
    case "not_found":
      return "relogin";
    case "attempt_closed":
    case "deadline_passed":
      return "wait-result";
    default:
      return null;
  }
}

/** What a final close of the live channel means: "taken-over", "voided",
 * "ended" (an administrator unlocked it), "relogin", "wait-result" or "refused". */
export function liveCloseAction(code, reason, errorCode) {
  switch (code) {
    case CLOSE_SUPERSEDED:
      return "taken-over";
    case CLOSE_ENDED:
      if (errorCode === "attempt_voided" || reason === "void") return "voided";
      if (reason === "unlock") return "ended";
      if (errorCode === "session_closed") return "relogin";
      return "wait-result";
    case CLOSE_AUTH:
      return "relogin";
    default:
      return "refused";
  }
}

/**
 * The tab's phase: "active" (working on the attempt), "time-up" (the time ran
 * out on screen, the result is awaited), "finished" (the result is on screen) or
 * "stopped" (taken over, voided or ended: this tab does nothing more). Each
 * transition returns true when it changed the phase.
 */
export class AttemptPhase {
  constructor() {
    this.value = "active";
  }

  get stopped() {
    return this.value === "stopped";
  }

  get finished() {
    return this.value === "finished";
  }

  get timeUp() {
    return this.value === "time-up";
  }

  /** Whether answers on screen may still be kept and sent. */
  get canAnswer() {
    return this.value === "active";
  }

  /** (Re)entering the attempt: a login, a resume, "continue in this window". */
  enter() {
    const changed = this.value !== "active";
    this.value = "active";
    return changed;
  }

  /** The time ran out on screen. */
  expire() {
    if (this.value !== "active") return false;
    this.value = "time-up";
    return true;
  }

  /** The deadline moved past now again while the time was up (an extension). */
  extend() {
    if (this.value !== "time-up") return false;
    this.value = "active";
    return true;
  }

  /** The result is shown; a stopped tab never shows one. */
  finish() {
    if (this.value === "stopped" || this.value === "finished") return false;
    this.value = "finished";
    return true;
  }

  /** This tab stops for good (until the candidate chooses to continue here). */
  stop() {
    if (this.value === "stopped") return false;
    this.value = "stopped";
    return true;
  }
}

/** Whether an answer is no answer: nothing, an empty text, no choice ticked. */
export function isBlank(answer) {
  if (answer === null || answer === undefined) return true;
  if (Array.isArray(answer)) return answer.length === 0;
  if (typeof answer === "string") return answer.trim() === "";
  return false;
}

/**
 * What a submit now would leave unanswered: `unseen` questions never shown and
 * `blank` ones shown without an answer. `answered` holds the ids answered so far
 * (saved or waiting to be sent), `delivered` how many were shown.
 */
export function finishSummary({ total, delivered, answered }) {
  const unseen = Math.max(0, total - delivered);
  const blank = Math.max(0, delivered - answered.size);
  return { unseen, blank };
}

/** The finish dialog's sentence for `finishSummary`'s counts. */
export function finishText({ unseen, blank }) {
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
  const parts = [];
  if (unseen) parts.push(`${plural(unseen, "question", "questions")} you have not seen yet`);
  if (blank) parts.push(`${plural(blank, "question", "questions")} left blank`);
  if (!parts.length) {
    return "You have answered every question. You will not be able to change your answers afterwards.";
  }
  return `There ${unseen + blank === 1 && !(unseen && blank) ? "is" : "are"} ${parts.join(" and ")}: they will score nothing. You will not be able to change your answers afterwards.`;
}
