"""The keys every question and every quiz gained with the new kinds: a question's
``images``, the quiz's ``navigation`` and ``review``, and how selection counts
descriptions."""

from __future__ import annotations

import copy

import pytest

from quizsession.domain.errors import InvalidDefinition
from quizsession.domain.quiz import Quiz
from quizsession.domain.quiz_export import quiz_to_mapping
from quizsession.domain.quiz_images import MAX_IMAGE_BYTES
from quizsession.domain.quiz_validation import parse_quiz
from tests.unit.kind_definitions import Q, Raw, changed, one, problems, quiz_of
from testsupport.sample_kinds import sample_question

# ---------------------------------------------------------------- images


def test_images_are_read_and_exported() -> None:
    q = one(
        changed(
            "single",
            images=[
                {"url": "https://x.org/a.png", "alt": "A map"},
                {"url": "data:image/png;base64,iVBORw0KGgo="},
            ],
        )
    )
    assert [(i.url, i.alt) for i in q.images] == [
        ("https://x.org/a.png", "A map"),
        ("data:image/png;base64,iVBORw0KGgo=", ""),
    ]


@pytest.mark.parametrize(
    ("images", "path", "message"),
    [
        ("x.png", f"{Q}/images", "must be a list of {url, alt} mappings"),
        (
            [{"url": "http://x.org/a.png"}],
            f"{Q}/images/0/url",
            "must be an https:// URL or a data:image/... URL",
        ),
        (
            [{"url": "javascript:alert(1)"}],
            f"{Q}/images/0/url",
            "must be an https:// URL or a data:image/... URL",
        ),
        (
            [{"url": "data:image/svg+xml;base64,PHN2Zz4="}],
            f"{Q}/images/0/url",
            "must be a base64 data:image/(png|jpeg|gif|webp) URL",
        ),
        (
            [{"url": "data:image/png;base64,abc"}],
            f"{Q}/images/0/url",
            "must be a base64 data:image/(png|jpeg|gif|webp) URL",
        ),
        (
            [{"url": "data:image/png;base64," + "A" * (MAX_IMAGE_BYTES // 3 * 4 + 8)}],
            f"{Q}/images/0/url",
            "must be an image of at most 512 KiB",
        ),
        ([{"alt": "no url"}], f"{Q}/images/0/url", "is required"),
        ([{"url": "https://x.org/a.png", "alt": 3}], f"{Q}/images/0/alt", "must be a string"),
        (
            [{"url": "https://x.org/a.png", "title": "t"}],
            f"{Q}/images/0/title",
            "unknown key (allowed: url, alt)",
        ),
        ([{"url": "https://x.org/a.png"}] * 21, f"{Q}/images", "must have at most 20 images"),
    ],
)
def test_bad_images_are_refused(images: object, path: str, message: str) -> None:
    assert problems(changed("single", images=images))[path] == message


# ---------------------------------------------------------------- navigation and review


def test_navigation_and_review_are_read_and_exported() -> None:
    raw = quiz_of(
        sample_question("single"),
        navigation="free",
        review={"after_submit": ["score", "answers"], "after_close": []},
    )
    quiz = parse_quiz(raw)
    assert quiz.navigation == "free"
    assert quiz.review.after_submit == ("score", "answers")
    assert quiz.review.after_close == ()
    exported = quiz_to_mapping(quiz)
    assert exported["navigation"] == "free"
    assert exported["review"] == {"after_submit": ["score", "answers"], "after_close": []}
    assert parse_quiz(exported) == quiz
    default = parse_quiz(quiz_of(sample_question("single")))
    assert "navigation" not in quiz_to_mapping(default)
    assert "review" not in quiz_to_mapping(default)


@pytest.mark.parametrize(
    ("top", "path", "message"),
    [
        ({"navigation": "random"}, "/navigation", "must be one of 'sequential', 'free'"),
        (
            {"review": {"after_submit": ["score", "score"]}},
            "/review/after_submit/1",
            "duplicate review item 'score'",
        ),
        (
            {"review": {"after_close": ["grades"]}},
            "/review/after_close/0",
            "must be one of 'score', 'answers', 'right_answers', 'feedback'"
            ", 'general_feedback', 'overall_feedback'",
        ),
        (
            {"review": {"after_close": "score"}},
            "/review/after_close",
            "must be a list of 'score', 'answers', 'right_answers', 'feedback'"
            ", 'general_feedback', 'overall_feedback'",
        ),
        (
            {"review": {"during": []}},
            "/review/during",
            "unknown key (allowed: after_submit, after_close)",
        ),
        ({"review": []}, "/review", "must be a mapping"),
    ],
)
def test_bad_navigation_and_review_are_refused(top: Raw, path: str, message: str) -> None:
    assert problems(sample_question("single"), **top)[path] == message


def test_free_navigation_with_adaptive_selection_is_refused() -> None:
    raw = quiz_of(sample_question("single"), navigation="free")
    raw["test"]["questions"].append(
        {"id": "tf", "kind": "true_false", "text": "?", "correct": True}
    )
    raw["test"]["selection"] = {"mode": "adaptive", "count": 1}
    with pytest.raises(InvalidDefinition) as caught:
        parse_quiz(raw)
    assert [p.path for p in caught.value.problems] == ["/navigation"]
    raw["navigation"] = "sequential"
    assert isinstance(parse_quiz(copy.deepcopy(raw)), Quiz)


def test_pool_counts_only_questions_that_take_an_answer() -> None:
    raw = quiz_of(
        sample_question("description"), sample_question("single"), sample_question("true_false")
    )
    raw["test"]["selection"] = {"mode": "pool", "count": 3}
    assert problems(raw["test"]["questions"][0], test=raw["test"])["/test/selection/count"] == (
        "must be at most the number of questions (2)"
    )
