// The administrator page's grading panel: the answers graded by hand of the
// chosen quiz, one at a time (the question, the information for graders, the
// answer as written with its word count), the points and a comment, "Save and
// next". Wording and checks: admin_grading_text.js. Which questions are graded
// by hand is the server's to say: each page of the queue lists them
// (`questions`), and the "Question" filter offers those.

import { itemTitle, pointsHint, readPoints, savedText, wordsText } from "./admin_grading_text.js";
import { $, admin, message, onAuthError, problemText } from "./admin_session.js";
import { ApiError, el } from "./api.js";

const PAGE = 20;

const view = {
  quizId: null,
  items: [], // the answers loaded (one or more pages)
  index: 0, // the one shown
  next: null, // the cursor of the page after the loaded ones (null: none)
  busy: false,
};

function quizPath(quizId) {
  return `/admin/quizzes/${encodeURIComponent(quizId)}`;
}

/** Show the panel for the chosen quiz (or hide it: `quizId` null). */
export async function openGrading(quizId) {
  view.quizId = quizId;
  view.items = [];
  view.index = 0;
  view.next = null;
  message("grading-message", "");
  $("grading-item").hidden = true;
  $("grading-empty").hidden = true;
  $("grading-panel").hidden = quizId === null;
  if (quizId === null) return;
  $("grading-status").value = "pending";
  fillQuestions([]);
  await reload({ fill: true });
}

export function closeGrading() {
  view.quizId = null;
  $("grading-panel").hidden = true;
}

/** The "Question" filter: every question graded by hand, as the queue lists them. */
function fillQuestions(questions) {
  const select = $("grading-question");
  select.replaceChildren(el("option", { value: "", text: "All questions" }));
  for (const q of questions) {
    const text = q.text.length > 60 ? `${q.text.slice(0, 57)}…` : q.text;
    select.append(el("option", { value: q.id, text: `${q.id}: ${text}` }));
  }
}

async function fetchPage(cursor) {
  const params = new URLSearchParams({ status: $("grading-status").value, limit: String(PAGE) });
  const question = $("grading-question").value;
  if (question) params.set("question_id", question);
  if (cursor) params.set("cursor", cursor);
  const { data } = await admin("GET", `${quizPath(view.quizId)}/grading?${params}`);
  return data;
}

/**
 * Load the first page again (after a filter changed, or on demand); `fill`: set
 * the "Question" filter's choices from it (when the panel opens).
 */
async function reload({ fill = false } = {}) {
  if (!view.quizId) return;
  const forQuiz = view.quizId;
  try {
    let page = await fetchPage(null);
    if (fill && forQuiz === view.quizId) fillQuestions(page.questions || []);
    // A page may come back empty with more after it (each request looks at a
    // bounded number of attempts): follow the cursor until an answer or the end.
    while (page.items.length === 0 && page.next_cursor) page = await fetchPage(page.next_cursor);
    if (forQuiz !== view.quizId) return;
    view.items = page.items;
    view.next = page.next_cursor;
    view.index = 0;
    show();
  } catch (err) {
    if (!onAuthError(err)) message("grading-message", problemText(err), "error");
  }
}

/** Make sure the answer at `index` is loaded (fetching later pages); false at the end. */
async function ensure(index) {
  while (index >= view.items.length && view.next) {
    const page = await fetchPage(view.next);
    view.items = view.items.concat(page.items);
    view.next = page.next_cursor;
  }
  return index < view.items.length;
}

function show() {
  const item = view.items[view.index];
  const none = item === undefined;
  $("grading-item").hidden = none;
  $("grading-empty").hidden = !none;
  if (none) {
    const status = $("grading-status").value;
    $("grading-empty").textContent =
      status === "pending" ? "No answers wait for a grade." : "No answers to show.";
    return;
  }
  $("grading-item-title").textContent = itemTitle(item, view.index, view.items.length, view.next !== null);
  $("grading-question-text").textContent = item.question_text;
  $("grading-info-box").hidden = !item.grader_info;
  $("grading-info").textContent = item.grader_info;
  const answer = $("grading-answer");
  answer.textContent = item.answer || "(no answer)";
  $("grading-words").textContent = wordsText(item.word_count, item.word_limit);
  const points = $("grade-points");
  points.min = String(item.min_points);
  points.max = String(item.max_points);
  points.value = item.points === null || item.points === undefined ? "" : String(item.points);
  points.removeAttribute("aria-invalid");
  $("grade-points-hint").textContent = pointsHint(item);
  $("grade-points-error").textContent = "";
  $("grade-comment").value = item.comment || "";
  $("grade-previous").disabled = view.index === 0;
}

async function move(step) {
  if (view.busy) return;
  const target = view.index + step;
  if (target < 0) return;
  view.busy = true;
  try {
    if (!(await ensure(target))) {
      message("grading-message", "That was the last answer.", "ok");
      return;
    }
    view.index = target;
    show();
    $("grading-item-title").focus();
  } catch (err) {
    if (!onAuthError(err)) message("grading-message", problemText(err), "error");
  } finally {
    view.busy = false;
  }
}

async function save(event) {
  event.preventDefault();
  const item = view.items[view.index];
  if (!item || view.busy) return;
  const input = $("grade-points");
  const read = readPoints(input.value, item);
  if (read.problem) {
    $("grade-points-error").textContent = read.problem;
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return;
  }
  input.removeAttribute("aria-invalid");
  $("grade-points-error").textContent = "";
  view.busy = true;
  $("grade-save").disabled = true;
  const path = `/admin/attempts/${encodeURIComponent(item.attempt_id)}/grades/${encodeURIComponent(item.question_id)}`;
  try {
    const { data } = await admin("PUT", path, {
      body: { points: read.points, comment: $("grade-comment").value },
    });
    message("grading-message", savedText(data, item.candidate_name || item.candidate_id), "ok");
    if ($("grading-status").value === "pending") {
      // Graded: it leaves the queue; the next one takes its place.
      view.items.splice(view.index, 1);
      await ensure(view.index);
      if (view.index >= view.items.length) view.index = Math.max(0, view.items.length - 1);
    } else {
      view.items[view.index] = {
        ...item,
        status: "graded",
        points: data.points,
        comment: data.comment,
        grader: data.grader,
      };
      if (await ensure(view.index + 1)) view.index += 1;
    }
    show();
    if (!$("grading-item").hidden) $("grading-item-title").focus();
  } catch (err) {
    if (onAuthError(err)) return;
    if (err instanceof ApiError && err.code === "grade_out_of_range") {
      $("grade-points-error").textContent = problemText(err);
      input.setAttribute("aria-invalid", "true");
      input.focus();
    } else {
      message("grading-message", `Not saved: ${problemText(err)}`, "error");
    }
  } finally {
    view.busy = false;
    $("grade-save").disabled = false;
  }
}

/** Wire the panel's controls (once). */
export function bindGrading() {
  $("grade-form").addEventListener("submit", save);
  $("grade-skip").addEventListener("click", () => move(1));
  $("grade-previous").addEventListener("click", () => move(-1));
  $("grading-reload").addEventListener("click", () => reload());
  $("grading-question").addEventListener("change", () => reload());
  $("grading-status").addEventListener("change", () => reload());
}
