// When answers are saved and how their state is told. Pure: no DOM (unit-tested
// in tests/js/save_policy.test.js).
//
// A click on a choice is saved at once; typing is saved after SAVE_QUIET_MS of
// quiet; whatever is on screen is also saved every PERIODIC_SAVE_MS.

export const SAVE_QUIET_MS = 1000;
export const PERIODIC_SAVE_MS = 30000;

/** How long to wait before saving an edit: SAVE_QUIET_MS for an answer that is
 * typed (the kind's renderer says so: `typed` in static/kinds/), 0 for one that
 * is chosen or moved (radio, checkbox, select, a move). */
export function saveDelay(typed) {
  return typed ? SAVE_QUIET_MS : 0;
}

/**
 * The save indicator: `{kind, text}` with kind "idle", "saved", "saving" or
 * "error". `active` is false once the tab stopped or finished; `pending` is how
 * many answers wait to be sent; `failed` whether the last send failed; `anySaved`
 * whether the server has acknowledged any answer yet.
 */
export function saveStateFor({ active, pending, failed, anySaved }) {
  if (!active) return { kind: "idle", text: "" };
  if (pending === 0 && !anySaved) return { kind: "idle", text: "" };
  if (pending === 0) return { kind: "saved", text: "All answers saved" };
  if (failed) {
    return { kind: "error", text: `Not saved yet (${pending}) – kept on this device, retrying` };
  }
  return { kind: "saving", text: "Saving…" };
}
