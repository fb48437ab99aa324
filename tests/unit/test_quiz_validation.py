from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import msgspec
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from quizsession.domain.errors import InvalidDefinition
from quizsession.domain.quiz import Choice, Policies, Question, Quiz, Section, Selection
from quizsession.domain.quiz_export import quiz_to_mapping
from quizsession.domain.quiz_validation import (
    ID_PATTERN,
    MAX_CHOICES,
    MAX_QUESTION_TEXT,
    MAX_QUESTIONS,
    TIME_MAX,
    parse_quiz,
)

Raw = dict[str, Any]


def valid() -> Raw:
    """A small valid definition using every question kind; tests mutate a fresh copy."""
    return {
        "id": "geo-1",
        "title": "Geography",
        "duration_s": 600,
        "practice": {
            "questions": [{"id": "p1", "kind": "true_false", "text": "Warm-up?", "correct": True}]
        },
        "test": {
            "questions": [
                {
                    "id": "t0",
                    "kind": "single",
                    "text": "Capital of France?",
                    "choices": [
                        {"id": "a", "text": "Paris", "correct": True},
                        {"id": "b", "text": "Lyon"},
                    ],
                },
                {
                    "id": "t1",
                    "kind": "multiple",
                    "text": "Which are in Europe?",
                    "choices": [
                        {"id": "a", "text": "Spain", "correct": True},
                        {"id": "b", "text": "Peru"},
                        {"id": "c", "text": "Italy", "correct": True},
                    ],
                },
                {"id": "t2", "kind": "true_false", "text": "Rome is in Italy.", "correct": True},
                {"id": "t3", "kind": "numeric", "text": "Number of continents?", "value": 7},
                {"id": "t4", "kind": "short_text", "text": "Longest river?", "accepted": ["Nile"]},
                {
                    "id": "t5",
                    "kind": "single",
                    "text": "Highest mountain?",
                    "choices": [
                        {"id": "x", "text": "K2"},
                        {"id": "y", "text": "Everest", "correct": True},
                    ],
                },
            ]
        },
    }


def paths(raw: object) -> list[str]:
    """The sorted paths of the problems ``parse_quiz`` reports for ``raw``."""
    with pytest.raises(InvalidDefinition) as info:
        parse_quiz(raw)
    assert info.value.code == "quiz_invalid"
    assert info.value.extra["problems"] == [p.as_dict() for p in info.value.problems]
    assert all(p.message for p in info.value.problems)
    return sorted(p.path for p in info.value.problems)


def with_(change: Callable[[Raw], object]) -> Raw:
    raw = valid()
    change(raw)
    return raw


def q(raw: Raw, i: int) -> Raw:
    question: Raw = raw["test"]["questions"][i]
    return question


# ---------------------------------------------------------------- valid input


def test_valid_definition_is_parsed() -> None:
    quiz = parse_quiz(valid())
    assert quiz.id == "geo-1"
    assert quiz.duration_s == 600.0
    assert isinstance(quiz.duration_s, float)
    assert quiz.version == 1
    assert quiz.practice is not None
    assert quiz.practice.kind == "practice"
    assert quiz.test.kind == "test"
    assert [x.id for x in quiz.test.questions] == ["t0", "t1", "t2", "t3", "t4", "t5"]
    assert quiz.test.questions[0].choices[0] == Choice(id="a", text="Paris", correct=True)
    assert quiz.test.questions[3].value == 7.0
    assert quiz.test.questions[4].accepted == ("Nile",)
    assert quiz.policies == Policies()
    assert quiz.test.selection == Selection()


def test_the_demo_quiz_is_valid() -> None:
    text = resources.files("quizsession").joinpath("examples/demo.yaml").read_text("utf-8")
    quiz = parse_quiz(yaml.safe_load(text))
    assert quiz.title == "Demo: general knowledge"
    assert quiz.duration_s == 600.0
    assert quiz.policies.second_login == "takeover"
    assert quiz.policies.grace_s == 5.0
    assert quiz.practice is not None
    assert len(quiz.practice.questions) == 3
    assert len(quiz.test.questions) == 10
    kinds = {x.kind for x in quiz.test.questions}
    assert kinds == {"single", "multiple", "true_false", "short_text", "numeric"}
    assert any(x.penalty > 0 for x in quiz.test.questions)
    assert any(x.kind == "multiple" and x.partial == "per_option" for x in quiz.test.questions)
    assert parse_quiz(quiz_to_mapping(quiz)) == quiz


def test_version_is_ignored() -> None:
    assert parse_quiz(with_(lambda r: r.update(version="anything"))).version == 1
    assert parse_quiz(with_(lambda r: r.update(version=42))).version == 1


def test_nulls_stand_for_absent_optional_fields() -> None:
    def change(r: Raw) -> None:
        r.update(practice=None, opens_at=None, closes_at=None, policies=None)
        q(r, 0)["feedback"] = None
        r["test"]["selection"] = None

    quiz = parse_quiz(with_(change))
    assert quiz.practice is None
    assert quiz.opens_at is None
    assert quiz.test.questions[0].feedback is None


def test_section_kind_may_be_given_when_it_matches() -> None:
    def change(r: Raw) -> None:
        r["practice"]["kind"] = "practice"
        r["test"]["kind"] = "test"

    assert parse_quiz(with_(change)).test.kind == "test"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2030-05-01T09:00:00Z", datetime(2030, 5, 1, 9, tzinfo=UTC).timestamp()),
        ("2030-05-01T11:00:00+02:00", datetime(2030, 5, 1, 9, tzinfo=UTC).timestamp()),
        (
            "2030-05-01T09:00:00.250000+00:00",
            datetime(2030, 5, 1, 9, tzinfo=UTC).timestamp() + 0.25,
        ),
        (1_900_000_000, 1_900_000_000.0),
        (1_900_000_000.5, 1_900_000_000.5),
    ],
)
def test_times_accept_iso_with_offset_and_epoch_seconds(given: object, expected: float) -> None:
    quiz = parse_quiz(with_(lambda r: r.update(opens_at=given)))
    assert quiz.opens_at == expected


def test_time_window_and_export() -> None:
    raw = with_(lambda r: r.update(opens_at="2030-05-01T09:00:00Z", closes_at=1_904_000_000))
    quiz = parse_quiz(raw)
    exported = quiz_to_mapping(quiz)
    assert exported["opens_at"] == "2030-05-01T09:00:00Z"
    assert exported["closes_at"] == "2030-05-03T00:53:20Z"
    assert parse_quiz(exported) == quiz


@pytest.mark.parametrize(
    "selection",
    [
        {"mode": "fixed", "count": 6},
        {"mode": "shuffled"},
        {"mode": "pool", "count": 1},
        {"mode": "pool", "count": 6},
        {"mode": "adaptive", "count": 3},
        {"count": 6},
    ],
)
def test_valid_selections(selection: Raw) -> None:
    quiz = parse_quiz(with_(lambda r: r["test"].update(selection=selection)))
    assert quiz.test.selection == Selection(**selection)


def test_limits_are_inclusive() -> None:
    def change(r: Raw) -> None:
        q(r, 0)["text"] = "x" * MAX_QUESTION_TEXT
        q(r, 1)["choices"] = [{"id": f"c{i}", "text": "c", "correct": True} for i in range(200)]
        q(r, 2)["id"] = "i" * 64
        r["policies"] = {
            "grace_s": 300,
            "heartbeat_s": 60,
            "lease_ttl_s": 120,
            "idle_timeout_s": 60,
        }

    quiz = parse_quiz(with_(change))
    assert len(quiz.test.questions[1].choices) == MAX_CHOICES


# ---------------------------------------------------------------- invalid input: shape


def test_not_a_mapping() -> None:
    assert paths([1, 2]) == [""]
    assert paths("quiz") == [""]
    assert paths(None) == [""]


def test_empty_mapping_lists_every_required_field() -> None:
    assert paths({}) == ["/duration_s", "/id", "/test", "/title"]


def test_unknown_keys_are_listed_at_every_level() -> None:
    def change(r: Raw) -> None:
        r["colour"] = "red"
        r["test"]["shuffle"] = True
        q(r, 0)["hint"] = "think"
        q(r, 0)["choices"][1]["weight"] = 2
        r["policies"] = {"grace": 5}
        r["test"]["selection"] = {"mode": "pool", "count": 2, "seed": 1}
        r["a/b~c"] = 1

    assert paths(with_(change)) == [
        "/a~1b~0c",
        "/colour",
        "/policies/grace",
        "/test/questions/0/choices/1/weight",
        "/test/questions/0/hint",
        "/test/selection/seed",
        "/test/shuffle",
    ]


def test_non_string_key_is_unknown() -> None:
    raw: dict[object, object] = {1: "x"}
    raw.update(valid())
    assert paths(raw) == ["/1"]


@pytest.mark.parametrize("bad", ["", "has space", "x" * 65, "é", 12, None, "a/b"])
def test_ids_must_match_the_pattern(bad: object) -> None:
    assert paths(with_(lambda r: r.update(id=bad))) == ["/id"]
    assert paths(with_(lambda r: q(r, 2).update(id=bad))) == ["/test/questions/2/id"]
    assert paths(with_(lambda r: q(r, 0)["choices"][0].update(id=bad))) == [
        "/test/questions/0/choices/0/id"
    ]


def test_id_pattern() -> None:
    assert ID_PATTERN.fullmatch("Aa0_.-")
    assert not ID_PATTERN.fullmatch("a b")


@pytest.mark.parametrize("bad", [0, -1, "600", True, math.nan, math.inf, None, 10**400])
def test_duration_must_be_a_positive_finite_number(bad: object) -> None:
    assert paths(with_(lambda r: r.update(duration_s=bad))) == ["/duration_s"]


@pytest.mark.parametrize("bad", ["", "   ", 5, None, "t" * 501])
def test_title_must_be_a_non_empty_bounded_string(bad: object) -> None:
    assert paths(with_(lambda r: r.update(title=bad))) == ["/title"]


def test_test_section_needs_questions() -> None:
    assert paths(with_(lambda r: r["test"].update(questions=[]))) == ["/test/questions"]
    assert paths(with_(lambda r: r["test"].update(questions={"a": 1}))) == ["/test/questions"]
    assert paths(with_(lambda r: r["test"].pop("questions"))) == ["/test/questions"]
    assert paths(with_(lambda r: r.update(test=[]))) == ["/test"]
    assert paths(with_(lambda r: r.update(test=None))) == ["/test"]
    assert paths(with_(lambda r: r["practice"].update(questions=[]))) == ["/practice/questions"]


def test_question_count_is_bounded() -> None:
    many = [
        {"id": f"q{i}", "kind": "true_false", "text": "?", "correct": True} for i in range(5001)
    ]
    assert len(many) > MAX_QUESTIONS
    assert paths(with_(lambda r: r["test"].update(questions=many))) == ["/test/questions"]


def test_question_must_be_a_mapping() -> None:
    assert paths(with_(lambda r: r["test"]["questions"].append("t6"))) == ["/test/questions/6"]


def test_section_kind_must_match_its_position() -> None:
    def change(r: Raw) -> None:
        r["practice"]["kind"] = "test"
        r["test"]["kind"] = "practice"

    assert paths(with_(change)) == ["/practice/kind", "/test/kind"]


def test_question_ids_are_unique_across_the_quiz() -> None:
    def change(r: Raw) -> None:
        q(r, 3)["id"] = "p1"  # the practice question's id
        q(r, 5)["id"] = "t0"

    assert paths(with_(change)) == ["/test/questions/3/id", "/test/questions/5/id"]


def test_choice_ids_are_unique_per_question() -> None:
    def change(r: Raw) -> None:
        q(r, 1)["choices"][2]["id"] = "a"

    assert paths(with_(change)) == ["/test/questions/1/choices/2/id"]
    # the same choice id in two different questions is fine ("a" in t0 and t1)
    parse_quiz(valid())


# ---------------------------------------------------------------- invalid input: kinds


def test_kind_is_required_and_known() -> None:
    assert paths(with_(lambda r: q(r, 2).pop("kind"))) == ["/test/questions/2/kind"]
    assert paths(with_(lambda r: q(r, 2).update(kind="drag_and_drop"))) == [
        "/test/questions/2/kind"
    ]


def test_question_text() -> None:
    assert paths(with_(lambda r: q(r, 2).update(text=""))) == ["/test/questions/2/text"]
    assert paths(with_(lambda r: q(r, 2).pop("text"))) == ["/test/questions/2/text"]
    long_text = "x" * (MAX_QUESTION_TEXT + 1)
    assert paths(with_(lambda r: q(r, 2).update(text=long_text))) == ["/test/questions/2/text"]


def test_single_choice_rules() -> None:
    one = [{"id": "a", "text": "A", "correct": True}]
    assert paths(with_(lambda r: q(r, 0).update(choices=one))) == ["/test/questions/0/choices"]
    two_right = [
        {"id": "a", "text": "A", "correct": True},
        {"id": "b", "text": "B", "correct": True},
    ]
    assert paths(with_(lambda r: q(r, 0).update(choices=two_right))) == [
        "/test/questions/0/choices"
    ]
    none_right = [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}]
    assert paths(with_(lambda r: q(r, 0).update(choices=none_right))) == [
        "/test/questions/0/choices"
    ]
    assert paths(with_(lambda r: q(r, 0).pop("choices"))) == ["/test/questions/0/choices"]
    assert paths(with_(lambda r: q(r, 0).update(choices="ab"))) == ["/test/questions/0/choices"]


def test_choice_fields() -> None:
    def change(r: Raw) -> None:
        q(r, 0)["choices"][0]["correct"] = "yes"
        q(r, 0)["choices"][1]["text"] = ""
        q(r, 1)["choices"][0] = "Spain"

    assert paths(with_(change)) == [
        "/test/questions/0/choices/0/correct",
        "/test/questions/0/choices/1/text",
        "/test/questions/1/choices/0",
    ]


def test_too_many_choices() -> None:
    many = [{"id": f"c{i}", "text": "c", "correct": True} for i in range(MAX_CHOICES + 1)]
    assert paths(with_(lambda r: q(r, 1).update(choices=many))) == ["/test/questions/1/choices"]


def test_multiple_choice_rules() -> None:
    none_right = [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}]
    assert paths(with_(lambda r: q(r, 1).update(choices=none_right))) == [
        "/test/questions/1/choices"
    ]
    one = [{"id": "a", "text": "A", "correct": True}]
    assert paths(with_(lambda r: q(r, 1).update(choices=one))) == ["/test/questions/1/choices"]
    assert paths(with_(lambda r: q(r, 1).update(partial="some"))) == ["/test/questions/1/partial"]


def test_true_false_needs_a_boolean() -> None:
    assert paths(with_(lambda r: q(r, 2).pop("correct"))) == ["/test/questions/2/correct"]
    assert paths(with_(lambda r: q(r, 2).update(correct="true"))) == ["/test/questions/2/correct"]
    assert paths(with_(lambda r: q(r, 2).update(correct=1))) == ["/test/questions/2/correct"]


def test_short_text_needs_accepted_answers() -> None:
    base = "/test/questions/4"
    assert paths(with_(lambda r: q(r, 4).pop("accepted"))) == [f"{base}/accepted"]
    assert paths(with_(lambda r: q(r, 4).update(accepted=[]))) == [f"{base}/accepted"]
    assert paths(with_(lambda r: q(r, 4).update(accepted="Nile"))) == [f"{base}/accepted"]
    bad = ["Nile", "", "  ", 3, "x" * 2001]
    assert paths(with_(lambda r: q(r, 4).update(accepted=bad))) == [
        f"{base}/accepted/1",
        f"{base}/accepted/2",
        f"{base}/accepted/3",
        f"{base}/accepted/4",
    ]
    assert paths(with_(lambda r: q(r, 4).update(case_sensitive="no"))) == [f"{base}/case_sensitive"]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "7", True, None])
def test_numeric_needs_a_finite_value(bad: object) -> None:
    assert paths(with_(lambda r: q(r, 3).update(value=bad))) == ["/test/questions/3/value"]


def test_numeric_value_is_required_and_tolerance_non_negative() -> None:
    assert paths(with_(lambda r: q(r, 3).pop("value"))) == ["/test/questions/3/value"]
    assert paths(with_(lambda r: q(r, 3).update(tolerance=-0.1))) == ["/test/questions/3/tolerance"]
    assert paths(with_(lambda r: q(r, 3).update(tolerance=math.inf))) == [
        "/test/questions/3/tolerance"
    ]


def test_fields_of_other_kinds_are_refused() -> None:
    def change(r: Raw) -> None:
        q(r, 2)["choices"] = [{"id": "a", "text": "A"}]
        q(r, 0)["tolerance"] = 0
        q(r, 0)["partial"] = "per_option"
        q(r, 3)["accepted"] = ["7"]
        q(r, 4)["correct"] = True

    assert paths(with_(change)) == [
        "/test/questions/0/partial",
        "/test/questions/0/tolerance",
        "/test/questions/2/choices",
        "/test/questions/3/accepted",
        "/test/questions/4/correct",
    ]


@pytest.mark.parametrize("field", ["points", "penalty"])
@pytest.mark.parametrize("bad", [-1, -0.001, math.nan, math.inf, "1", False])
def test_points_and_penalty(field: str, bad: object) -> None:
    assert paths(with_(lambda r: q(r, 2).update({field: bad}))) == [f"/test/questions/2/{field}"]


@pytest.mark.parametrize("bad", [-1, 101, 2.5, "hard", True])
def test_difficulty(bad: object) -> None:
    assert paths(with_(lambda r: q(r, 2).update(difficulty=bad))) == [
        "/test/questions/2/difficulty"
    ]


# ---------------------------------------------------------------- selection


@pytest.mark.parametrize(
    "selection",
    [
        {"mode": "pool"},
        {"mode": "pool", "count": 0},
        {"mode": "pool", "count": 7},
        {"mode": "pool", "count": 2.5},
        {"mode": "adaptive"},
        {"mode": "adaptive", "count": 7},
        {"mode": "fixed", "count": 5},
        {"mode": "shuffled", "count": 7},
        {"mode": "shuffled", "count": True},
    ],
)
def test_selection_count(selection: Raw) -> None:
    assert paths(with_(lambda r: r["test"].update(selection=selection))) == [
        "/test/selection/count"
    ]


def test_a_whole_number_written_as_a_float_is_a_whole_number() -> None:
    # JSON Schema's integer: 2.0 is 2 (the request bodies take it the same way).
    quiz = parse_quiz(with_(lambda r: r["test"].update(selection={"mode": "pool", "count": 1.0})))
    assert quiz.test.selection.count == 1


def test_selection_mode_and_shape() -> None:
    assert paths(with_(lambda r: r["test"].update(selection={"mode": "random"}))) == [
        "/test/selection/mode"
    ]
    assert paths(with_(lambda r: r["test"].update(selection="pool"))) == ["/test/selection"]
    practice = {"mode": "pool", "count": 2}  # the practice section has one question
    assert paths(with_(lambda r: r["practice"].update(selection=practice))) == [
        "/practice/selection/count"
    ]


# ---------------------------------------------------------------- times


@pytest.mark.parametrize(
    "bad",
    [
        "2030-05-01T09:00:00",  # naive
        "2030-05-01",  # a date is naive too
        "next tuesday",
        "",
        True,
        [2030, 5, 1],
        math.nan,
        -1,
        "1969-12-31T23:59:59Z",
        "2300-01-01T00:00:00Z",
        TIME_MAX,
        10**400,
    ],
)
def test_bad_times(bad: object) -> None:
    assert paths(with_(lambda r: r.update(opens_at=bad))) == ["/opens_at"]
    assert paths(with_(lambda r: r.update(closes_at=bad))) == ["/closes_at"]


@pytest.mark.parametrize("closes", ["2030-05-01T09:00:00Z", "2030-05-01T10:59:59+02:00", 0])
def test_closes_at_must_be_after_opens_at(closes: object) -> None:
    raw = with_(lambda r: r.update(opens_at="2030-05-01T09:00:00Z", closes_at=closes))
    assert paths(raw) == ["/closes_at"]


def test_invalid_opens_at_does_not_also_blame_closes_at() -> None:
    raw = with_(lambda r: r.update(opens_at="soon", closes_at=0))
    assert paths(raw) == ["/opens_at"]


# ---------------------------------------------------------------- policies


@pytest.mark.parametrize(
    ("policies", "path"),
    [
        ({"grace_s": -1}, "/policies/grace_s"),
        ({"grace_s": 300.5}, "/policies/grace_s"),
        ({"grace_s": math.nan}, "/policies/grace_s"),
        ({"heartbeat_s": 0.5}, "/policies/heartbeat_s"),
        ({"heartbeat_s": 61, "lease_ttl_s": 200}, "/policies/heartbeat_s"),
        ({"heartbeat_s": 5, "lease_ttl_s": 9.99}, "/policies/lease_ttl_s"),
        ({"heartbeat_s": 10}, "/policies/lease_ttl_s"),  # default lease 15 < 2 x 10
        ({"lease_ttl_s": 0}, "/policies/lease_ttl_s"),
        ({"idle_timeout_s": 59}, "/policies/idle_timeout_s"),
        ({"second_login": "allow"}, "/policies/second_login"),
        ({"outage_credit": "yes"}, "/policies/outage_credit"),
    ],
)
def test_policy_ranges(policies: Raw, path: str) -> None:
    assert paths(with_(lambda r: r.update(policies=policies))) == [path]


def test_policies_must_be_a_mapping() -> None:
    assert paths(with_(lambda r: r.update(policies=["takeover"]))) == ["/policies"]


def test_valid_policies() -> None:
    policies = {
        "second_login": "takeover",
        "grace_s": 0,
        "heartbeat_s": 1,
        "lease_ttl_s": 2,
        "idle_timeout_s": 3600,
        "outage_credit": False,
    }
    quiz = parse_quiz(with_(lambda r: r.update(policies=policies)))
    assert quiz.policies == Policies(**policies)  # type: ignore[arg-type]


# ---------------------------------------------------------------- every problem at once


def test_many_problems_are_reported_together() -> None:
    raw = {
        "id": "bad id",
        "duration_s": math.nan,
        "opens_at": "2024-01-01T00:00:00",
        "policies": {"heartbeat_s": 10, "x": 1},
        "test": {
            "kind": "practice",
            "questions": [
                {
                    "id": "a",
                    "kind": "single",
                    "text": "x",
                    "value": 3,
                    "choices": [{"id": "a", "text": "y"}, {"id": "a", "text": "z", "correct": 1}],
                },
                {"id": "a", "kind": "true_false", "text": "t"},
            ],
        },
    }
    assert paths(raw) == [
        "/duration_s",
        "/id",
        "/opens_at",
        "/policies/lease_ttl_s",
        "/policies/x",
        "/test/kind",
        "/test/questions/0/choices/1/correct",
        "/test/questions/0/choices/1/id",
        "/test/questions/0/value",
        "/test/questions/1/correct",
        "/test/questions/1/id",
        "/title",
    ]


# Independent faults: each makes exactly one problem, at a known path, whatever else
# is broken.
_FAULTS: list[tuple[str, Callable[[Raw], None]]] = [
    ("/title", lambda r: r.update(title=42)),
    ("/duration_s", lambda r: r.update(duration_s=0)),
    ("/colour", lambda r: r.update(colour="red")),
    ("/opens_at", lambda r: r.update(opens_at="2030-01-01T10:00:00")),
    ("/policies/grace_s", lambda r: r.setdefault("policies", {}).update(grace_s=301)),
    ("/policies/second_login", lambda r: r.setdefault("policies", {}).update(second_login="x")),
    ("/policies/lease_ttl_s", lambda r: r.setdefault("policies", {}).update(lease_ttl_s=3)),
    ("/practice/kind", lambda r: r["practice"].update(kind="test")),
    (
        "/practice/questions/0/points",
        lambda r: r["practice"]["questions"][0].update(points=math.nan),
    ),
    ("/test/questions/0/text", lambda r: q(r, 0).update(text="")),
    ("/test/questions/0/difficulty", lambda r: q(r, 0).update(difficulty=2.5)),
    ("/test/questions/1/choices/1/id", lambda r: q(r, 1)["choices"][1].update(id="a")),
    ("/test/questions/1/partial", lambda r: q(r, 1).update(partial="some")),
    ("/test/questions/2/correct", lambda r: q(r, 2).update(correct="yes")),
    ("/test/questions/3/tolerance", lambda r: q(r, 3).update(tolerance=-1)),
    ("/test/questions/4/accepted", lambda r: q(r, 4).update(accepted=[])),
    ("/test/questions/5/id", lambda r: q(r, 5).update(id="p1")),
    ("/test/selection/count", lambda r: r["test"].update(selection={"mode": "pool", "count": 99})),
]


@given(st.sets(st.sampled_from(range(len(_FAULTS))), min_size=1))
@settings(deadline=None)
def test_k_independent_problems_are_all_reported(chosen: set[int]) -> None:
    raw = valid()
    for i in chosen:
        _FAULTS[i][1](raw)
    assert paths(raw) == sorted(_FAULTS[i][0] for i in chosen)


def test_input_is_not_modified() -> None:
    raw = valid()
    before = copy.deepcopy(raw)
    parse_quiz(raw)
    assert raw == before


# ---------------------------------------------------------------- round trip

_ids = st.from_regex(ID_PATTERN, fullmatch=True)
_text = st.text(min_size=1, max_size=20).filter(lambda s: bool(s.strip()))
_non_neg = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)
_finite = st.floats(allow_nan=False, allow_infinity=False)
_feedback = st.none() | st.text(max_size=10)


@st.composite
def _questions(draw: st.DrawFn, qid: str) -> Question:
    kind = draw(st.sampled_from(["single", "multiple", "true_false", "short_text", "numeric"]))
    extra: dict[str, Any] = {}
    if kind in ("single", "multiple"):
        cids = draw(st.lists(_ids, min_size=2, max_size=5, unique=True))
        if kind == "single":
            right = draw(st.integers(0, len(cids) - 1))
            flags = [i == right for i in range(len(cids))]
        else:
            flags = draw(st.lists(st.booleans(), min_size=len(cids), max_size=len(cids)))
            flags[0] = True
            extra["partial"] = draw(st.sampled_from(["per_option", "all_or_nothing"]))
        extra["choices"] = tuple(
            Choice(id=c, text=draw(_text), correct=f, feedback=draw(_feedback))
            for c, f in zip(cids, flags, strict=True)
        )
    elif kind == "true_false":
        extra["correct"] = draw(st.booleans())
    elif kind == "short_text":
        extra["accepted"] = tuple(draw(st.lists(_text, min_size=1, max_size=3)))
        extra["case_sensitive"] = draw(st.booleans())
    else:
        extra["value"] = draw(_finite)
        extra["tolerance"] = draw(_non_neg)
    return Question(
        id=qid,
        kind=kind,  # type: ignore[arg-type]
        text=draw(_text),
        points=draw(_non_neg),
        penalty=draw(_non_neg),
        difficulty=draw(st.integers(0, 100)),
        feedback=draw(_feedback),
        **extra,
    )


@st.composite
def _sections(draw: st.DrawFn, kind: str, qids: list[str]) -> Section:
    n = len(qids)
    mode = draw(st.sampled_from(["fixed", "shuffled", "pool", "adaptive"]))
    if mode in ("pool", "adaptive"):
        count: int | None = draw(st.integers(1, n))
    else:
        count = draw(st.sampled_from([None, n]))
    return Section(
        kind=kind,  # type: ignore[arg-type]
        questions=tuple(draw(_questions(qid)) for qid in qids),
        selection=Selection(mode=mode, count=count),  # type: ignore[arg-type]
        instructions=draw(st.text(max_size=10)),
    )


_micros = st.integers(min_value=0, max_value=int(TIME_MAX * 1_000_000) - 1)


@st.composite
def quizzes(draw: st.DrawFn) -> Quiz:
    qids = draw(st.lists(_ids, min_size=1, max_size=8, unique=True))
    split = draw(st.integers(0, len(qids) - 1))
    practice = draw(_sections("practice", qids[:split])) if split else None
    times = sorted(draw(st.lists(_micros, min_size=2, max_size=2, unique=True)))
    window = draw(st.sampled_from(["none", "opens", "closes", "both"]))
    heartbeat = draw(st.floats(1, 60))
    policies = Policies(
        second_login=draw(st.sampled_from(["refuse", "takeover"])),
        grace_s=draw(st.floats(0, 300)),
        heartbeat_s=heartbeat,
        lease_ttl_s=2 * heartbeat + draw(_non_neg),
        idle_timeout_s=draw(st.floats(60, 1e6)),
        outage_credit=draw(st.booleans()),
    )
    return Quiz(
        id=draw(_ids),
        title=draw(_text),
        duration_s=draw(st.floats(min_value=0.001, max_value=1e7)),
        test=draw(_sections("test", qids[split:])),
        practice=practice,
        instructions=draw(st.text(max_size=10)),
        opens_at=times[0] / 1_000_000 if window in ("opens", "both") else None,
        closes_at=times[1] / 1_000_000 if window in ("closes", "both") else None,
        policies=policies,
    )


@given(quizzes())
@settings(max_examples=200, deadline=None)
def test_export_round_trips(quiz: Quiz) -> None:
    exported = quiz_to_mapping(quiz)
    assert parse_quiz(exported) == quiz
    assert parse_quiz(json.loads(json.dumps(exported))) == quiz
    assert parse_quiz(msgspec.json.decode(msgspec.json.encode(exported))) == quiz


@given(quizzes())
@settings(max_examples=100, deadline=None)
def test_export_round_trips_through_yaml(quiz: Quiz) -> None:
    # (allow_unicode=True would hit a PyYAML bug: it folds U+0085 into a space)
    text = yaml.safe_dump(quiz_to_mapping(quiz), sort_keys=False)
    assert parse_quiz(yaml.safe_load(text)) == quiz


def test_export_omits_defaults() -> None:
    exported = quiz_to_mapping(parse_quiz(valid()))
    assert "policies" not in exported
    assert "opens_at" not in exported
    test = exported["test"]
    assert isinstance(test, dict)
    assert "selection" not in test
    assert test["questions"][2] == {
        "id": "t2",
        "kind": "true_false",
        "text": "Rome is in Italy.",
        "points": 1.0,
        "correct": True,
    }


def test_export_includes_the_version_but_import_ignores_it() -> None:
    quiz = msgspec.structs.replace(parse_quiz(valid()), version=7)
    exported = quiz_to_mapping(quiz)
    assert exported["version"] == 7
    assert parse_quiz(exported) == msgspec.structs.replace(quiz, version=1)
