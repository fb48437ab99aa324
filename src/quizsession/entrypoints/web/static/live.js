// The live channel of a candidate's session: the WebSocket
// /sessions/{id}/live (protocol in app/live.py), with a fallback to
// POST /sessions/{id}/heartbeat while the socket is down.
//
// - Authenticates in the first message ({type: "auth", token}); never in the URL.
// - Pings every heartbeat with the question on screen (which keeps the lease),
//   and also when a tick arrives late, so a throttled background tab still
//   heartbeats as often as the server ticks.
// - Reconnects with exponential backoff and jitter; a socket that stays silent
//   for 2.5 heartbeats is given up (a half-open connection) and replaced.
// - "Lost" after MISSED_TICKS heartbeats without any message from the server.

import { clientNow } from "./api.js";

export const MISSED_TICKS = 3;
const MAX_BACKOFF_MS = 15000;

// Close codes the page must act on (app/live.py); others mean "reconnect".
export const CLOSE_AUTH = 4401;
export const CLOSE_ORIGIN = 4403;
export const CLOSE_SUPERSEDED = 4409;
export const CLOSE_ENDED = 4410;
const CLOSE_FLOOD = 4429;
const FINAL = new Set([CLOSE_AUTH, CLOSE_ORIGIN, CLOSE_SUPERSEDED, CLOSE_ENDED]);

export class LiveChannel {
  /**
   * @param {object} o
   * @param {() => string|null} o.sessionId
   * @param {() => string|null} o.token
   * @param {() => number} o.heartbeatS
   * @param {() => string|null} o.questionId the question on screen
   * @param {() => boolean} o.active whether the page still wants the channel
   * @param {(msg: object, receivedAt: number) => void} o.onMessage every server message
   * @param {(code: number, reason: string, errorCode: string|null) => void} o.onClose
   *   an application close (auth refused, taken over, ended, origin)
   * @param {() => Promise<boolean>} o.httpBeat POST /heartbeat; true when it worked
   * @param {(lost: boolean) => void} o.onLost
   */
  constructor(o) {
    this.o = o;
    this.ws = null;
    this.ready = false; // welcomed: the socket carries pings
    this.errorCode = null; // the last {type: "error"} before a close
    this.attempt = 0;
    this.reconnectTimer = null;
    this.beatTimer = null;
    this.lostTimer = null;
    this.lastHeard = clientNow();
    this.lastPingAt = 0;
    this.lost = false;
    this.mode = "none"; // "socket" | "http"
  }

  start() {
    this.stop();
    this.lastHeard = clientNow();
    this.attempt = 0;
    this.connect();
    this.scheduleBeat();
    this.lostTimer = setInterval(() => this.checkLost(), 1000);
  }

  stop() {
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.beatTimer);
    clearInterval(this.lostTimer);
    this.reconnectTimer = null;
    this.beatTimer = null;
    this.lostTimer = null;
    this.closeSocket("bye");
    this.setLost(false);
  }

  /** Any sign of life from the server (a message or an HTTP answer). */
  heard() {
    this.lastHeard = clientNow();
    if (this.lost) this.checkLost();
  }

  /** Connect now (the network came back, HTTP works again). */
  connectNow() {
    if (this.ws) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.attempt = 0;
    this.connect();
  }

  /** One heartbeat: a ping on the socket, else POST /heartbeat. */
  beat() {
    if (!this.o.active()) return;
    const silentFor = clientNow() - this.lastHeard;
    if (this.ws && this.ready && silentFor > 2.5 * this.o.heartbeatS() * 1000) {
      // Open on paper, silent in fact: give it up and reconnect.
      this.closeSocket("silent");
      this.scheduleReconnect();
    }
    if (this.socketUp()) {
      this.ping();
      return;
    }
    this.o.httpBeat().then((ok) => {
      if (ok && !this.ws) this.connectNow();
    });
  }

  ping() {
    if (!this.socketUp()) return;
    this.lastPingAt = clientNow();
    try {
      this.ws.send(
        JSON.stringify({
          type: "ping",
          question_id: this.o.questionId(),
          sent_at: clientNow() / 1000,
        }),
      );
    } catch (err) {
      // the close handler reconnects
    }
  }

  // -- internals ------------------------------------------------------------------

  socketUp() {
    return Boolean(this.ws && this.ready && this.ws.readyState === WebSocket.OPEN);
  }

  setMode(mode) {
    this.mode = mode;
    document.body.dataset.live = mode;
  }

  setLost(lost) {
    if (lost === this.lost) return;
    this.lost = lost;
    this.o.onLost(lost);
  }

  checkLost() {
    const silentFor = clientNow() - this.lastHeard;
    const limit = MISSED_TICKS * this.o.heartbeatS() * 1000 + 500;
    this.setLost(this.o.active() && silentFor > limit);
  }

  scheduleBeat() {
    clearTimeout(this.beatTimer);
    this.beatTimer = setTimeout(() => {
      this.beat();
      this.scheduleBeat();
    }, this.o.heartbeatS() * 1000);
  }

  closeSocket(reason) {
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    if (ws) {
      this.setMode("http");
      try {
        ws.close(1000, reason);
      } catch (err) {
        // already closed
      }
    }
  }

  connect() {
    const sessionId = this.o.sessionId();
    if (!this.o.active() || !sessionId || this.ws) return;
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const url = `${scheme}://${window.location.host}/sessions/${encodeURIComponent(sessionId)}/live`;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.ready = false;
    this.errorCode = null;
    ws.addEventListener("open", () => {
      const token = this.o.token();
      if (this.ws === ws && token) ws.send(JSON.stringify({ type: "auth", token }));
    });
    ws.addEventListener("message", (event) => {
      if (this.ws === ws) this.onSocketMessage(event);
    });
    ws.addEventListener("close", (event) => {
      if (this.ws === ws) this.onSocketClose(event);
    });
  }

  scheduleReconnect(minDelay = 0) {
    if (!this.o.active() || this.reconnectTimer) return;
    const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt);
    const delay = Math.max(minDelay, base * (0.5 + Math.random() * 0.5));
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  onSocketMessage(event) {
    const receivedAt = clientNow();
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch (err) {
      return;
    }
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "error") {
      this.errorCode = msg.code || null;
      return;
    }
    this.heard();
    if (msg.type === "welcome") {
      this.ready = true;
      this.attempt = 0;
      this.setMode("socket");
    } else if (msg.type === "drain") {
      this.attempt = 0; // the server restarts: reconnect promptly
    }
    this.o.onMessage(msg, receivedAt);
    if (msg.type === "welcome") this.ping();
    if (msg.type === "tick" && receivedAt - this.lastPingAt > this.o.heartbeatS() * 800) {
      this.ping(); // timers may be throttled in a background tab; ticks are not
    }
  }

  onSocketClose(event) {
    this.ws = null;
    this.ready = false;
    this.setMode("http");
    if (!this.o.active()) return;
    if (FINAL.has(event.code)) {
      this.o.onClose(event.code, event.reason || "", this.errorCode);
      return;
    }
    this.scheduleReconnect(event.code === CLOSE_FLOOD ? 5000 : 0);
  }
}
