// An attempt's timeline for the administrator page: the server's lines
// ("2016/06/13 13:16:22 login s1 epoch 1", UTC, oldest first) newest first, each
// time in the viewer's time zone. Pure (unit-tested in tests/js/admin_timeline.test.js).

const LINE = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) ?(.*)$/;

/** The entries of a timeline text, newest first: `{at, text}` with `at` in ms
 * since the epoch (null for a line without a time). Events of the same second
 * keep the log's order, reversed. */
export function parseTimeline(text) {
  const entries = [];
  for (const line of String(text ?? "").split("\n")) {
    if (!line.trim()) continue;
    const m = LINE.exec(line);
    if (!m) {
      entries.push({ at: null, text: line.trim() });
      continue;
    }
    const [y, mo, d, h, mi, s] = m.slice(1, 7).map((v) => Number.parseInt(v, 10));
    entries.push({ at: Date.UTC(y, mo - 1, d, h, mi, s), text: m[7] });
  }
  return entries.reverse();
}

function parts(ms, timeZone, extra = {}) {
  const format = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    ...extra,
  });
  return Object.fromEntries(format.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
}

/** "2016-06-13 15:16:22": the time `ms` in `timeZone` (an IANA name). */
export function formatWhen(ms, timeZone) {
  const p = parts(ms, timeZone);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** "UTC+02:00" (or "UTC"): the offset of `timeZone` at the time `ms`. */
export function zoneOffset(ms, timeZone) {
  const name = parts(ms, timeZone, { timeZoneName: "longOffset" }).timeZoneName || "GMT";
  if (name === "GMT" || name === "UTC") return "UTC+00:00";
  return name.replace(/^GMT/, "UTC").replace("\u2212", "-");
}

/** "Europe/Paris (UTC+02:00)": the zone the times are shown in ("UTC" for UTC). */
export function zoneLabel(ms, timeZone) {
  if (!timeZone || timeZone === "UTC" || timeZone === "Etc/UTC") return "UTC";
  return `${timeZone} (${zoneOffset(ms, timeZone)})`;
}

/** The viewer's time zone (the browser's), "UTC" when it cannot tell. */
export function viewerTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch (err) {
    return "UTC";
  }
}

/** The ISO-8601 UTC form for a <time datetime>. */
export function isoTime(ms) {
  return new Date(ms).toISOString().replace(/\.000Z$/, "Z");
}
