import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { filenameFrom } from "../../src/quizsession/entrypoints/web/static/admin_downloads.js";
import {
  formatWhen,
  isoTime,
  parseTimeline,
  zoneLabel,
  zoneOffset,
} from "../../src/quizsession/entrypoints/web/static/admin_timeline.js";

const TEXT = [
  "2016/06/13 13:16:22 created quiz v1 c1",
  "2016/06/13 13:16:22 login s1 epoch 1",
  "2016/06/13 13:20:05 extend 120s by admin fire alarm",
  "",
].join("\n");

describe("the administrator page's timeline", () => {
  it("lists the newest first, same-second events in reverse log order", () => {
    const entries = parseTimeline(TEXT);
    assert.deepEqual(
      entries.map((e) => e.text),
      ["extend 120s by admin fire alarm", "login s1 epoch 1", "created quiz v1 c1"],
    );
    assert.equal(entries[0].at, Date.UTC(2016, 5, 13, 13, 20, 5));
  });

  it("keeps a line without a time", () => {
    assert.deepEqual(parseTimeline("something odd\n"), [{ at: null, text: "something odd" }]);
    assert.deepEqual(parseTimeline(""), []);
  });

  it("shows times in the viewer's zone with the zone named", () => {
    const at = Date.UTC(2016, 5, 13, 13, 16, 22);
    assert.equal(formatWhen(at, "UTC"), "2016-06-13 13:16:22");
    assert.equal(formatWhen(at, "Europe/Paris"), "2016-06-13 15:16:22");
    assert.equal(formatWhen(at, "America/New_York"), "2016-06-13 09:16:22");
    assert.equal(zoneOffset(at, "America/New_York"), "UTC-04:00");
    assert.equal(zoneLabel(at, "Europe/Paris"), "Europe/Paris (UTC+02:00)");
    assert.equal(zoneLabel(at, "UTC"), "UTC");
    assert.equal(zoneOffset(at, "UTC"), "UTC+00:00");
    const winter = Date.UTC(2016, 0, 13, 0, 0, 0);
    assert.equal(zoneLabel(winter, "Europe/Paris"), "Europe/Paris (UTC+01:00)");
    assert.equal(formatWhen(Date.UTC(2016, 0, 1, 0, 0, 0), "Asia/Kolkata"), "2016-01-01 05:30:00");
    assert.equal(isoTime(at), "2016-06-13T13:16:22Z");
  });
});

describe("download file names", () => {
  it("come from Content-Disposition, else the fallback", () => {
    assert.equal(filenameFrom('attachment; filename="quiz-results.csv"', "x.csv"), "quiz-results.csv");
    assert.equal(filenameFrom("inline; filename=a_b-report.html", "x"), "a_b-report.html");
    assert.equal(filenameFrom("attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.csv", "x"), "résumé.csv");
    assert.equal(filenameFrom('attachment; filename="../../etc/passwd"', "x"), ".._.._etc_passwd");
    assert.equal(filenameFrom(null, "fallback.csv"), "fallback.csv");
  });
});
