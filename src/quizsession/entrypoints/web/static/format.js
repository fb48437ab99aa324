// Formatting and parsing helpers shared by the pages. Pure functions: no DOM,
// no clock (unit-tested in tests/js/format.test.js).

/** "1:05:09", "4:09", "0:07" for a number of seconds (never negative). */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** "5 minutes", "1 minute 30 seconds", "45 seconds" (for people, spoken or read). */
export function spokenDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  const parts = [];
  if (h) parts.push(`${h} hour${h === 1 ? "" : "s"}`);
  if (m) parts.push(`${m} minute${m === 1 ? "" : "s"}`);
  if (rest || (!m && !h)) parts.push(`${rest} second${rest === 1 ? "" : "s"}`);
  return parts.join(" ");
}

/** A test's length in instructions: "45 seconds", "2 minutes", "90 minutes". */
export function minutesText(seconds) {
  if (seconds < 120) return `${Math.round(seconds)} seconds`;
  return `${Math.round(seconds / 60)} minutes`;
}

/** A score without float noise: 7.5, 8, -0.25; "–" when there is none. */
export function formatScore(value) {
  if (value === null || value === undefined) return "–";
  return String(Math.round(value * 100) / 100);
}

// A number as people type it: digits with one decimal separator (a dot or a
// comma), an optional sign and exponent. No grouping separators.
const PLAIN = /^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$/;
// "1,234" or "12,500": a comma that may be a thousands separator.
const GROUPED = /^[+-]?[1-9]\d{0,2},\d{3}$/;

/**
 * Read a numeric answer as typed. Resolves "3,14" (a decimal comma) to 3.14.
 * Returns `{empty: true}` for nothing typed, `{value}` for a number, or
 * `{error}` with a sentence to show when the text cannot be read as one number
 * without guessing (e.g. "1,234,5", "1.234,5", "1,234", "12 a").
 */
export function parseNumber(text) {
  const raw = String(text ?? "").trim();
  if (raw === "") return { empty: true };
  const compact = raw.replace(/\s+/g, "");
  if (compact !== raw) {
    return { error: "Write the number without spaces, for example 1234.5." };
  }
  const separators = (raw.match(/[.,]/g) || []).length;
  if (separators > 1) {
    return {
      error:
        "This number has more than one dot or comma. Write it with one decimal separator and no thousands separators, for example 1234.5 or 1234,5.",
    };
  }
  if (GROUPED.test(raw)) {
    return {
      error: `“${raw}” could mean ${raw.replace(",", ".")} or ${raw.replace(",", "")}. Write ${raw.replace(",", "")} for the whole number, or use a dot for decimals.`,
    };
  }
  if (!PLAIN.test(raw)) return { error: "Enter a number, for example 42 or 3.14." };
  const value = Number(raw.replace(",", "."));
  if (!Number.isFinite(value)) return { error: "This number is too large." };
  return { value };
}
