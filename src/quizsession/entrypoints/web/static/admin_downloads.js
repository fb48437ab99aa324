// Downloads for the administrator page (the results as CSV, the HTML report):
// fetched with the key in a header, then offered as a file from a blob, so the
// key never goes into a URL, a link or the browser's history.

import { ApiError } from "./api.js";

/** The file name from a Content-Disposition header, else `fallback`. */
export function filenameFrom(disposition, fallback) {
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition || "");
  if (!m) return fallback;
  let name = m[1];
  try {
    name = decodeURIComponent(name);
  } catch (err) {
    // keep it as sent
  }
  name = name.replace(/[\\/]/g, "_").trim();
  return name || fallback;
}

/** Fetch `path` with `apiKey` and save it as a file. Resolves to the file name;
 * rejects with an ApiError. */
export async function download(path, apiKey, fallback) {
  let response;
  try {
    response = await fetch(path, {
      headers: { "X-API-Key": apiKey },
      cache: "no-store",
      credentials: "omit",
    });
  } catch (err) {
    throw new ApiError(0, "network", "The server could not be reached.", {});
  }
  if (!response.ok) {
    let problem = {};
    try {
      problem = await response.json();
    } catch (err) {
      problem = {};
    }
    throw new ApiError(
      response.status,
      problem.code || `http_${response.status}`,
      problem.detail || response.statusText,
      problem,
    );
  }
  const blob = await response.blob();
  const name = filenameFrom(response.headers.get("Content-Disposition"), fallback);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return name;
}
