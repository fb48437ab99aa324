import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  PERIODIC_SAVE_MS,
  SAVE_QUIET_MS,
  saveDelay,
  saveStateFor,
} from "../../src/quizsession/entrypoints/web/static/save_policy.js";

describe("saveDelay", () => {
  it("saves a click at once and typing after a second of quiet", () => {
    assert.equal(saveDelay(false), 0);
    assert.equal(saveDelay(true), SAVE_QUIET_MS);
    assert.equal(SAVE_QUIET_MS, 1000);
    assert.equal(PERIODIC_SAVE_MS, 30000);
  });
});

describe("saveStateFor", () => {
  const base = { active: true, pending: 0, failed: false, anySaved: false };

  it("says nothing before the first answer and after the end", () => {
    assert.deepEqual(saveStateFor(base), { kind: "idle", text: "" });
    assert.deepEqual(saveStateFor({ ...base, active: false, pending: 2, failed: true }), {
      kind: "idle",
      text: "",
    });
  });

  it("tells saving, saved and not saved", () => {
    assert.deepEqual(saveStateFor({ ...base, pending: 1 }), { kind: "saving", text: "Saving…" });
    assert.deepEqual(saveStateFor({ ...base, anySaved: true }), {
      kind: "saved",
      text: "All answers saved",
    });
    const failed = saveStateFor({ ...base, pending: 2, failed: true, anySaved: true });
    assert.equal(failed.kind, "error");
    assert.match(failed.text, /^Not saved yet \(2\)/);
  });

  it("is saved, not failed, once nothing waits (a past failure does not linger)", () => {
    assert.equal(saveStateFor({ ...base, pending: 0, failed: true, anySaved: true }).kind, "saved");
  });
});
