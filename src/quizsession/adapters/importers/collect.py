"""Collecting the questions of one imported file: whole-file refusals (size, count),
the question types that have no quizsession equivalent, and the ``Collector`` that
gives each mapped question a unique id and checks it on its own with
``parse_quiz`` (so that one bad question is skipped, not the whole file)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from quizsession.app.quiz_import import (
    ID_MAX,
    MAX_IMPORT_QUESTIONS,
    MAX_INPUT_BYTES,
    ImportProblem,
    ImportRefused,
    ImportResult,
    slugify,
)
from quizsession.domain.errors import InvalidDefinition
from quizsession.domain.quiz_validation import parse_quiz


def refuse(message: str) -> ImportRefused:
    return ImportRefused(message)


def check_size(size: int) -> None:
    if size > MAX_INPUT_BYTES:
        raise refuse(f"the file is {size} bytes; at most {MAX_INPUT_BYTES} bytes can be imported")


def check_count(count: int) -> None:
    if count > MAX_IMPORT_QUESTIONS:
        raise refuse(
            f"the file holds {count} questions; at most {MAX_IMPORT_QUESTIONS} can be imported"
        )


UNSUPPORTED: dict[str, str] = {
    "randomsamatch": "random short-answer matching has no quizsession equivalent",
    "calculated": (
        "calculated questions draw new values for each attempt; quizsession questions are fixed"
    ),
    "calculatedsimple": (
        "calculated questions draw new values for each attempt; quizsession questions are fixed"
    ),
    "calculatedmulti": (
        "calculated questions draw new values for each attempt; quizsession questions are fixed"
    ),
    "ddwtos": "drag-and-drop questions need a layout quizsession does not have",
    "ddimageortext": "drag-and-drop questions need a layout quizsession does not have",
    "ddmarker": "drag-and-drop questions need a layout quizsession does not have",
    "gapselect": (
        "select-missing-words questions hold several gaps; a quizsession question has one answer"
    ),
    "random": (
        "a random question is drawn from a Moodle category at attempt time; import the "
        "category's questions and use pool selection instead"
    ),
}


def unsupported_message(kind: str) -> str:
    reason = UNSUPPORTED.get(kind)
    if reason is None:
        return f"the question type {kind!r} is not supported"
    return f"not supported: {reason}"


@dataclass
class Source:
    """Where a question came from, for ids and problem reports."""

    index: int
    name: str
    kind: str
    line: int | None = None
    id_hint: str = ""
    exact: bool = False
    """``id_hint`` is the id itself (a Moodle ``<idnumber>``), not a name to slugify."""


@dataclass
class Collector:
    """Gathers the mapped questions, gives each a unique id, checks each one on its
    own with ``parse_quiz`` and records the problems."""

    quiz_id: str
    title: str
    duration_s: float
    questions: list[dict[str, object]] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    _ids: set[str] = field(default_factory=set)

    def skip(self, src: Source, message: str) -> None:
        self.problems.append(
            ImportProblem(
                index=src.index, name=src.name, kind=src.kind, message=message, line=src.line
            )
        )

    def _unique(self, src: Source) -> str:
        base = src.id_hint if src.exact else slugify(src.id_hint) or f"q{src.index}"
        qid, n = base, 1
        while qid in self._ids:
            n += 1
            suffix = f"-{n}"
            qid = base[: ID_MAX - len(suffix)].rstrip("-") + suffix
        return qid

    def add(self, src: Source, fields: dict[str, object], notes: list[str]) -> None:
        qid = self._unique(src)
        question: dict[str, object] = {"id": qid, **fields}
        text = str(question.get("text", ""))
        if _IMAGE_ONLY.fullmatch(text) or (not text.strip() and question.get("images")):
            self.skip(src, "its text is only an image, which cannot be imported")
            return
        choices = question.get("choices", [])
        assert isinstance(choices, list)
        for n, choice in enumerate(choices, start=1):
            if _IMAGE_ONLY.fullmatch(str(choice.get("text", ""))):
                self.skip(src, f"answer {n} is only an image, which cannot be imported")
                return
        found = question_problems(question)
        if found:
            self.skip(src, "does not fit quizsession's rules: " + "; ".join(found))
            return
        self._ids.add(qid)
        self.questions.append(question)
        for note in notes:
            self.problems.append(
                ImportProblem(
                    index=src.index,
                    name=src.name,
                    kind=src.kind,
                    message=note,
                    skipped=False,
                    id=qid,
                    line=src.line,
                )
            )

    def result(self) -> ImportResult:
        definition: dict[str, object] = {
            "id": self.quiz_id,
            "title": self.title,
            "duration_s": self.duration_s,
            "test": {"kind": "test", "questions": self.questions},
        }
        return ImportResult(definition=definition, problems=self.problems)


_QUESTION_PATH = "/test/questions/0"
_IMAGE_ONLY = re.compile(r"(?:\s*\[image\])+\s*")


def question_problems(question: dict[str, object]) -> list[str]:
    """What ``parse_quiz`` finds wrong with ``question`` alone (paths relative to it)."""
    # A second question that takes an answer: a description alone is no test.
    filler = {"id": "_probe", "kind": "true_false", "text": "probe", "correct": True}
    probe = {
        "id": "probe",
        "title": "probe",
        "duration_s": 1,
        "test": {"questions": [question, filler]},
    }
    try:
        parse_quiz(probe)
    except InvalidDefinition as exc:
        return [
            f"{p.path.removeprefix(_QUESTION_PATH).lstrip('/') or 'question'}: {p.message}"
            for p in exc.problems
        ]
    return []


def excerpt(text: str, length: int = 40) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"
