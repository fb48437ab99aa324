// What the timer tells the candidate besides the time left: warnings before the
// deadline and notices when the deadline moves. Pure: no DOM, no clock
// (unit-tested in tests/js/time_warnings.test.js).

import { spokenDuration } from "./format.js";

/** Warnings at 5 minutes and 1 minute before the deadline. */
export const WARNING_MARKS_S = [300, 60];

/**
 * Each warning is given once as the time left crosses its mark (not every
 * second), and again only if an extension moved the time left back above it.
 */
export class TimeWarnings {
  constructor(marks = WARNING_MARKS_S) {
    this.marks = [...marks].sort((a, b) => b - a);
    this.given = new Set();
    this.primed = false;
  }

  /** The warning due at `left` seconds, or null. The first call only notes
   * which marks are already behind (opening the page at 0:40 says nothing
   * about 5 minutes). */
  check(left) {
    for (const mark of this.marks) {
      if (left > mark + 1) this.given.delete(mark);
    }
    if (!this.primed) {
      this.primed = true;
      for (const mark of this.marks) if (left <= mark - 5) this.given.add(mark);
    }
    let due = null;
    for (const mark of this.marks) {
      if (left <= mark && left > 0 && !this.given.has(mark)) {
        this.given.add(mark);
        due = mark;
      }
    }
    return due === null ? null : `${spokenDuration(due)} left.`;
  }

  reset() {
    this.given.clear();
    this.primed = false;
  }
}

/** The notice for a deadline moved from `before` to `after` (epoch seconds), or
 * null when it did not move by more than a second. */
export function deadlineNotice(before, after) {
  if (before === null || before === undefined || after === null || after === undefined) {
    return null;
  }
  const change = after - before;
  if (Math.abs(change) <= 1) return null;
  if (change > 0) return `Your time was extended by ${spokenDuration(change)}.`;
  return `Your deadline was brought forward by ${spokenDuration(-change)}.`;
}
