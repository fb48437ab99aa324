// How the administrator's page words an attempt's state, last sign of life and
// time left. Pure (unit-tested in tests/js/admin_format.test.js).

import { formatDuration, formatScore } from "./format.js";

const STATE_TEXT = {
  practice_not_started: "Logged in",
  practice_started: "Practice",
  test_not_started: "Before the test",
  test_started: "Taking the test",
  test_finished: "Finished",
};

/** "Taking the test", "Submitted", "Voided", ... for a LiveAttempt. */
export function stateText(a) {
  if (a.status === "voided") return "Voided";
  if (a.status === "submitted") return a.pending ? "Submitted, score pending" : "Submitted";
  return STATE_TEXT[a.state] || a.state;
}

/** "just now", "42 s ago", "7 min ago", else the date and time. */
export function lastSeenText(lastSeen, now) {
  if (!lastSeen) return "–";
  const ago = Math.max(0, now - lastSeen);
  if (ago < 5) return "just now";
  if (ago < 120) return `${Math.round(ago)} s ago`;
  if (ago < 7200) return `${Math.round(ago / 60)} min ago`;
  return new Date(lastSeen * 1000).toLocaleString();
}

/** "4:09", "not started", or "–" once the attempt is closed. */
export function timeLeftText(a) {
  if (a.status !== "open") return "–";
  if (a.time_remaining_s === null || a.time_remaining_s === undefined) return "not started";
  return formatDuration(a.time_remaining_s);
}

/** "7.5 / 9", "pending (1 / 9 so far)" while answers wait for a grader, "–"
 * before any score. */
export function scoreText(a) {
  if (a.score === null || a.score === undefined) return "–";
  const sofar = `${formatScore(a.score)} / ${formatScore(a.max_score)}`;
  return a.pending ? `pending (${sofar} so far)` : sofar;
}
