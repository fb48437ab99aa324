// The administrator page's rules over the list of attempts: filtering by state,
// searching by name, sorting, and which actions apply to an attempt (with the
// reason when one does not). Pure (unit-tested in tests/js/admin_rules.test.js).

/** The state filter's groups, in the order the page offers them. */
export const STATE_GROUPS = [
  ["all", "All states"],
  ["waiting", "Not started yet"],
  ["running", "Taking the test"],
  ["submitted", "Submitted"],
  ["voided", "Voided"],
];

const BEFORE_TEST = new Set(["practice_not_started", "practice_started", "test_not_started"]);

/** The filter group of a LiveAttempt: waiting, running, submitted or voided. */
export function stateGroup(a) {
  if (a.status === "voided") return "voided";
  if (a.status === "submitted") return "submitted";
  return BEFORE_TEST.has(a.state) ? "waiting" : "running";
}

/** Lower case without accents, for searching ("Zoë" is found by "zoe"). */
export function foldText(text) {
  return String(text ?? "")
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .trim();
}

/** The attempts of `list` in the state `group` ("all": every one) whose name or
 * candidate id contains every word of `search`. */
export function filterAttempts(list, { group = "all", search = "" } = {}) {
  const words = foldText(search).split(/\s+/).filter(Boolean);
  return list.filter((a) => {
    if (group !== "all" && stateGroup(a) !== group) return false;
    if (!words.length) return true;
    const hay = `${foldText(a.candidate_name)} ${foldText(a.candidate_id)}`;
    return words.every((w) => hay.includes(w));
  });
}

/** The sortable columns: key -> label. */
export const SORT_KEYS = {
  name: "Candidate",
  state: "State",
  time: "Time left",
  score: "Score",
};

const GROUP_ORDER = { running: 0, waiting: 1, submitted: 2, voided: 3 };
const STATE_ORDER = {
  test_started: 0,
  practice_not_started: 1,
  practice_started: 2,
  test_not_started: 3,
  test_finished: 4,
};

const collator = new Intl.Collator(undefined, { sensitivity: "base", numeric: true });

function nameOf(a) {
  return a.candidate_name || a.candidate_id || "";
}

/** Time left for sorting: running attempts by their clock, then the ones not
 * started, then closed ones (null: no time left to show). */
function timeValue(a) {
  if (a.status !== "open") return null;
  if (a.time_remaining_s === null || a.time_remaining_s === undefined) return Infinity;
  return a.time_remaining_s;
}

function scoreValue(a) {
  if (a.score === null || a.score === undefined) return null;
  return a.max_score ? a.score / a.max_score : a.score;
}

function compareNumbers(x, y) {
  if (x === y) return 0;
  return x < y ? -1 : 1;
}

const COMPARE = {
  name: (x, y) => collator.compare(nameOf(x), nameOf(y)),
  state: (x, y) =>
    compareNumbers(GROUP_ORDER[stateGroup(x)], GROUP_ORDER[stateGroup(y)]) ||
    compareNumbers(STATE_ORDER[x.state] ?? 9, STATE_ORDER[y.state] ?? 9),
  time: (x, y) => compareNumbers(timeValue(x), timeValue(y)),
  score: (x, y) => compareNumbers(scoreValue(x), scoreValue(y)),
};

/** A sorted copy of `list` by `key` ("name", "state", "time", "score"),
 * `direction` "ascending" or "descending". Attempts without a value (no time
 * left, no score) come last in both directions; ties go by name, then id. */
export function sortAttempts(list, key = "name", direction = "ascending") {
  const compare = COMPARE[key] || COMPARE.name;
  const sign = direction === "descending" ? -1 : 1;
  const missing = (a) =>
    (key === "time" && timeValue(a) === null) || (key === "score" && scoreValue(a) === null);
  return [...list].sort((x, y) => {
    const mx = missing(x);
    const my = missing(y);
    if (mx !== my) return mx ? 1 : -1;
    const primary = mx ? 0 : sign * compare(x, y);
    return (
      primary ||
      collator.compare(nameOf(x), nameOf(y)) ||
      collator.compare(x.attempt_id, y.attempt_id)
    );
  });
}

/** The next sort after a click on column `key`: the same column flips, another
 * starts ascending (score: best first). */
export function nextSort(current, key) {
  if (current.key === key) {
    return { key, direction: current.direction === "ascending" ? "descending" : "ascending" };
  }
  return { key, direction: key === "score" ? "descending" : "ascending" };
}

const DONE_TEXT = {
  submitted: "The attempt was submitted",
  voided: "The attempt was voided",
};

/**
 * Which actions apply to the attempt `a` (a LiveAttempt), each as
 * `{enabled, reason}` (the reason says why not, or "" when enabled).
 * `liveSession`: the attempt's session (null: none; undefined: not known yet).
 */
export function allowedActions(a, { liveSession } = {}) {
  const yes = { enabled: true, reason: "" };
  const no = (reason) => ({ enabled: false, reason });
  const group = stateGroup(a);
  const closed = DONE_TEXT[a.status];
  const actions = {};
  actions.extend = closed
    ? no(`${closed}: ${a.status === "voided" ? "it cannot be changed." : "reopen it to give more time."}`)
    : yes;
  if (closed) actions.unlock = no(`${closed}: there is no session to unlock.`);
  else if (liveSession === null) {
    actions.unlock = no("No session holds this attempt: the candidate can log in already.");
  } else actions.unlock = yes;
  actions.void = a.status === "voided" ? no("The attempt was voided already.") : yes;
  if (group === "submitted" && a.state !== "test_finished" && a.state !== "test_started") {
    actions.reopen = no("The test was never started: there is nothing to reopen.");
  } else if (group === "submitted") actions.reopen = yes;
  else if (group === "voided") actions.reopen = no("A voided attempt stays closed.");
  else actions.reopen = no("The attempt is still open: reopening applies once it is submitted.");
  return actions;
}

/** Whether reopening needs extra time: the deadline plus grace has passed (or
 * there is no deadline to go back to). Times in seconds since the epoch. */
export function reopenNeedsTime(deadline, graceS, now) {
  if (deadline === null || deadline === undefined) return true;
  return deadline + (graceS || 0) <= now;
}

/** The extra seconds typed for a reopen, checked: `{seconds}` or `{error}`. */
export function checkReopenSeconds(text, needsTime) {
  const value = String(text ?? "").trim();
  const seconds = value === "" ? 0 : Number(value);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 604800) {
    return { error: "Enter a number of seconds between 0 and 604800." };
  }
  if (needsTime && seconds <= 0) {
    return { error: "The deadline has passed: give the candidate some time (at least 1 second)." };
  }
  return { seconds };
}
