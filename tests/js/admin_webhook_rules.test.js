import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  checkRegistration,
  checkUrl,
  deliveryCountsText,
  deliveryStatusText,
  endpointState,
  EVENT_TYPES,
  eventTypesText,
  eventTypeText,
  lastStatusText,
  logPage,
  oldestPendingMs,
  pageOffset,
  redeliveredText,
  redeliverAllowed,
} from "../../src/quizsession/entrypoints/web/static/admin_webhook_rules.js";

const ALL = EVENT_TYPES.map(([t]) => t);

function endpoint(fields = {}) {
  return {
    id: "wh_1",
    url: "https://example.org/hooks",
    event_types: ALL,
    enabled: true,
    disabled_reason: "",
    description: "",
    ...fields,
  };
}

function delivery(fields = {}) {
  return {
    id: 7,
    endpoint_id: "wh_1",
    type: "attempt.started",
    attempt_id: "at_1",
    status: "delivered",
    attempts: 1,
    next_try_at: null,
    last_status: 204,
    last_error: null,
    ...fields,
  };
}

describe("registering a webhook endpoint", () => {
  it("sends the URL trimmed, the ticked types in the API's order and the note", () => {
    const { errors, body } = checkRegistration({
      url: "  https://example.org/hooks?team=3 ",
      types: ["attempt.scored", "attempt.started", "bogus"],
      description: "  grades ",
    });
    assert.deepEqual(errors, {});
    assert.deepEqual(body, {
      url: "https://example.org/hooks?team=3",
      event_types: ["attempt.started", "attempt.scored"],
      description: "grades",
    });
  });

  it("leaves an empty description out", () => {
    const { body } = checkRegistration({ url: "http://127.0.0.1:8080/x", types: ALL, description: " " });
    assert.deepEqual(body, { url: "http://127.0.0.1:8080/x", event_types: ALL });
  });

  it("names every field that is wrong, and sends nothing", () => {
    const { errors, body } = checkRegistration({
      url: "",
      types: [],
      description: "x".repeat(201),
    });
    assert.equal(body, null);
    assert.deepEqual(Object.keys(errors), ["url", "types", "description"]);
    assert.match(errors.url, /Enter the URL/);
    assert.match(errors.types, /at least one/);
    assert.match(errors.description, /200 characters \(it has 201\)/);
  });

  it("refuses the URLs the server refuses", () => {
    assert.match(checkUrl("example.org/hooks"), /full URL/);
    assert.match(checkUrl("ftp://example.org/hooks"), /https:\/\//);
    assert.match(checkUrl("https://user:pw@example.org/"), /user name or password/);
    assert.match(checkUrl("https://example.org/#x"), /fragment/);
    assert.match(checkUrl("https://example.org/#"), /fragment/);
    assert.match(checkUrl("https://exa mple.org/"), /spaces/);
    assert.match(checkUrl("https://example.org/\u0007"), /spaces/);
    assert.match(checkUrl(`https://example.org/${"a".repeat(2048)}`), /2048/);
    assert.equal(checkUrl("https://example.org/hooks"), "");
    assert.equal(checkUrl("http://[::1]:9000/h"), "");
  });
});

describe("how endpoints are worded", () => {
  it("says enabled, disabled, or disabled after a 410 Gone", () => {
    assert.deepEqual(endpointState(endpoint()), { text: "Enabled", kind: "on" });
    assert.deepEqual(endpointState(endpoint({ enabled: false })), { text: "Disabled", kind: "off" });
    const gone = endpoint({ enabled: false, disabled_reason: "the destination answered 410: disabled" });
    assert.deepEqual(endpointState(gone), { text: "Disabled after 410 Gone", kind: "off" });
    const other = endpoint({ enabled: false, disabled_reason: "disabled by the destination" });
    assert.equal(endpointState(other).text, "Disabled by the service: disabled by the destination");
  });

  it("words the event types (all of them in two words)", () => {
    assert.equal(eventTypesText(ALL), "Every event");
    assert.equal(eventTypesText(["attempt.started", "attempt.scored"]), "Attempt started, Attempt scored");
    assert.equal(eventTypesText(["attempt.new"]), "attempt.new");
    assert.equal(eventTypeText("attempt.voided"), "Attempt voided");
  });

  it("words the delivery counts, all three always, as text", () => {
    const counts = { pending: 2, delivered: 15, failed: 1, oldest_pending_at: 1_700_000_000.75 };
    assert.equal(deliveryCountsText(counts), "2 pending, 15 delivered, 1 failed");
    assert.equal(deliveryCountsText({ pending: 0, delivered: 0, failed: 0 }), "0 pending, 0 delivered, 0 failed");
    assert.equal(deliveryCountsText(undefined), "0 pending, 0 delivered, 0 failed");
    assert.equal(deliveryCountsText({ pending: -1, delivered: "3", failed: null }), "0 pending, 0 delivered, 0 failed");
  });

  it("gives the oldest pending delivery's time only while one is pending", () => {
    const pending = { pending: 2, delivered: 0, failed: 0, oldest_pending_at: 1_700_000_000.75 };
    assert.equal(oldestPendingMs(pending), 1_700_000_000_000);
    assert.equal(oldestPendingMs({ ...pending, pending: 0 }), null);
    assert.equal(oldestPendingMs({ ...pending, oldest_pending_at: null }), null);
    assert.equal(oldestPendingMs({ ...pending, oldest_pending_at: Number.NaN }), null);
    assert.equal(oldestPendingMs(undefined), null);
  });
});

describe("the delivery log", () => {
  it("words each status, a pending one by whether it was sent", () => {
    assert.equal(deliveryStatusText(delivery()), "Delivered");
    assert.equal(deliveryStatusText(delivery({ status: "failed" })), "Failed");
    assert.equal(deliveryStatusText(delivery({ status: "pending", attempts: 0 })), "Waiting");
    assert.equal(deliveryStatusText(delivery({ status: "pending", attempts: 3 })), "Retrying");
    assert.equal(lastStatusText(delivery({ last_status: 500 })), "500");
    assert.equal(lastStatusText(delivery({ last_status: null })), "–");
  });

  it("allows a redelivery of a sent delivery of an enabled endpoint", () => {
    for (const d of [
      delivery(),
      delivery({ status: "failed", attempts: 40 }),
      delivery({ status: "pending", attempts: 2, last_status: 500 }),
    ]) {
      assert.deepEqual(redeliverAllowed(d, endpoint()), { enabled: true, reason: "" });
    }
  });

  it("disables it, with the reason, when it cannot apply", () => {
    const off = redeliverAllowed(delivery(), endpoint({ enabled: false }));
    assert.equal(off.enabled, false);
    assert.match(off.reason, /disabled: enable it first/);
    const waiting = redeliverAllowed(delivery({ status: "pending", attempts: 0 }), endpoint());
    assert.equal(waiting.enabled, false);
    assert.match(waiting.reason, /Not sent yet/);
  });

  it("says what a redelivery does", () => {
    assert.equal(
      redeliveredText(delivery({ id: 12, type: "attempt.scored" })),
      "Attempt scored (delivery 12) is being sent again now, with the same webhook-id.",
    );
  });

  it("pages newest first, knowing a next page from one row more", () => {
    const rows = Array.from({ length: 21 }, (_, i) => delivery({ id: 100 - i }));
    const first = logPage(rows, 0, 20);
    assert.equal(first.rows.length, 20);
    assert.equal(first.hasNext, true);
    assert.equal(first.hasPrevious, false);
    assert.equal(first.text, "Deliveries 1–20, newest first.");
    const second = logPage(rows.slice(0, 5), 20, 20);
    assert.equal(second.hasNext, false);
    assert.equal(second.hasPrevious, true);
    assert.equal(second.text, "Deliveries 21–25, newest first.");
    assert.equal(logPage([], 0).text, "No deliveries yet.");
    assert.equal(logPage([], 40).text, "No more deliveries.");
    assert.equal(logPage(undefined, 0).rows.length, 0);
  });

  it("turns pages without going below the first", () => {
    assert.equal(pageOffset(0, "next", 20), 20);
    assert.equal(pageOffset(20, "previous", 20), 0);
    assert.equal(pageOffset(10, "previous", 20), 0);
  });
});
