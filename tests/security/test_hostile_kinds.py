"""Hostile input for the question kinds (essay, matching, ordering, cloze,
description, images), free navigation, flags, the practice check and the review.

Each bad input gets its problem+json code (said below, per input) and changes
nothing; what is accepted comes back exactly. The cost of checking and scoring a
hostile answer is bounded (linear, or polynomial in the definition's own limits:
never exponential). ``test_hostile_definitions.py`` holds the quiz definitions
an attacking author would write, ``test_hostile_imports.py`` the Moodle files.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from quizsession.domain.kinds import kind_of
from quizsession.domain.kinds.base import MAX_ESSAY_ANSWER, MAX_TEXT_ANSWER
from quizsession.domain.quiz import Question
from quizsession.domain.quiz_validation import parse_quiz
from quizsession.domain.scoring import answer_problem, score_answer
from tests.integration.conftest import Api, Session
from testsupport.sample_kinds import sample_quiz

QUIZ = "sample-kinds"
JSON = {"content-type": "application/json"}


@pytest.fixture
async def session(api: Api) -> Session:
    """A running test of the sample quiz (free navigation), every question opened
    (delivered); the practice round has one question, ``p-single``."""
    quiz = sample_quiz()
    quiz["practice"] = {"questions": [{"id": "p-single", **_single()}]}
    await api.put_quiz(quiz)
    s = await api.open_session(QUIZ)
    await api.start(s, "test")
    for q in quiz["test"]["questions"]:
        r = await api.client.get(f"{s.path}/questions/{q['id']}", headers=s.headers)
        assert r.status_code == 200, r.text
    return s


def _single() -> dict[str, Any]:
    return {
        "kind": "single",
        "text": "?",
        "choices": [{"id": "a", "text": "A", "correct": True}, {"id": "b", "text": "B"}],
    }


#: Per question: answers of a wrong shape, each refused with this code. The body
#: type refuses what no kind takes (422 ``validation_error``: nested objects,
#: lists of non-strings, null or booleans inside an object, numbers too large for
#: a float); each kind refuses what it does not take (422 ``answer_invalid``).
WRONG_SHAPES: list[tuple[str, Any, str]] = [
    # any kind: shapes the wire refuses
    ("k-matching", {"fr": {"x": "Paris"}}, "validation_error"),
    ("k-matching", {"fr": ["Paris"]}, "validation_error"),
    ("k-matching", {"fr": None}, "validation_error"),
    ("k-cloze", {"product": True}, "validation_error"),
    ("k-cloze", {"country": {"id": "fr"}}, "validation_error"),
    ("k-ordering", ["one", 2, "three", "four"], "validation_error"),
    ("k-ordering", [["one"], "two", "three", "four"], "validation_error"),
    ("k-ordering", [None, "two", "three", "four"], "validation_error"),
    ("k-multiple", [True], "validation_error"),
    ("k-single", {"$gt": ""}, "answer_invalid"),
    # essay
    ("k-essay", "x" * (MAX_ESSAY_ANSWER + 1), "answer_invalid"),
    ("k-essay", ["text"], "answer_invalid"),
    ("k-essay", {"a": "b"}, "answer_invalid"),
    ("k-essay", 42, "answer_invalid"),
    ("k-essay", True, "answer_invalid"),
    # matching
    ("k-matching", "Paris", "answer_invalid"),
    ("k-matching", ["Paris"], "answer_invalid"),
    ("k-matching", {"fr": "Nowhere"}, "answer_invalid"),
    ("k-matching", {"fr": "paris"}, "answer_invalid"),  # options are exact
    ("k-matching", {"xx": "Paris"}, "answer_invalid"),
    ("k-matching", {"__proto__": "Paris"}, "answer_invalid"),
    ("k-matching", {"fr": 1}, "answer_invalid"),
    ("k-matching", {"fr": "{{country}}"}, "answer_invalid"),
    # ordering
    ("k-ordering", "one,two,three,four", "answer_invalid"),
    ("k-ordering", ["one", "one", "two", "three"], "answer_invalid"),
    ("k-ordering", ["one", "two", "three"], "answer_invalid"),
    ("k-ordering", ["one", "two", "three", "four", "four"], "answer_invalid"),
    ("k-ordering", ["one", "two", "three", "five"], "answer_invalid"),
    ("k-ordering", {"one": "1"}, "answer_invalid"),
    ("k-ordering", True, "answer_invalid"),
    # cloze
    ("k-cloze", "fr", "answer_invalid"),
    ("k-cloze", ["fr"], "answer_invalid"),
    ("k-cloze", {"nope": "x"}, "answer_invalid"),
    ("k-cloze", {"{{country}}": "fr"}, "answer_invalid"),
    ("k-cloze", {"country": "zz"}, "answer_invalid"),
    ("k-cloze", {"country": 1}, "answer_invalid"),
    ("k-cloze", {"product": "42"}, "answer_invalid"),
    ("k-cloze", {"colour": 1}, "answer_invalid"),
    ("k-cloze", {"colour": "x" * (MAX_TEXT_ANSWER + 1)}, "answer_invalid"),
    # description: no answer at all
    ("k-description", "x", "answer_invalid"),
    ("k-description", "", "answer_invalid"),
    ("k-description", [], "answer_invalid"),
    ("k-description", {}, "answer_invalid"),
    ("k-description", False, "answer_invalid"),
    # the older kinds with the newer shapes
    ("k-single", {"a": "b"}, "answer_invalid"),
    ("k-multiple", {"a": "b"}, "answer_invalid"),
    ("k-true_false", {"a": "b"}, "answer_invalid"),
    ("k-short_text", {"a": "b"}, "answer_invalid"),
    ("k-numeric", {"a": 1}, "answer_invalid"),
    ("k-numeric", True, "answer_invalid"),
    ("k-numeric", "3.14", "answer_invalid"),
]


@pytest.mark.parametrize(
    ("question_id", "answer", "code"),
    WRONG_SHAPES,
    ids=[f"{q}-{i}" for i, (q, _, _) in enumerate(WRONG_SHAPES)],
)
async def test_an_answer_of_a_wrong_shape_is_refused_and_changes_nothing(
    api: Api, session: Session, question_id: str, answer: Any, code: str
) -> None:
    body = await api.refused(api.save(session, question_id, answer, "bad"), 422, code)
    if code == "answer_invalid":
        assert body["question_id"] == question_id


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        # JSON has no NaN or Infinity; a number too large for a float is no JSON here
        (b'{"question_id": "k-numeric", "answer": NaN, "op_id": "o"}', (400, "malformed_json")),
        (
            b'{"question_id": "k-numeric", "answer": Infinity, "op_id": "o"}',
            (400, "malformed_json"),
        ),
        (b'{"question_id": "k-numeric", "answer": 1e999, "op_id": "o"}', (400, "malformed_json")),
        (
            b'{"question_id": "k-cloze", "answer": {"product": -1e999}, "op_id": "o"}',
            (400, "malformed_json"),
        ),
        (
            b'{"question_id": "k-cloze", "answer": {"product": NaN}, "op_id": "o"}',
            (400, "malformed_json"),
        ),
        # a lone surrogate is not UTF-8 text; an escaped one is not a character
        (
            b'{"question_id": "k-essay", "answer": "\xed\xa0\x80", "op_id": "o"}',
            (400, "malformed_json"),
        ),
        (b'{"question_id": "k-essay", "answer": "\\ud800", "op_id": "o"}', (400, "malformed_json")),
        # a key given twice in an object: the last one counts, then checked as usual
        (
            b'{"question_id": "k-cloze", "answer": {"country": "fr", "country": "zz"}, '
            b'"op_id": "o"}',
            (422, "answer_invalid"),
        ),
    ],
    ids=[
        "nan",
        "infinity",
        "1e999",
        "gap-minus-1e999",
        "gap-nan",
        "raw-surrogate",
        "escaped-surrogate",
        "duplicate-key",
    ],
)
async def test_numbers_and_text_json_cannot_carry_are_refused(
    api: Api, session: Session, raw: bytes, code: tuple[int, str]
) -> None:
    headers = {**session.headers, **JSON}
    request = api.client.put(f"{session.path}/progress", content=raw, headers=headers)
    await api.refused(request, *code)


async def test_a_huge_object_within_the_body_limit_is_refused_quickly(
    api: Api, session: Session
) -> None:
    """As many keys as fit in the body limit (about 5,000): 422 ``answer_invalid``
    at the first unknown key, nothing changed; a 100,000-key object is over the
    limit (413 ``body_too_large``)."""
    limit = api.container.settings.max_body_bytes
    keys = {f"k{i}": "Paris" for i in range(limit // 16)}
    for qid in ("k-matching", "k-cloze"):
        began = time.perf_counter()
        await api.refused(api.save(session, qid, keys, f"many-{qid}"), 422, "answer_invalid")
        assert time.perf_counter() - began < 5  # generous: a hang, not a timing
    huge = {f"k{i}": "x" for i in range(100_000)}
    await api.refused(api.save(session, "k-matching", huge, "huge"), 413, "body_too_large")


# -- essays: the length cap is in characters, whatever the script ------------------------------

#: One character each: ASCII, Latin-1 (2 bytes in UTF-8), CJK (3), astral (4),
#: and a line break (2 bytes once escaped in JSON).
ESSAY_UNITS = {"ascii": "x", "latin": "é", "cjk": "中", "astral": "\U0001f600", "newline": "\n"}


@pytest.mark.parametrize("name", sorted(ESSAY_UNITS))
async def test_an_essay_at_the_cap_is_saved_in_any_script_and_over_it_refused(
    api: Api, session: Session, name: str
) -> None:
    """50,000 characters are saved and come back exactly, in any script (up to
    200 KB of UTF-8: a save is never refused below the cap, work is never lost);
    50,001 are ``answer_invalid`` (422), never ``body_too_large``."""
    unit = ESSAY_UNITS[name]
    essay = "Start " + unit * (MAX_ESSAY_ANSWER - 6)
    r = await api.save(session, "k-essay", essay, f"cap-{name}")
    assert r.status_code == 200, r.text[:300]
    view = (await api.client.get(session.path, headers=session.headers)).json()
    assert view["answers"]["k-essay"] == essay
    body = await api.refused(
        api.save(session, "k-essay", essay + unit, f"over-{name}"), 422, "answer_invalid"
    )
    assert body["question_id"] == "k-essay"


async def test_the_larger_save_body_is_for_saves_only(api: Api, session: Session) -> None:
    """Other candidate routes keep the deployment's body limit (413)."""
    limit = api.container.settings.max_body_bytes
    await api.refused(
        api.client.put(
            f"{session.path}/flags/k-single",
            content=b'{"flagged": true, "op_id": "' + b"x" * limit + b'"}',
            headers={**session.headers, **JSON},
        ),
        413,
        "body_too_large",
    )
    essay = "x" * MAX_ESSAY_ANSWER
    over = b'{"question_id": "k-essay", "answer": "' + essay.encode() * 6 + b'", "op_id": "o"}'
    await api.refused(
        api.client.put(
            f"{session.path}/progress", content=over, headers={**session.headers, **JSON}
        ),
        413,
        "body_too_large",
    )


@pytest.mark.parametrize(
    "text",
    ["{{country}}", "{{", "}}{{", "{{{{x}}}}", "<script>alert(1)</script>", "\u202e\u200b\x00"],
)
async def test_markers_and_markup_in_answers_are_text(
    api: Api, session: Session, text: str
) -> None:
    """Gap markers, markup and odd characters in an essay, a short text or a
    cloze text gap are stored and returned exactly (the page shows them as
    text): they never open a gap or reach another question."""
    answers = {
        "k-essay": text,
        "k-short_text": text,
        "k-cloze": {"colour": text, "country": "fr"},
    }
    for n, (qid, answer) in enumerate(answers.items()):
        api.clock.advance(1)
        r = await api.save(session, qid, answer, f"m-{n}")
        assert r.status_code == 200, r.text
    view = (await api.client.get(session.path, headers=session.headers)).json()
    assert {q: view["answers"][q] for q in answers} == answers
    question = await api.client.get(f"{session.path}/questions/k-cloze", headers=session.headers)
    assert [g["id"] for g in question.json()["gaps"]] == ["country", "product", "colour"]


# -- navigation, flags, the check and the review with bad input ----------------------------------


@pytest.mark.parametrize(
    ("question_id", "status", "code"),
    [
        ("nope", 422, "question_unknown"),
        ("%00", 422, "question_unknown"),
        ("%2e%2e", 422, "question_unknown"),
        ("k-single%2F..%2F..", 404, "not_found"),  # an encoded slash is a slash: no route
        ("x" * 4000, 422, "question_unknown"),
        ("p-single", 422, "question_unknown"),  # a practice question, in the test
        ("K-SINGLE", 422, "question_unknown"),  # ids are exact
        ("k-single%20", 422, "question_unknown"),
    ],
)
async def test_opening_odd_ids_is_refused_and_changes_nothing(
    api: Api, session: Session, question_id: str, status: int, code: str
) -> None:
    url = f"{session.path}/questions/{question_id}"
    await api.refused(api.client.get(url, headers=session.headers), status, code)
    await api.refused(
        api.client.put(
            f"{session.path}/flags/{question_id}",
            json={"flagged": True, "op_id": "f"},
            headers=session.headers,
        ),
        status,
        code,
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"flagged": True, "op_id": ""}, "validation_error"),
        ({"flagged": True, "op_id": "x" * 129}, "validation_error"),
        ({"flagged": True, "op_id": 1}, "validation_error"),
        ({"flagged": True, "op_id": None}, "validation_error"),
        ({"flagged": "yes", "op_id": "f"}, "validation_error"),
        ({"flagged": 1, "op_id": "f"}, "validation_error"),
        ({"flagged": True}, "validation_error"),
        ({"flagged": True, "op_id": "f", "question_id": "k-essay"}, "validation_error"),
        ([True, "f"], "validation_error"),
    ],
)
async def test_flags_with_bad_bodies_are_refused(
    api: Api, session: Session, body: Any, code: str
) -> None:
    await api.refused(
        api.client.put(f"{session.path}/flags/k-single", json=body, headers=session.headers),
        422,
        code,
    )


async def test_a_flag_op_id_reused_for_another_flag_is_a_conflict(
    api: Api, session: Session
) -> None:
    url = f"{session.path}/flags/k-single"
    r = await api.client.put(url, json={"flagged": True, "op_id": "f1"}, headers=session.headers)
    assert r.status_code == 200, r.text
    for other in (
        api.client.put(url, json={"flagged": False, "op_id": "f1"}, headers=session.headers),
        api.client.put(
            f"{session.path}/flags/k-essay",
            json={"flagged": True, "op_id": "f1"},
            headers=session.headers,
        ),
    ):
        await api.refused(other, 409, "op_id_conflict")
    # ... and with a save's op id
    r = await api.save(session, "k-single", "b", "s1")
    assert r.status_code == 200, r.text
    await api.refused(
        api.client.put(url, json={"flagged": True, "op_id": "s1"}, headers=session.headers),
        409,
        "op_id_conflict",
    )


async def test_the_check_in_the_test_and_the_review_before_submitting_say_nothing(
    api: Api, session: Session
) -> None:
    """The practice check on a test question: 409 ``practice_only`` (also on a
    question not delivered, a practice one, an unknown one); the review before
    the submission: 409 ``review_not_available``."""
    for qid in ("k-single", "k-cloze", "p-single", "nope", "%2e%2e"):
        await api.refused(
            api.client.post(f"{session.path}/questions/{qid}/check", headers=session.headers),
            409,
            "practice_only",
        )
    await api.refused(
        api.client.get(f"{session.path}/review", headers=session.headers),
        409,
        "review_not_available",
    )


async def test_a_description_is_not_flagged_into_an_answer(api: Api, session: Session) -> None:
    """A description may be flagged (to come back to it) but never answered;
    after the submission nothing is writable (409 ``attempt_closed``)."""
    url = f"{session.path}/flags/k-description"
    r = await api.client.put(url, json={"flagged": True, "op_id": "fd"}, headers=session.headers)
    assert r.status_code == 200, r.text
    r = await api.client.post(f"{session.path}/complete", headers=session.headers)
    assert r.status_code == 200, r.text
    await api.refused(
        api.client.put(url, json={"flagged": False, "op_id": "fd2"}, headers=session.headers),
        409,
        "attempt_closed",
    )
    await api.refused(api.save(session, "k-essay", "late", "late"), 409, "attempt_closed")


# -- the cost of a hostile answer ---------------------------------------------------------------


def _question(raw: dict[str, Any]) -> Question:
    quiz = sample_quiz()
    quiz["test"] = {"questions": [raw]}
    return parse_quiz(quiz).test.questions[0]


def _timed(question: Question, answers: list[Any]) -> float:
    began = time.perf_counter()
    for answer in answers:
        if answer_problem(question, answer) is None:
            score_answer(question, answer)
            kind_of(question).describe(question, answer)
            kind_of(question).response_key(question, answer)
    return time.perf_counter() - began


@pytest.mark.parametrize(
    "rule",
    [
        "all_or_nothing",
        "absolute_position",
        "relative_next",
        "longest_subset",
        "longest_contiguous",
    ],
)
def test_scoring_a_50_item_ordering_is_cheap_under_every_rule(rule: str) -> None:
    """The largest ordering (50 items), in orders built to be slow (reversed,
    interleaved, sawtooth) and refused ones (100,000 ids): a bound far above
    the expected cost, to catch anything exponential, not to measure."""
    items = [{"id": f"i{n:02d}", "text": str(n)} for n in range(50)]
    q = _question(
        {"id": "o", "kind": "ordering", "text": "?", "items": items, "ordering_rule": rule}
    )
    ids = [i["id"] for i in items]
    orders = [
        ids[::-1],
        ids[1::2] + ids[::2],
        [x for p in zip(ids[25:], ids[:25], strict=True) for x in p],
    ]
    orders += [ids[k:] + ids[:k] for k in range(50)]
    refused = [ids * 2000, ["i00"] * 100_000, [*ids[:-1], "zz"]]
    assert all(answer_problem(q, a) is not None for a in refused)
    assert _timed(q, orders * 20 + refused) < 10


def test_checking_a_100_gap_cloze_and_a_100_pair_matching_is_cheap() -> None:
    gaps = [
        {"id": f"g{n}", "kind": "short_text", "accepted": ["x" * 2000] * 200} for n in range(100)
    ]
    cloze = _question(
        {
            "id": "c",
            "kind": "cloze",
            "text": " ".join(f"{{{{g{n}}}}}" for n in range(100)),
            "gaps": gaps,
        }
    )
    pairs = [{"id": f"p{n}", "text": f"t{n}", "answer": f"a{n}" * 500} for n in range(100)]
    matching = _question({"id": "m", "kind": "matching", "text": "?", "pairs": pairs})
    fill = {f"g{n}": " x" * 999 for n in range(100)}
    match = {f"p{n}": f"a{(n + 1) % 100}" * 500 for n in range(100)}
    many = {f"k{n}": "x" for n in range(100_000)}
    assert _timed(cloze, [fill] * 5 + [many]) < 10
    assert _timed(matching, [match] * 20 + [many]) < 10
