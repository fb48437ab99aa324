"""The wire module and the client's exceptions follow the service's own tables:
every refusal category has its client class, every code its class and status,
and the wire's answer type is the domain's."""

from __future__ import annotations

import pytest

from quizsession.api import models
from quizsession.api.problems import HTTP_STATUS
from quizsession.client import errors
from quizsession.domain import events
from quizsession.domain.errors import ErrorCode, Refusal


def test_every_category_has_its_class() -> None:
    assert set(errors.BY_CATEGORY) == set(Refusal)
    for refusal, cls in errors.BY_CATEGORY.items():
        assert cls.category is refusal


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_code_raises_a_class_of_its_category(code: ErrorCode) -> None:
    cls = errors.BY_CODE[str(code)]
    assert issubclass(cls, errors.BY_CATEGORY[code.category])
    assert errors.BY_STATUS.get(HTTP_STATUS[code]) in (cls, errors.BY_CATEGORY[code.category])


def test_retried_codes_are_those_after_which_nothing_was_done() -> None:
    assert {
        str(c) for c in ErrorCode if c.category is Refusal.UNAVAILABLE
    } == errors.RETRYABLE_CODES
    assert {"draining", "busy", "store_unavailable"} <= errors.RETRYABLE_CODES


def test_the_window_refusals_are_forbidden() -> None:
    assert errors.BY_CODE["quiz_not_open"] is errors.Forbidden
    assert errors.BY_CODE["quiz_closed"] is errors.Forbidden
    assert errors.BY_STATUS[403] is errors.Forbidden


def test_the_wire_answer_is_the_domain_answer() -> None:
    assert models.AnswerValue == events.AnswerValue
