// The timer in the header: the time left on the server's clock, warnings at 5
// and 1 minutes, and a visible notice when the deadline moves (an extension).

import { formatDuration } from "./format.js";
import { onTimeUp } from "./ending.js";
import { showCurrentQuestion } from "./question_screen.js";
import { notify } from "./screens.js";
import { $, phase, serverNow, state, warnings } from "./take_state.js";
import { deadlineNotice } from "./time_warnings.js";

/** A new deadline from the server (undefined: the message did not carry one). */
export function setDeadline(deadline) {
  if (deadline === undefined) return;
  const before = state.deadline;
  state.deadline = deadline;
  const running = state.view && state.view.state === "test_started";
  if (running && !phase.stopped && !phase.finished) {
    const notice = deadlineNotice(before, deadline);
    if (notice) notify(notice);
  }
  if (before !== null && deadline !== null && deadline > before + 0.5 && deadline > serverNow()) {
    // Extended after the time had run out on screen: carry on.
    if (phase.extend()) showCurrentQuestion();
  }
  renderTimer();
}

export function renderTimer() {
  const box = $("timer-box");
  const running =
    state.deadline !== null &&
    !phase.finished &&
    !phase.stopped &&
    state.view &&
    state.view.state === "test_started";
  box.hidden = !running;
  if (!running) return;
  const left = state.deadline - serverNow();
  const text = formatDuration(left);
  const timer = $("timer");
  if (timer.textContent !== text) timer.textContent = text;
  box.classList.toggle("low", left < 60);
  const warning = warnings.check(left);
  if (warning) notify(warning, { kind: "warning" });
  if (left <= 0 && !phase.timeUp) onTimeUp();
}
