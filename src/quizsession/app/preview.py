"""The state after an append's events, for its index row, without touching the
cached state the executor applies them to only once the store accepted them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from quizsession.domain.attempt import AttemptState, apply
from quizsession.domain.events import AttemptEvent


def copy_preview(state: AttemptState, events: Sequence[AttemptEvent]) -> AttemptState:
    """The state after ``events`` without touching ``state`` (for the index row)."""
    preview = _copy_for_apply(state)
    for event in events:
        apply(preview, event)
    return preview


_T = TypeVar("_T")
_SHARE, _COPY, _RECURSE = 0, 1, 2
_HOW: dict[type, int] = {}  # how _copy_for_apply copies a field holding that type


def _copy_for_apply(obj: _T) -> _T:
    """A copy of a state (or of its section progress) that ``apply`` can change
    without changing the original, at a fraction of the cost of a deep copy:
    every list, dict and set field is a new container and every mutable dataclass
    field is copied likewise; what they hold is shared. ``apply`` changes states
    only through their fields and those containers (it puts new values in, never
    changes one in place); tests/unit/test_executor.py checks it for every event
    type."""
    cls = type(obj)
    new = cls.__new__(cls)
    fields = vars(new)
    for name, value in vars(obj).items():
        how = _HOW.get(type(value))
        if how is None:
            how = _HOW[type(value)] = _how(type(value))
        if how == _COPY:
            value = value.copy()
        elif how == _RECURSE:
            value = _copy_for_apply(value)
        fields[name] = value
    return new


def _how(cls: type) -> int:
    if issubclass(cls, list | dict | set):
        return _COPY
    params = getattr(cls, "__dataclass_params__", None)
    return _RECURSE if params is not None and not params.frozen else _SHARE
