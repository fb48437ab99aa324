"""A webhook receiver for tests: a small HTTP server on loopback that verifies
every request's signature with the Standard Webhooks reference implementation
(``standardwebhooks``) and records what it got, one JSON line per request
(``webhook-id``, ``webhook-timestamp``, whether the signature verified, the
event and the status it answered).

The path says how to answer: ``/ok`` (204), ``/status/<code>``,
``/slow/<seconds>`` (then 204), ``/flaky/<percent>`` (500 for that share of
requests, chosen at random, else 204; the share failing is logged too).

In a thread (``Receiver(...).start()``) or as a process of its own:
``python -m testsupport.webhook_receiver PORT LOG SECRET [SECRET...]``, which
prints ``ready`` once it listens."""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

MAX_BODY = 1_048_576


class Receiver:
    def __init__(self, secrets: list[str], log: Path, port: int = 0) -> None:
        self.secrets = list(secrets)
        self.log = log
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def verify(self, body: bytes, headers: dict[str, str]) -> bool:
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
                return True
            except WebhookVerificationError:
                continue
        return False

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("content-length") or 0)
        body = request.rfile.read(min(length, MAX_BODY))
        headers = {k.lower(): v for k, v in request.headers.items()}
        status = self.answer(request.path)
        record = {
            "path": request.path,
            "id": headers.get("webhook-id"),
            "timestamp": headers.get("webhook-timestamp"),
            "signatures": len((headers.get("webhook-signature") or "").split()),
            "verified": self.verify(body, headers),
            "event": _json(body),
            "status": status,
            "received_at": time.time(),
        }
        with self._lock, self.log.open("a") as f:
            f.write(json.dumps(record) + "\n")
        request.send_response(status)
        request.send_header("content-length", "0")
        request.end_headers()

    def answer(self, path: str) -> int:
        parts = path.strip("/").split("/")
        if parts[0] == "status" and len(parts) > 1:
            return int(parts[1])
        if parts[0] == "slow" and len(parts) > 1:
            time.sleep(float(parts[1]))
        if parts[0] == "flaky" and len(parts) > 1:
            return 500 if random.random() * 100 < float(parts[1]) else 204
        return 204

    def start(self) -> Receiver:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return None


def read_log(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


if __name__ == "__main__":
    port, log_path, *keys = sys.argv[1:]
    receiver = Receiver(keys, Path(log_path), int(port))
    print("ready", flush=True)
    receiver.server.serve_forever()
