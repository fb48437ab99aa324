"""The admin timeline's lines for the events of grading, flags and long answers."""

from __future__ import annotations

from quizsession.app.timeline import describe
from quizsession.domain.events import (
    AnswerGraded,
    AnswerSaved,
    AnswerValue,
    QuestionFlagged,
    Regraded,
)
from quizsession.domain.quiz_validation import parse_quiz
from testsupport.sample_kinds import sample_quiz

QUIZ = parse_quiz(sample_quiz())


def test_a_long_written_answer_shows_its_start_and_length() -> None:
    essay = next(q for q in QUIZ.test.questions if q.kind == "essay")
    text = "word " * 100 + "\nlast line"
    line = describe(
        AnswerSaved(
            at=1.0, section="test", question_id=essay.id, answer=text, op_id="o", session_id="s"
        ),
        QUIZ,
    )
    assert line.startswith(f"response {essay.id} word word")
    assert line.endswith(f"… ({len(text):,} characters)")
    assert "\n" not in line
    # An essay is graded by hand: no points are shown for the save.
    assert not line.rstrip(")").endswith(" 0")


def test_grades_regrades_and_flags_have_their_own_lines() -> None:
    assert describe(AnswerGraded(at=1, question_id="e1", points=3.5, by="admin:ann"), QUIZ) == (
        "grade e1 3.5 by admin:ann"
    )
    assert (
        describe(
            AnswerGraded(at=1, question_id="e1", points=2, comment="ok\nthen", by="admin:ann"),
            QUIZ,
        )
        == "grade e1 2 by admin:ann ok then"
    )
    regrade = Regraded(
        at=1, quiz_version=2, old_score=3, new_score=4.5, changes={"q": [0, 1.5]}, by="admin:x"
    )
    assert describe(regrade, QUIZ) == "regrade v2 3 -> 4.5 by admin:x"
    assert describe(QuestionFlagged(at=1, question_id="q2", flagged=True), QUIZ) == "flag q2"
    assert describe(QuestionFlagged(at=1, question_id="q2", flagged=False), QUIZ) == "unflag q2"


def test_answers_that_pair_order_or_fill_in_texts_are_shown_in_words() -> None:
    def line(question_id: str, answer: AnswerValue) -> str:
        saved = AnswerSaved(
            at=1.0, section="test", question_id=question_id, answer=answer, op_id="o", session_id=""
        )
        return describe(saved, QUIZ)

    assert line("k-matching", {"it": "Rome", "fr": "Paris"}) == (
        "response k-matching {France: Paris; Italy: Rome} 2"
    )
    assert line("k-ordering", ["two", "one", "three", "four"]) == (
        "response k-ordering [2, 1, 3, 4] 1.33333"
    )
    assert line("k-cloze", {"product": 42, "country": "es"}) == (
        "response k-cloze {gap 1: Spain; gap 2: 42} 1.5"
    )
    assert line("k-cloze", None) == "response k-cloze - 0"
    # Choices keep their ids, as the quiz names them.
    assert line("k-multiple", ["a", "b"]) == "response k-multiple [a,b] 2"
