"""Reading the fields of one mapping of a quiz definition (YAML/JSON), each problem
located by a JSON-pointer path (``/test/questions/2/choices``; the definition itself
is ``""``).

``Fields`` checks one mapping: it refuses unknown keys and reads each field as a
text, an id, a number, a whole number, a boolean, one of some literals or a time,
recording a ``Problem`` for every value it cannot accept; an unknown key gets a
did-you-mean when it is close to an allowed one (``unknown_key``). ``quiz_validation`` builds
a whole quiz from these readers.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from quizsession.domain.errors import Problem

ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
TIME_MAX = datetime(2200, 1, 1, tzinfo=UTC).timestamp()
ABSENT: Any = object()
"""What ``Fields.get`` returns for a key that is missing (or null where allowed)."""


def ptr(path: str, key: str | int) -> str:
    """The JSON pointer of ``key`` under ``path``."""
    return f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"


def unknown_key(key: str, allowed: Sequence[str]) -> str:
    """The problem of an unknown ``key``: the allowed key it most likely
    misspells, or the allowed keys."""
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key: did you mean {close[0]!r}?"
    return f"unknown key (allowed: {', '.join(allowed)})"


def is_list(value: object) -> bool:
    return isinstance(value, list | tuple)


def mapping(problems: list[Problem], raw: object, path: str) -> Mapping[Any, Any] | None:
    """``raw`` if it is a mapping; else a problem at ``path`` and None."""
    if isinstance(raw, Mapping):
        return raw
    problems.append(Problem(path, "must be a mapping"))
    return None


class Fields:
    """Reads the fields of one mapping, reporting each problem at its path.

    Readers return the value, the default when the key is absent, or None when the
    value is invalid (a problem has been recorded) or absent and required."""

    def __init__(
        self, problems: list[Problem], raw: Mapping[Any, Any], path: str, keys: Iterable[str]
    ) -> None:
        self.problems, self.raw, self.path = problems, raw, path
        allowed = tuple(dict.fromkeys(keys))
        for key in raw:
            if not isinstance(key, str) or key not in allowed:
                self.add(str(key), unknown_key(str(key), allowed))

    def add(self, key: str, message: str) -> None:
        self.problems.append(Problem(ptr(self.path, key), message))

    def get(self, key: str, *, required: bool = False, nullable: bool = False) -> Any:
        value = self.raw.get(key, ABSENT)
        if nullable and value is None:
            value = ABSENT
        if value is ABSENT and required:
            self.add(key, "is required")
        return value

    def text(self, key: str, max_len: int, *, required: bool = False) -> str | None:
        value = self.get(key, required=required, nullable=not required)
        if value is ABSENT:
            return None if required else ""
        if not isinstance(value, str):
            self.add(key, "must be a string")
        elif required and not value.strip():
            self.add(key, "must not be empty")
        elif len(value) > max_len:
            self.add(key, f"must be at most {max_len} characters")
        else:
            return value
        return None

    def optional_text(self, key: str, max_len: int) -> str | None:
        return None if self.get(key, nullable=True) is ABSENT else self.text(key, max_len)

    def ident(self, key: str) -> str | None:
        value = self.get(key, required=True)
        if value is ABSENT:
            return None
        if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
            self.add(key, "must be 1-64 characters of letters, digits, '_', '.' or '-'")
            return None
        return value

    def number(
        self,
        key: str,
        default: float | None = None,
        *,
        low: float | None = None,
        high: float | None = None,
        above: float | None = None,
    ) -> float | None:
        value = self.get(key, required=default is None)
        if value is ABSENT:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(key, "must be a number")
            return None
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            self.add(key, "must be a finite number")
        elif above is not None and number <= above:
            self.add(key, f"must be greater than {above:g}")
        elif (low is not None and number < low) or (high is not None and number > high):
            bounds = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
            self.add(key, f"must be {bounds}")
        else:
            return number
        return None

    def integer(self, key: str, default: int | None, low: int, high: int) -> int | None:
        value = self.get(key, nullable=default is None)
        if value is ABSENT:
            return default
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 5.0 is a whole number (as JSON Schema's integer)
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(key, "must be a whole number")
        elif not low <= value <= high:
            self.add(key, f"must be between {low} and {high}")
        else:
            return value
        return None

    def boolean(self, key: str, default: bool | None) -> bool | None:
        value = self.get(key, required=default is None)
        if value is ABSENT:
            return default
        if not isinstance(value, bool):
            self.add(key, "must be true or false")
            return None
        return value

    def literal(self, key: str, options: Iterable[str], default: str | None) -> Any:
        value = self.get(key, required=default is None)
        if value is ABSENT:
            return default
        allowed = tuple(options)
        if not isinstance(value, str) or value not in allowed:
            self.add(key, f"must be one of {', '.join(map(repr, allowed))}")
            return None
        return value

    def time(self, key: str) -> float | None:
        value = self.get(key, nullable=True)
        if value is ABSENT:
            return None
        epoch: float
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                self.add(key, "is not an ISO-8601 date-time")
                return None
            if moment.tzinfo is None or moment.utcoffset() is None:
                self.add(key, "needs a timezone offset (such as 'Z' or '+02:00')")
                return None
            try:
                epoch = moment.timestamp()
            except (OverflowError, ValueError, OSError):
                epoch = math.inf
        elif isinstance(value, int | float) and not isinstance(value, bool):
            try:
                epoch = float(value)
            except OverflowError:
                epoch = math.inf
        else:
            self.add(key, "must be an ISO-8601 date-time with an offset, or epoch seconds")
            return None
        if not (math.isfinite(epoch) and 0 <= epoch < TIME_MAX):
            self.add(key, "must be between 1970 and 2200")
            return None
        return datetime.fromtimestamp(epoch, UTC).timestamp()  # microsecond precision
