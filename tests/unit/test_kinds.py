"""Each question kind: the shapes its definition and its answers accept or refuse
(with the message a user sees), and what an answer earns (partial credit, negative
marks, blanks). The ordering rules follow the worked examples of Moodle's ordering
question (six letters A-F to put in alphabetical order, marked out of 6)."""

from __future__ import annotations

import pytest

from quizsession.domain.errors import InvalidDefinition
from quizsession.domain.kinds import kind_of
from quizsession.domain.kinds.base import MAX_ESSAY_ANSWER
from quizsession.domain.kinds.essay import word_count
from quizsession.domain.quiz import Question
from quizsession.domain.quiz_export import quiz_to_mapping
from quizsession.domain.quiz_validation import parse_quiz
from quizsession.domain.scoring import answer_problem, is_correct, score_answer, score_section
from tests.unit.kind_definitions import Q, Raw, changed, one, problems, quiz_of
from testsupport.sample_kinds import SAMPLE_ANSWERS, sample_question, sample_quiz

# ---------------------------------------------------------------- the sample quiz


def test_the_sample_quiz_parses_and_round_trips() -> None:
    quiz = parse_quiz(sample_quiz())
    assert quiz.navigation == "free"
    assert parse_quiz(quiz_to_mapping(quiz)) == quiz
    assert {q.kind for q in quiz.test.questions} == {
        "single", "multiple", "true_false", "short_text", "numeric",
        "essay", "matching", "ordering", "cloze", "description",
    }  # fmt: skip


@pytest.mark.parametrize("qid", sorted(SAMPLE_ANSWERS))
def test_sample_answers_are_well_formed_right_and_wrong(qid: str) -> None:
    q = parse_quiz(sample_quiz()).test.question(qid)
    assert q is not None
    answers = SAMPLE_ANSWERS[qid]
    for answer in answers.values():
        assert answer_problem(q, answer) is None
    spec = kind_of(q)
    if spec.grading == "auto":
        assert is_correct(q, answers["right"])
        assert score_answer(q, answers["right"]) == q.points
        assert not is_correct(q, answers["wrong"])
        assert score_answer(q, answers["wrong"]) <= 0


# ---------------------------------------------------------------- existing kinds keep their rules


def test_existing_kinds_refuse_keys_of_the_new_kinds() -> None:
    found = problems(changed("single", word_limit=10, gaps=[]))
    assert found[f"{Q}/word_limit"] == "does not apply to a single question"
    assert found[f"{Q}/gaps"] == "does not apply to a single question"


def test_a_blank_short_text_scores_0_even_with_a_penalty() -> None:
    q = one(changed("short_text", penalty=1))
    assert score_answer(q, "") == 0.0
    assert score_answer(q, "   ") == 0.0
    assert score_answer(q, "Lyon") == -1.0


# ---------------------------------------------------------------- essay


def test_essay_definition_keys() -> None:
    q = one(sample_question("essay"))
    assert (q.word_limit, q.response_template, q.grader_info) == (
        200,
        "The sky is blue because",
        "Mention Rayleigh scattering.",
    )
    assert kind_of(q).grading == "manual"
    bare = one({"id": "e", "kind": "essay", "text": "Write."})
    assert (bare.word_limit, bare.response_template, bare.grader_info) == (None, "", "")


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        ({"word_limit": 0}, "word_limit", "must be between 1 and 100000"),
        ({"word_limit": 100_001}, "word_limit", "must be between 1 and 100000"),
        ({"word_limit": "200"}, "word_limit", "must be a whole number"),
        ({"response_template": 3}, "response_template", "must be a string"),
        ({"penalty": 1}, "penalty", "must be 0 for a essay question (it is not scored by a key)"),
        ({"accepted": ["x"]}, "accepted", "does not apply to a essay question"),
    ],
)
def test_essay_definitions_refused(changes: Raw, path: str, message: str) -> None:
    assert problems(changed("essay", **changes))[f"{Q}/{path}"] == message


def test_essay_answers_up_to_the_cap_are_accepted_even_over_the_word_limit() -> None:
    q = one(changed("essay", word_limit=3))
    long = "word " * 1000
    assert word_count(long) == 1000
    assert answer_problem(q, long) is None
    assert answer_problem(q, "x" * MAX_ESSAY_ANSWER) is None
    assert answer_problem(q, "x" * (MAX_ESSAY_ANSWER + 1)) == (
        f"an essay answer must be at most {MAX_ESSAY_ANSWER} characters"
    )
    assert answer_problem(q, ["x"]) == "an essay answer must be a string"


def test_essay_blank_needs_no_grader_answered_is_pending_graded_counts() -> None:
    quiz = parse_quiz(
        quiz_of(
            changed("essay", points=5),
            {"id": "tf", "kind": "true_false", "text": "?", "correct": True},
        )
    )
    ids = ["k-essay", "tf"]
    blank = score_section(quiz.test, ids, {"k-essay": "  \n ", "tf": True})
    assert (blank.score, blank.max_score, blank.pending) == (1.0, 6.0, ())
    answered = score_section(quiz.test, ids, {"k-essay": "Rayleigh.", "tf": True})
    assert (answered.score, answered.pending) == (1.0, ("k-essay",))
    graded = score_section(
        quiz.test, ids, {"k-essay": "Rayleigh."}, {"k-essay": (3.5, "good", "admin:a")}
    )
    assert (graded.score, graded.pending, graded.per_question["k-essay"]) == (3.5, (), 3.5)
    over = score_section(quiz.test, ids, {"k-essay": "x"}, {"k-essay": (9.0, "", "admin:a")})
    assert over.per_question["k-essay"] == 5.0  # a grade stays within [0, points]


def test_essay_is_never_correct_by_itself() -> None:
    q = one(sample_question("essay"))
    assert not is_correct(q, "Rayleigh scattering")
    assert score_answer(q, "Rayleigh scattering") == 0.0


# ---------------------------------------------------------------- matching


def test_matching_partial_credit_and_distractors() -> None:
    q = one(changed("matching", penalty=0.5))  # 3 points, 3 pairs, distractor Madrid
    assert score_answer(q, {"fr": "Paris", "de": "Berlin", "it": "Rome"}) == 3.0
    assert score_answer(q, {"fr": "Paris", "de": "Madrid"}) == 1.0  # Italy unanswered
    assert score_answer(q, {"fr": "Paris", "de": "Rome", "it": "Berlin"}) == 1.0
    assert score_answer(q, {"fr": "Madrid", "de": "Paris"}) == -0.5
    assert score_answer(q, {}) == 0.0
    assert not is_correct(q, {"fr": "Paris", "de": "Berlin"})
    assert kind_of(q).right_answer(q) == "France: Paris; Germany: Berlin; Italy: Rome"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("Paris", "a matching answer must be an object {item id: option}"),
        (["Paris"], "a matching answer must be an object {item id: option}"),
        ({"es": "Madrid"}, "'es' is not an item of question 'k-matching'"),
        ({"fr": "Lyon"}, "the answer for 'fr' must be one of the question's options"),
        ({"fr": 3.0}, "the answer for 'fr' must be one of the question's options"),
    ],
)
def test_matching_answers_refused(answer: object, message: str) -> None:
    q = one(sample_question("matching"))
    assert answer_problem(q, answer) == message  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        (
            {"pairs": [{"id": "a", "text": "A", "answer": "1"}]},
            "pairs",
            "must have between 2 and 100 pairs",
        ),
        ({"pairs": None}, "pairs", "is required"),
        (
            {"pairs": [{"id": "a", "text": "A", "answer": "1"}] * 2},
            "pairs/1/id",
            "duplicate pair id 'a'",
        ),
        (
            {
                "pairs": [
                    {"id": "a", "text": "A", "answer": ""},
                    {"id": "b", "text": "B", "answer": "2"},
                ]
            },
            "pairs/0/answer",
            "must not be empty",
        ),
        (
            {"distractors": ["Paris"]},
            "distractors/0",
            "is the answer of a pair (a distractor is wrong)",
        ),
        ({"distractors": ["Oslo", "Oslo"]}, "distractors/1", "duplicate distractor 'Oslo'"),
        ({"distractors": "Oslo"}, "distractors", "must be a list of strings"),
    ],
)
def test_matching_definitions_refused(changes: Raw, path: str, message: str) -> None:
    assert problems(changed("matching", **changes))[f"{Q}/{path}"] == message


def test_matching_options_are_shown_in_a_per_attempt_order_without_the_key() -> None:
    q = one(sample_question("matching"))
    views = [kind_of(q).view(q, seed) for seed in range(20)]
    assert all(
        v["items"]
        == [
            {"id": "fr", "text": "France"},
            {"id": "de", "text": "Germany"},
            {"id": "it", "text": "Italy"},
        ]
        for v in views
    )
    orders: set[tuple[str, ...]] = set()
    for v in views:
        assert isinstance(v["options"], list)
        orders.add(tuple(v["options"]))
    assert all(sorted(o) == ["Berlin", "Madrid", "Paris", "Rome"] for o in orders)
    assert len(orders) > 1
    assert kind_of(q).view(q, 3) == kind_of(q).view(q, 3)


# ---------------------------------------------------------------- ordering (Moodle's examples)

LETTERS = ["A", "B", "C", "D", "E", "F"]


def letters(rule: str) -> Question:
    return one(
        {
            "id": "o",
            "kind": "ordering",
            "text": "Put the letters in alphabetical order.",
            "points": 6,
            "items": [{"id": x, "text": x} for x in LETTERS],
            "ordering_rule": rule,
        }
    )


@pytest.mark.parametrize(
    ("rule", "answer", "points"),
    [
        # All or nothing: only A-F earns the points; E and F swapped earns 0.
        ("all_or_nothing", "ABCDEF", 6.0),
        ("all_or_nothing", "ABCDFE", 0.0),
        # Absolute position: A, B, D and E in their places (C and F swapped): 4/6.
        ("absolute_position", "ABFDEC", 4.0),
        ("absolute_position", "FABCDE", 0.0),
        # Relative to the next item (excluding last): A->B and D->E of 5: 2/5.
        ("relative_next", "ABFDEC", 2.4),
        ("relative_next", "FABCDE", 4.8),  # A->B, B->C, C->D, D->E: 4/5
        ("relative_next", "FEDCBA", 0.0),
        # Longest ordered subset: A, B, D, E in order (not adjacent): 4/6.
        ("longest_subset", "ABFDEC", 4.0),
        ("longest_subset", "FABCDE", 5.0),
        ("longest_subset", "FEDCBA", 0.0),  # a subset of one item earns nothing
        # Longest contiguous subset: A-B and D-E are runs of 2: 2/6.
        ("longest_contiguous", "ABFDEC", 2.0),
        ("longest_contiguous", "FABCDE", 5.0),
        ("longest_contiguous", "BADCFE", 0.0),  # no two adjacent items in order
        ("longest_contiguous", "ABCDEF", 6.0),
    ],
)
def test_ordering_rules_worked_examples(rule: str, answer: str, points: float) -> None:
    q = letters(rule)
    assert score_answer(q, list(answer)) == pytest.approx(points)
    assert is_correct(q, list(answer)) == (answer == "ABCDEF")


def test_ordering_a_wrong_order_costs_the_penalty_only_when_it_earns_nothing() -> None:
    q = one(changed("ordering", penalty=1, ordering_rule="all_or_nothing"))
    assert score_answer(q, ["two", "one", "three", "four"]) == -1.0
    assert score_answer(q, ["one", "two", "three", "four"]) == 4.0


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("one", "an ordering answer must be a list of item ids (strings)"),
        (["one", 2], "an ordering answer must be a list of item ids (strings)"),
        (
            ["one", "two", "three"],
            "an ordering answer must list every item id of the question exactly once",
        ),
        (
            ["one", "two", "three", "three"],
            "an ordering answer must list every item id of the question exactly once",
        ),
        (
            ["one", "two", "three", "five"],
            "an ordering answer must list every item id of the question exactly once",
        ),
    ],
)
def test_ordering_answers_refused(answer: object, message: str) -> None:
    assert answer_problem(one(sample_question("ordering")), answer) == message  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        ({"items": [{"id": "a", "text": "A"}]}, "items", "must have between 2 and 50 items"),
        ({"items": [{"id": "a", "text": "A"}] * 2}, "items/1/id", "duplicate item id 'a'"),
        (
            {"ordering_rule": "relative_all"},
            "ordering_rule",
            "must be one of 'all_or_nothing', 'absolute_position', 'relative_next', "
            "'longest_subset', 'longest_contiguous'",
        ),
    ],
)
def test_ordering_definitions_refused(changes: Raw, path: str, message: str) -> None:
    assert problems(changed("ordering", **changes))[f"{Q}/{path}"] == message


def test_ordering_items_are_never_shown_in_the_right_order() -> None:
    q = one(
        {
            "id": "o",
            "kind": "ordering",
            "text": "?",
            "items": [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}],
        }
    )
    for seed in range(50):
        shown = kind_of(q).view(q, seed)["items"]
        assert shown == [{"id": "b", "text": "B"}, {"id": "a", "text": "A"}]


# ---------------------------------------------------------------- cloze


def test_cloze_weights_give_partial_credit() -> None:
    q = one(changed("cloze", penalty=0.5))  # 3 points; weights country 1, product 2, colour 1
    assert score_answer(q, {"country": "fr", "product": 42, "colour": " BLUE "}) == 3.0
    assert score_answer(q, {"product": 42.0}) == 1.5
    assert score_answer(q, {"country": "fr", "colour": "red"}) == 0.75
    assert score_answer(q, {"country": "es", "product": 1, "colour": "red"}) == -0.5
    assert score_answer(q, {"colour": ""}) == 0.0  # blank gaps are unanswered
    assert kind_of(q).right_answer(q) == "gap 1: France; gap 2: 42; gap 3: blue"
    assert kind_of(q).response_key(q, {"country": "es", "colour": " Red "}) == [
        "country=es",
        "colour=red",
    ]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("fr", "a cloze answer must be an object {gap id: answer}"),
        ({"city": "x"}, "'city' is not a gap of question 'k-cloze'"),
        ({"country": "de"}, "the answer for gap 'country' must be one of its choice ids"),
        ({"product": "42"}, "the answer for gap 'product' must be a finite number"),
        ({"product": True}, "the answer for gap 'product' must be a finite number"),
        ({"product": float("nan")}, "the answer for gap 'product' must be a finite number"),
        ({"colour": 3.0}, "the answer for gap 'colour' must be a string"),
        ({"colour": "x" * 2001}, "the answer for gap 'colour' must be at most 2000 characters"),
    ],
)
def test_cloze_answers_refused(answer: object, message: str) -> None:
    assert answer_problem(one(sample_question("cloze")), answer) == message  # type: ignore[arg-type]


TEXT_GAP = {"id": "g", "kind": "short_text", "accepted": ["x"]}


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        ({"text": "No markers.", "gaps": [TEXT_GAP]}, "text", "gap 'g' has no marker {{g}}"),
        (
            {"text": "{{g}} and {{g}}", "gaps": [TEXT_GAP]},
            "text",
            "the marker {{g}} appears 2 times",
        ),
        ({"text": "{{g}} {{h}}", "gaps": [TEXT_GAP]}, "text", "the marker {{h}} names no gap"),
        ({"text": "{{g}}", "gaps": []}, "gaps", "must have between 1 and 100 gaps"),
        (
            {"text": "{{g}}", "gaps": [dict(TEXT_GAP, kind="essay")]},
            "gaps/0/kind",
            "must be one of 'choice', 'short_text', 'numeric'",
        ),
        (
            {"text": "{{g}}", "gaps": [dict(TEXT_GAP, weight=0)]},
            "gaps/0/weight",
            "must be greater than 0",
        ),
        (
            {"text": "{{g}}", "gaps": [dict(TEXT_GAP, value=3)]},
            "gaps/0/value",
            "does not apply to a short_text gap",
        ),
        (
            {"text": "{{g}}", "gaps": [{"id": "g", "kind": "numeric"}]},
            "gaps/0/value",
            "is required",
        ),
        (
            {
                "text": "{{g}}",
                "gaps": [
                    {
                        "id": "g",
                        "kind": "choice",
                        "choices": [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}],
                    }
                ],
            },
            "gaps/0/choices",
            "needs at least one correct choice",
        ),
        ({"text": "{{g}}", "gaps": [TEXT_GAP, TEXT_GAP]}, "gaps/1/id", "duplicate gap id 'g'"),
    ],
)
def test_cloze_definitions_refused(changes: Raw, path: str, message: str) -> None:
    assert problems(changed("cloze", **changes))[f"{Q}/{path}"] == message


def test_cloze_view_shows_gap_kinds_and_choices_never_the_key() -> None:
    q = one(sample_question("cloze"))
    assert kind_of(q).view(q, 1) == {
        "gaps": [
            {
                "id": "country",
                "kind": "choice",
                "choices": [{"id": "fr", "text": "France"}, {"id": "es", "text": "Spain"}],
            },
            {"id": "product", "kind": "numeric", "choices": None},
            {"id": "colour", "kind": "short_text", "choices": None},
        ]
    }


# ---------------------------------------------------------------- description


def test_description_takes_no_answer_and_no_points() -> None:
    q = one(sample_question("description"))
    assert (q.points, q.penalty, kind_of(q).grading) == (0.0, 0.0, "none")
    assert answer_problem(q, None) is None
    assert answer_problem(q, "read it") == "a description takes no answer"
    assert answer_problem(q, {}) == "a description takes no answer"
    assert score_answer(q, None) == 0.0


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        ({"points": 1}, "points", "must be 0 for a description question (it takes no answer)"),
        (
            {"penalty": 1},
            "penalty",
            "must be 0 for a description question (it is not scored by a key)",
        ),
        ({"choices": []}, "choices", "does not apply to a description question"),
    ],
)
def test_description_definitions_refused(changes: Raw, path: str, message: str) -> None:
    assert problems(changed("description", **changes))[f"{Q}/{path}"] == message


def test_a_section_of_descriptions_only_is_refused() -> None:
    with pytest.raises(InvalidDefinition) as caught:
        parse_quiz(quiz_of(sample_question("description")))
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("/test/questions", "needs at least one question that takes an answer")
    ]


def test_descriptions_are_not_scored_nor_counted() -> None:
    quiz = parse_quiz(sample_quiz())
    ids = [q.id for q in quiz.test.questions]
    sheet = score_section(quiz.test, ids, {})
    assert "k-description" not in sheet.per_question
    assert sheet.max_score == sum(q.points for q in quiz.test.questions)
