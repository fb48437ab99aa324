// The server's clock as seen from the page.
//
// Every message from the server carries its time (`server_time`, seconds). The
// offset is server_time - the client's time at receipt, plus half the round trip
// (the message left the server about half a round trip before it arrived; pongs
// echo the ping's send time so the round trip is measured). The client's time is
// the monotonic clock (performance.timeOrigin + performance.now()), so neither a
// wall-clock change nor a throttled background tab moves the timer: it is always
// deadline - (client now + offset), computed afresh on each render.
//
// The offset in use changes only when a sample disagrees with it by more than
// `correctionMs`, so the displayed time never jitters.

import { clientNow } from "./api.js";

export class ServerClock {
  /**
   * @param {number} correctionMs how far a sample must disagree before it is used
   * @param {() => number} now the client's monotonic time in ms (injectable in tests)
   */
  constructor(correctionMs = 1000, now = clientNow) {
    this.correctionMs = correctionMs;
    this.clientNow = now;
    this.applied = null; // ms, the offset the timer uses
    this.measured = null; // ms, the latest sample
    this.rtt = null; // ms, the latest measured round trip
  }

  /** `serverTime` (s) reached us at `receivedAt` (client ms); `rtt` (ms) when
   * known for this message, else the last measured one is used. */
  sample(serverTime, receivedAt, rtt = null) {
    if (typeof serverTime !== "number" || !Number.isFinite(serverTime)) return;
    if (typeof rtt === "number" && rtt >= 0 && Number.isFinite(rtt)) this.rtt = rtt;
    const half = this.rtt !== null ? this.rtt / 2 : 0;
    const offset = serverTime * 1000 + half - receivedAt;
    this.measured = offset;
    if (this.applied === null || Math.abs(offset - this.applied) > this.correctionMs) {
      this.applied = offset;
    }
  }

  /** The server's time now, in seconds. */
  now() {
    return (this.clientNow() + (this.applied || 0)) / 1000;
  }
}
