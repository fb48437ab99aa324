// The end screen's review: the score (or "pending"), the quiz's overall
// feedback for the grade, and each question with the candidate's answer, the
// right answer and feedback, as far as the quiz's review policy shows them now
// (GET /sessions/{id}/review). What the policy hides is not in the answer, so
// it is not on the page either.

import { ApiError, el, request } from "./api.js";
import { formatScore } from "./format.js";
import { reviewText } from "./questions.js";
import {
  overallFeedback,
  questionLines,
  questionTitle,
  reviewNote,
  reviewScore,
} from "./review_format.js";
import { auth, sessionPath } from "./session_flow.js";
import { $, state } from "./take_state.js";

function renderScore(review, fallback) {
  const box = $("result-score");
  const score = review ? reviewScore(review) : fallback;
  box.hidden = !score;
  if (!score) {
    box.replaceChildren();
    return;
  }
  box.dataset.pending = score.pending ? "true" : "false";
  box.replaceChildren(
    el("span", { "aria-hidden": "true", text: score.visual }),
    el("span", { class: "visually-hidden", text: score.spoken }),
  );
}

/** The quiz's overall feedback under the score (text only: line breaks are
 * kept by the style, never parsed as markup). */
function renderOverall(review) {
  const box = $("result-overall");
  const feedback = review ? overallFeedback(review) : null;
  box.hidden = !feedback;
  box.dataset.pending = feedback && feedback.pending ? "true" : "false";
  $("result-overall-text").textContent = feedback ? feedback.text : "";
}

function renderQuestion(q) {
  const headingId = `review-${q.id}-title`;
  const lines = questionLines(q);
  return el(
    "li",
    { class: "review-question", "data-question": q.id, "data-kind": q.kind },
    el(
      "article",
      { "aria-labelledby": headingId },
      el("h3", { id: headingId, text: questionTitle(q) }),
      el("p", { class: "review-text", text: reviewText(q) }),
      ...(q.images || []).map((image) =>
        el("img", { src: image.url, alt: image.alt || "", class: "review-image" }),
      ),
      lines.length
        ? el(
            "dl",
            { class: "review-lines" },
            ...lines.flatMap((line) => [
              el("dt", { text: line.label }),
              el("dd", { text: line.text, "data-line": line.kind }),
            ]),
          )
        : null,
    ),
  );
}

function renderReview(review) {
  const box = $("result-review");
  const note = reviewNote(review, (at) => new Date(at * 1000).toLocaleString());
  const parts = [];
  if (note) parts.push(el("p", { class: "hint", id: "review-note", text: note }));
  if (review.questions.length) {
    parts.push(
      el("h2", { id: "review-title", text: "Your answers" }),
      el(
        "ol",
        { class: "review-list", "aria-labelledby": "review-title" },
        ...review.questions.map(renderQuestion),
      ),
    );
  }
  box.replaceChildren(...parts);
  box.hidden = parts.length === 0;
  box.dataset.available = review.available.join(" ");
}

/** The score from the attempt's result, for when the review cannot be read. */
function resultScore(result) {
  if (!result || result.score === null || result.score === undefined) return null;
  const score = formatScore(result.score);
  const max = formatScore(result.max_score);
  return { visual: `${score} / ${max}`, spoken: `Score: ${score} out of ${max}`, pending: false };
}

/** Fill the result screen from the review (retried a few times on a network
 * failure; without it, the attempt's own result is shown). */
export async function showReview(result, attempt = 0) {
  if (!state.session) {
    renderScore(null, resultScore(result));
    renderOverall(null);
    return;
  }
  renderOverall(null);
  try {
    const { data } = await request("GET", sessionPath("/review"), { token: auth() });
    renderScore(data, null);
    renderOverall(data);
    renderReview(data);
    document.body.dataset.review = "shown";
  } catch (err) {
    if (err instanceof ApiError && err.retryable && attempt < 3) {
      setTimeout(() => showReview(result, attempt + 1), 1000 * (attempt + 1));
      return;
    }
    renderScore(null, resultScore(result));
    document.body.dataset.review = "unavailable";
  }
}
