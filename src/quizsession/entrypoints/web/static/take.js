// The candidate's page: /take#<invite token>. This module wires the page's
// controls and starts it; each concern has its own module:
//
// - take_state.js: the shared state, the server's clock, browser storage;
// - session_flow.js: signing in, resuming, screen to screen (attempt_flow.js
//   decides which screen a view leads to);
// - question_screen.js / questions.js: the question on screen and its control;
// - question_nav.js / navigation.js / summary.js: free navigation (the panel,
//   Previous / Next, flags, the summary before submitting);
// - saving.js: the outbox (outbox.js) and the save indicator (save_policy.js);
// - timer_view.js: the timer, its warnings and notices (time_warnings.js);
// - live_wiring.js: the live channel (live.js) and the HTTP heartbeat;
// - ending.js: submitting, time up, the result, a stopped tab;
// - review.js: the end screen's review (review_format.js: its texts);
// - instructions.js: the instructions and the "Instructions" button;
// - practice_check.js: the practice round's "Check" button and its feedback;
// - dialogs.js: the finish dialog; screens.js: screens, notices, the status region.

import { bindFinishDialog } from "./dialogs.js";
import { finishPractice, submitTest } from "./ending.js";
import { bindInstructions } from "./instructions.js";
import { beatNow, reconnectNow } from "./live_wiring.js";
import { checkAnswer } from "./practice_check.js";
import { bindNavigation } from "./question_nav.js";
import { onAnswerKeydown, onNext } from "./question_screen.js";
import { PERIODIC_SAVE_MS } from "./save_policy.js";
import { captureAnswer, flush } from "./saving.js";
import { clearNotice, showError } from "./screens.js";
import { boot, login, showTestIntro, startSection } from "./session_flow.js";
import { bindSummary } from "./summary.js";
import { $, KEY_SKIP_PRACTICE, phase, state } from "./take_state.js";
import { renderTimer } from "./timer_view.js";

function bind() {
  $("question-form").addEventListener("submit", onNext);
  $("q-body").addEventListener("keydown", onAnswerKeydown);
  $("start-practice").addEventListener("click", () => startSection("practice"));
  $("skip-practice").addEventListener("click", () => {
    sessionStorage.setItem(KEY_SKIP_PRACTICE, "1");
    if (state.view) showTestIntro(state.view);
  });
  $("start-test").addEventListener("click", () => startSection("test"));
  $("q-skip-practice").addEventListener("click", () => finishPractice());
  $("q-check").addEventListener("click", () => checkAnswer());
  bindInstructions();
  $("done-continue").addEventListener("click", () => {
    if (state.view && state.view.section === "practice") finishPractice();
    else submitTest();
  });
  bindFinishDialog();
  bindNavigation();
  bindSummary();
  $("notice-close").addEventListener("click", clearNotice);
  $("busy-retry").addEventListener("click", () => login(false));
  $("busy-takeover").addEventListener("click", () => login(true));
  $("stopped-continue").addEventListener("click", () => {
    // After a takeover, continuing here takes the quiz back in one click.
    const takeover = state.continueMode === "takeover";
    clearNotice();
    phase.enter();
    login(takeover);
  });
  window.addEventListener("online", () => {
    if (!state.session || phase.stopped || phase.finished) return;
    reconnectNow();
    flush();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      renderTimer();
      beatNow();
    } else {
      captureAnswer();
      flush();
    }
  });
  setInterval(renderTimer, 250);
  setInterval(() => {
    if (!state.session || phase.stopped || phase.finished) return;
    captureAnswer();
    flush();
  }, PERIODIC_SAVE_MS);
}

bind();
boot().catch((err) => {
  showError("Something went wrong", String(err), "Reload the page to try again.");
});
