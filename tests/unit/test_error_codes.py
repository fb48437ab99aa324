"""The one vocabulary of refusals: every ``ErrorCode`` has a category and an HTTP
status, the tables hold nothing else, and a problem body is built from them."""

from __future__ import annotations

import re
import subprocess
import sys

import msgspec
import pytest

from quizsession.api.problems import (
    HTTP_STATUS,
    TITLES,
    ProblemDetails,
    known_code,
    problem_body,
    status_for,
    status_of,
    title_of,
)
from quizsession.domain.errors import (
    CATEGORY,
    DomainError,
    ErrorCode,
    InvalidDefinition,
    Problem,
    Refusal,
    refuse,
)


def test_every_code_has_a_category() -> None:
    missing = [code for code in ErrorCode if code not in CATEGORY]
    assert missing == []
    assert set(CATEGORY) == set(ErrorCode)
    for code in ErrorCode:
        assert isinstance(code.category, Refusal)


def test_every_category_is_used() -> None:
    assert {code.category for code in ErrorCode} == set(Refusal)


def test_status_table_is_complete_and_has_no_extra_keys() -> None:
    assert set(HTTP_STATUS) == set(ErrorCode)
    assert all(isinstance(code, ErrorCode) for code in HTTP_STATUS)


def test_codes_are_stable_wire_strings() -> None:
    values = [code.value for code in ErrorCode]
    assert len(values) == len(set(values))
    for code in ErrorCode:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", code.value), code
        assert str(code) == code.value
        assert msgspec.json.encode(code) == f'"{code.value}"'.encode()


def test_every_status_is_an_error_status_with_a_title() -> None:
    for code, status in HTTP_STATUS.items():
        assert 400 <= status <= 599, (code, status)
        assert status in TITLES, (code, status)
        assert title_of(status) == TITLES[status]
    assert title_of(418) == "Error"


@pytest.mark.parametrize(
    ("refusal", "statuses"),
    [
        (Refusal.AUTH, {401}),
        (Refusal.NOT_FOUND, {404}),
        (Refusal.STATE, {403, 409}),
        (Refusal.LIMIT, {429}),
        (Refusal.UNAVAILABLE, {503}),
        (Refusal.INTERNAL, {500}),
        (Refusal.INPUT, {400, 405, 413, 415, 422}),
    ],
)
def test_categories_agree_with_statuses(refusal: Refusal, statuses: set[int]) -> None:
    assert {status_of(c) for c in ErrorCode if c.category is refusal} == statuses


def test_wire_codes_are_looked_up_by_their_string() -> None:
    assert known_code("deadline_passed") is ErrorCode.DEADLINE_PASSED
    assert known_code("from_a_newer_server") is None
    assert status_for("session_active") == 409
    assert status_for("from_a_newer_server") is None
    # StrEnum members are their strings: the table answers a plain string too.
    assert HTTP_STATUS.get("not_found") == 404  # type: ignore[call-overload]


def test_domain_error_takes_a_code() -> None:
    exc = refuse(ErrorCode.VERSION_MISMATCH, "stale", version=3)
    assert isinstance(exc, DomainError)
    assert exc.code is ErrorCode.VERSION_MISMATCH
    assert exc.detail == "stale"
    assert exc.extra == {"version": 3}
    with pytest.raises(ValueError, match="not_a_code"):
        DomainError("no such code", code="not_a_code")  # type: ignore[arg-type]
    invalid = InvalidDefinition([Problem("/title", "required")])
    assert invalid.code is ErrorCode.QUIZ_INVALID
    assert invalid.extra == {"problems": [{"path": "/title", "message": "required"}]}


def test_problem_body_is_built_from_the_table() -> None:
    body = problem_body(
        ErrorCode.DEADLINE_PASSED, "the deadline has passed", instance="/x", deadline=12.5
    )
    assert list(body) == ["type", "title", "status", "code", "detail", "instance", "deadline"]
    assert body == {
        "type": "/problems/deadline_passed",
        "title": "Conflict with the attempt's state",
        "status": 409,
        "code": "deadline_passed",
        "detail": "the deadline has passed",
        "instance": "/x",
        "deadline": 12.5,
    }
    decoded = msgspec.json.decode(msgspec.json.encode(body), type=ProblemDetails)
    assert decoded.error_code is ErrorCode.DEADLINE_PASSED
    assert decoded.deadline == 12.5
    # The framework's own status wins where it answered (e.g. a 502 as ``internal``).
    relayed = problem_body(ErrorCode.INTERNAL, "internal error", status=502)
    assert (relayed["status"], relayed["title"]) == (502, "Error")


def test_the_wire_module_needs_only_msgspec() -> None:
    """The typed client imports ``quizsession.api.problems`` where only httpx and
    msgspec are installed: importing it loads no server part."""
    code = (
        "import sys; import quizsession.api.problems; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'litestar', 'asyncpg', 'redis', 'typer', 'yaml'} or "
        "(m.startswith('quizsession.') and m.split('.')[1] in "
        "{'app', 'adapters', 'entrypoints', 'bootstrap'})); print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
