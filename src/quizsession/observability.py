"""Structured logs: one JSON object per line (``ts``, ``level``, ``logger``,
``msg``, ``request_id`` and the record's extra fields), with the id of the HTTP
request being served taken from a context variable set by the HTTP layer.

Outside the layers like ``settings``: the HTTP middleware sets the request id,
``serve`` installs the handler, and nothing here does I/O at import."""

from __future__ import annotations

import contextvars
import datetime as dt
import itertools
import logging
import os
import re
import secrets
import sys
from typing import IO, Any

import msgspec

#: The id of the request (or live socket) this task is serving, if any.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "quizsession_request_id", default=None
)

TRACE = 5  # uvicorn's level below DEBUG (``--log-level trace``)
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

#: Attributes every ``LogRecord`` has: everything else on a record is an extra.
_STANDARD = frozenset(
    {
        *logging.LogRecord("", 0, "", 0, "", (), None).__dict__,
        "message",
        "asctime",
        "request_id",
        "taskName",
        "color_message",  # uvicorn's copy of the message with terminal colours
    }
)


def safe_request_id(value: str | None) -> str | None:
    """``value`` if it may be echoed and logged as a request id (1-64 characters
    of ``[A-Za-z0-9._-]``), else None."""
    if value is not None and _SAFE_ID.fullmatch(value):
        return value
    return None


class _RequestIds:
    """Request ids without a system call each: 32 hex digits, a random prefix
    drawn once per process (again in a forked child) and a counter. Unique
    across the processes of a service (64 random bits each); not secret (a
    client may choose its own)."""

    __slots__ = ("_count", "_prefix")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._count = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._count) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


_ids = _RequestIds()
os.register_at_fork(after_in_child=_ids.reset)


def new_request_id() -> str:
    return _ids.next()


def _fallback(value: Any) -> Any:
    return repr(value)


_encoder = msgspec.json.Encoder(enc_hook=_fallback)


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON. Values msgspec cannot encode are written as
    their ``repr``; an exception's traceback goes in ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        line: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": request_id,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in line:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        try:
            return _encoder.encode(line).decode()
        except (TypeError, ValueError, OverflowError):
            safe = {k: v if isinstance(v, str | bool | None) else repr(v) for k, v in line.items()}
            return _encoder.encode(safe).decode()


class RequestIdFilter(logging.Filter):
    """Stamps ``request_id`` on a record when it is logged (the context variable
    is read in the logging task, before any handler formats it later)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        return True


def json_handler(stream: IO[str] | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging(level: str = "info", *, stream: IO[str] | None = None) -> logging.Handler:
    """JSON lines on stderr for every logger (uvicorn's included, which propagate
    to the root once uvicorn is told not to configure logging). Replaces the
    root's handlers; returns the one installed."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = json_handler(stream)
    root.addHandler(handler)
    name = level.upper()
    root.setLevel(
        TRACE if name == "TRACE" else logging.getLevelNamesMapping().get(name, logging.INFO)
    )
    logging.captureWarnings(True)
    return handler
