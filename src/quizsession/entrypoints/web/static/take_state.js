// The candidate page's shared state: the session, the last view of the attempt,
// the tab's phase, the server's clock, and what is kept in browser storage.
//
// - The invite token arrives in the URL fragment (never sent to a server), is
//   moved to sessionStorage and removed from the address bar.
// - The session token lives in sessionStorage (this tab only); a reload resumes.
// - The question on screen is kept in localStorage, shared by this browser's
//   tabs (a takeover in another tab shows the same question).

import { AttemptPhase } from "./attempt_flow.js";
import { ServerClock } from "./clock.js";
import { TimeWarnings } from "./time_warnings.js";

export const KEY_INVITE = "quizsession.invite";
export const KEY_SESSION = "quizsession.session";
export const KEY_SKIP_PRACTICE = "quizsession.skipPractice";
export const KEY_SUBMIT_OP = "quizsession.submitOp";
export const pendingKey = (attemptId) => `quizsession.pending.${attemptId}`;
const questionKey = (attemptId) => `quizsession.question.${attemptId}`;
const titleKey = (digest) => `quizsession.title.${digest}`;

const CLOCK_CORRECTION_MS = 1000;
// The deployment's heartbeat (the server writes it into the page), used until
// the first attempt view gives the quiz's own (view.heartbeat_s).
const DEPLOYMENT_HEARTBEAT_S =
  Number(document.querySelector('meta[name="quizsession-heartbeat-s"]')?.content) || 5;

export const $ = (id) => document.getElementById(id);
export const clock = new ServerClock(CLOCK_CORRECTION_MS);
export const phase = new AttemptPhase();
export const warnings = new TimeWarnings();

export const state = {
  invite: null,
  session: null, // {id, token, attemptId}
  view: null, // the last AttemptView
  heartbeatS: DEPLOYMENT_HEARTBEAT_S,
  deadline: null, // server epoch seconds
  graceS: 5,
  question: null, // the QuestionView on screen
  nav: null, // the last NavigationView (free navigation)
  saved: {}, // question id -> {answer, section} the server acknowledged
  loginBusy: false,
  busyTimer: null,
  resultTimer: null,
  continueMode: null, // a stopped tab's way back: "takeover", "login" or null
};

export function serverNow() {
  return clock.now();
}

// ----------------------------------------------------------------------------- storage

export function readJson(storage, key) {
  try {
    const raw = storage.getItem(key);
    return raw ? JSON.parse(raw) : null;
  } catch (err) {
    return null;
  }
}

export function writeJson(storage, key, value) {
  try {
    if (value === null || value === undefined) storage.removeItem(key);
    else storage.setItem(key, JSON.stringify(value));
  } catch (err) {
    // Storage full or disabled: the page still works, only resuming is harder.
  }
}

export function saveSession(session) {
  state.session = session;
  writeJson(sessionStorage, KEY_SESSION, session);
}

export function dropSession() {
  state.session = null;
  writeJson(sessionStorage, KEY_SESSION, null);
}

export function readQuestion() {
  return state.session ? readJson(localStorage, questionKey(state.session.attemptId)) : null;
}

export function writeQuestion(question) {
  if (state.session) writeJson(localStorage, questionKey(state.session.attemptId), question);
}

/** A short digest of the invite (FNV-1a), so that the quiz's title can be kept
 * for other tabs of this browser without keeping the invite itself. */
function inviteHash(invite) {
  let h = 0x811c9dc5;
  for (let i = 0; i < invite.length; i += 1) {
    h ^= invite.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16);
}

export function rememberTitle(title) {
  if (state.invite) writeJson(localStorage, titleKey(inviteHash(state.invite)), title);
}

export function rememberedTitle() {
  return state.invite ? readJson(localStorage, titleKey(inviteHash(state.invite))) : null;
}
