// What the instructions say about the test's time: its length with the
// candidate's extra time (an accommodation), and when the quiz window's close
// will cut it short. Pure: the local time of the close is formatted by the
// function passed in (tested in tests/js/test_time.test.js).

import { minutesText } from "./format.js";

/** "14:00" in the candidate's own time zone. */
export function localClock(epochSeconds) {
  return new Date(epochSeconds * 1000).toLocaleTimeString([], {
    hour: "2-digit",
    minute: "2-digit",
  });
}

/**
 * The sentences about the test's time, from the attempt view before the start:
 * "The test lasts 10 minutes." or "You have 45 minutes (including 15 minutes of
 * extra time).", then, when the close comes first, "This quiz closes at 14:00
 * (your time), so you will have 32 minutes."
 */
export function testTimeText(view, clock = localClock) {
  const total = view.test_duration_s ?? view.duration_s;
  const extra = view.extra_time_s ?? 0;
  const parts = [
    extra > 0
      ? `You have ${minutesText(total)} (including ${minutesText(extra)} of extra time).`
      : `The test lasts ${minutesText(total)}.`,
  ];
  if (view.cut_by_close && view.closes_at != null && view.effective_time_s != null) {
    parts.push(
      `This quiz closes at ${clock(view.closes_at)} (your time), so you will have ${minutesText(view.effective_time_s)}.`,
    );
  }
  return parts.join(" ");
}
