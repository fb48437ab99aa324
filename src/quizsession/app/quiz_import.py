"""Importing quizzes written for other systems (Moodle GIFT and Moodle XML): the
``QuizImporter`` port, what it returns, and its limits.

An importer reads a file into a plain definition mapping in quizsession's own format
(every question in ``test``) that ``parse_quiz`` checks like any other, plus one
``ImportProblem`` per question it skipped or carried over with a loss. A file that
cannot be read at all is refused whole (``ImportRefused``). The adapters
(``quizsession.adapters.importers``) implement the port; the composition root
builds it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal, Protocol

import msgspec

from quizsession.domain.errors import DomainError, ErrorCode

MAX_INPUT_BYTES = 10_000_000
"""The largest file accepted (10 MB)."""
MAX_IMPORT_QUESTIONS = 5_000
"""The most questions one file may hold (categories not counted)."""
DEFAULT_DURATION_S = 1800.0
ID_MAX = 64

Format = Literal["gift", "xml"]


class ImportRefused(DomainError):
    """The whole file is refused (too large, not UTF-8, not well-formed XML, a DTD,
    too many questions). Nothing is imported."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, code=ErrorCode.VALIDATION)


class ImportProblem(msgspec.Struct, frozen=True, kw_only=True):
    """Something about one question that could not be carried over.

    ``skipped`` problems mean the question was left out; the others are notes on a
    question that was imported with a loss (a partial-credit answer, answer
    feedback, an image) that the admin should review."""

    index: int
    """1-based position of the question in the file (categories not counted)."""
    name: str
    """Its name in the source (GIFT ``::title::``, Moodle ``<name>``), or the start
    of its text when it has none."""
    kind: str
    """Its Moodle question type (``multichoice``, ``essay``, ``matching`` ...)."""
    message: str
    skipped: bool = True
    id: str | None = None
    """The quizsession id it was imported as (notes only)."""
    line: int | None = None
    """GIFT: the line the question starts on."""

    def describe(self) -> str:
        where = f"line {self.line}, " if self.line is not None else ""
        what = "skipped" if self.skipped else f"imported as {self.id}, note"
        return f"question {self.index} {self.name!r} ({where}{self.kind}): {what}: {self.message}"


class ImportResult(msgspec.Struct, frozen=True, kw_only=True):
    definition: dict[str, object]
    """A quiz definition in quizsession's format (every question in ``test``)."""
    problems: list[ImportProblem]

    @property
    def questions(self) -> list[dict[str, object]]:
        test = self.definition["test"]
        assert isinstance(test, dict)
        questions = test["questions"]
        assert isinstance(questions, list)
        return questions

    @property
    def skipped(self) -> int:
        return sum(1 for p in self.problems if p.skipped)


class QuizImporter(Protocol):
    """Reads quiz files of other systems into quizsession's definition format."""

    def detect_format(self, filename: str, data: bytes) -> Format:
        """The format of ``data``, by the file name's extension, then by content."""
        ...

    def import_quiz(
        self,
        data: bytes,
        *,
        fmt: Format,
        quiz_id: str,
        title: str,
        duration_s: float = DEFAULT_DURATION_S,
    ) -> ImportResult:
        """Read ``data`` in ``fmt``; raise ``ImportRefused`` for a file refused whole."""
        ...


# ---------------------------------------------------------------- ids


_TRANSLITERATE = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "ł": "l",
     "Ł": "L", "đ": "d", "Đ": "D", "þ": "th", "Þ": "Th"}
)  # fmt: skip


def slugify(text: str) -> str:
    """Lower-case ASCII letters and digits joined by ``-`` (accents dropped), at
    most 64 characters; ``""`` when nothing is left."""
    text = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
    ascii_text = text.encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:ID_MAX].rstrip("-")
