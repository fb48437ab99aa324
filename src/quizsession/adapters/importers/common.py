"""What the GIFT and Moodle XML importers share: the result types, input limits,
ids, HTML to plain text, the mapping of Moodle's weighted answers onto
quizsession's question kinds, and the collector that checks each question on its
own (so that one bad question is skipped, not the whole file).

Fractions here are Moodle's answer weights as fractions of the question's mark
(``1.0`` = 100 %, ``-0.5`` = -50 %)."""

from __future__ import annotations

import html
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

import msgspec

from quizsession.domain.errors import VALIDATION, DomainError, InvalidDefinition
from quizsession.domain.quiz_validation import parse_quiz

MAX_INPUT_BYTES = 10_000_000
"""The largest file accepted (10 MB)."""
MAX_IMPORT_QUESTIONS = 5_000
"""The most questions one file may hold (categories not counted)."""
MAX_RAW_TEXT = 1_000_000
"""The longest single text (question, answer, feedback) read before conversion."""
DEFAULT_DURATION_S = 1800.0
ID_MAX = 64
BLANK = "_____"

Format = Literal["gift", "xml"]
TextFormat = Literal["html", "moodle", "plain", "markdown"]


class ImportRefused(DomainError):
    """The whole file is refused (too large, not UTF-8, not well-formed XML, a DTD,
    too many questions). Nothing is imported."""

    code = VALIDATION


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


def choice_id(position: int) -> str:
    """``a`` .. ``z``, then ``aa``, ``ab`` ...: the id of the choice at ``position``."""
    letters = ""
    n = position + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


# ---------------------------------------------------------------- text

_TAG_END = re.compile(r"""(?:[^>"']++|"[^"]*+"|'[^']*+')*+>""")
_TAG_NAME = re.compile(r"/?([A-Za-z][A-Za-z0-9]*)")
_ALT = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
_RAW_END = {
    name: re.compile(rf"</{name}\b[^>]*>", re.IGNORECASE)
    for name in ("script", "style", "head", "title", "textarea")
}
_BLOCK = frozenset(
    (
        "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "blockquote",
        "pre", "section", "article", "header", "footer", "figure", "figcaption", "hr",
        "address", "center", "form", "fieldset",
    )
)  # fmt: skip
_LINE = frozenset(("br", "li", "tr", "dt", "dd", "caption"))
_CELL = frozenset(("td", "th"))
_SPACE = re.compile(r"\s+")
_PARA, _BR = "\x00P", "\x00B"


@dataclass
class Text:
    text: str
    images: int = 0


def html_to_text(source: str, *, line_breaks: bool = False) -> Text:
    """Plain text from HTML: tags dropped, entities decoded, white space collapsed,
    paragraphs and line breaks kept as blank lines and new lines, list items as
    ``- item``, images as ``[image: alt]``. ``line_breaks`` treats new lines in the
    source as ``<br>`` (Moodle's auto-format). Linear in the input: an unterminated
    tag or comment ends the text, as in a browser."""
    if line_breaks:
        source = source.replace("\r\n", "\n").replace("\n", "<br>")
    out: list[str] = []
    images = 0
    i, n = 0, len(source)

    def data(chunk: str) -> None:
        if chunk:
            out.append(_SPACE.sub(" ", html.unescape(chunk)))

    while i < n:
        j = source.find("<", i)
        if j < 0:
            data(source[i:])
            break
        data(source[i:j])
        if source.startswith("<!--", j):
            end = source.find("-->", j + 4)
            if end < 0:
                break
            i = end + 3
            continue
        nxt = source[j + 1 : j + 2]
        if not (nxt and nxt.isascii() and (nxt.isalpha() or nxt in "/!?")):
            out.append("<")  # "3 < 5": not a tag
            i = j + 1
            continue
        m = _TAG_END.match(source, j + 1)
        if m is None:
            break
        tag, i = source[j + 1 : m.end() - 1], m.end()
        name_match = _TAG_NAME.match(tag)
        if name_match is None:
            continue  # <!doctype ...>, <?xml ...?>
        name, closing = name_match.group(1).lower(), tag.startswith("/")
        if closing:
            if name in _BLOCK:
                out.append(_PARA)
            elif name in _CELL:
                out.append(" ")
            continue
        if name in _RAW_END:
            end_match = _RAW_END[name].search(source, i)
            if end_match is None:
                break
            i = end_match.end()
        elif name == "img":
            images += 1
            alt_match = _ALT.search(tag)
            alt = html.unescape(next((g for g in alt_match.groups() if g), "")) if alt_match else ""
            alt = _SPACE.sub(" ", alt).strip()
            out.append(f" [image: {alt}] " if alt else " [image] ")
        elif name in _BLOCK:
            out.append(_PARA)
        elif name == "li":
            out.append(_BR + "- ")
        elif name in _LINE:
            out.append(_BR)
        elif name in _CELL:
            out.append(" ")
    return Text(_tidy("".join(out)), images)


def _tidy(text: str) -> str:
    lines: list[str] = []
    for para in text.split(_PARA):
        para_lines = [" ".join(line.split()) for line in para.split(_BR)]
        while para_lines and not para_lines[0]:
            para_lines.pop(0)
        while para_lines and not para_lines[-1]:
            para_lines.pop()
        if para_lines:
            if lines:
                lines.append("")
            lines.extend(para_lines)
    return "\n".join(lines)


def plain_text(source: str, fmt: TextFormat) -> Text:
    """The plain text of a Moodle text in ``fmt``: HTML and Moodle auto-format lose
    their tags; plain text and Markdown are kept as written (trimmed)."""
    if len(source) > MAX_RAW_TEXT:
        source = source[:MAX_RAW_TEXT]  # the length check on the result reports it
    if fmt == "html":
        return html_to_text(source)
    if fmt == "moodle":
        return html_to_text(source, line_breaks=True)
    return Text(source.strip())


# ---------------------------------------------------------------- answers


@dataclass
class Answer:
    """One Moodle answer: its text, weight (fraction of the mark) and feedback."""

    text: str
    fraction: float
    feedback: str = ""
    images: int = 0


class Skip(Exception):
    """The question cannot be mapped; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def plural(n: int, word: str, *, count: bool = True) -> str:
    """``1 answer``, ``2 answers`` (``answer``/``answers`` without ``count``)."""
    noun = word if n == 1 else word + "s"
    return f"{n} {noun}" if count else noun


def images_note(images: int) -> str:
    if images == 1:
        return "1 image is not imported (only its description, if any, is kept)"
    return f"{images} images are not imported (only their descriptions, if any, are kept)"


def _the_answers(word: str, listed: list[str], verb: str = "") -> str:
    """``answer 'a' uses`` / ``answers 'a', 'b' use``: ``listed`` are formatted already."""
    if verb and len(listed) > 1:
        verb = verb.removesuffix("s")
    return " ".join(
        x for x in (plural(len(listed), word, count=False), ", ".join(listed), verb) if x
    )


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def _is_full(fraction: float) -> bool:
    return abs(fraction - 1.0) < 1e-6


def _round(x: float) -> float:
    return round(x, 6) + 0.0


def check_fractions(answers: list[Answer]) -> None:
    for a in answers:
        if not math.isfinite(a.fraction) or not -1.0 - 1e-9 <= a.fraction <= 1.0 + 1e-9:
            raise Skip(
                f"answer {a.text!r} has weight {_percent(a.fraction)}; Moodle allows -100% to 100%"
            )


def choice_fields(
    answers: list[Answer], *, single: bool, points: float, notes: list[str]
) -> dict[str, object]:
    """``single`` (one answer worth 100 %) or ``multiple`` (every answer with a
    positive weight is correct, scored ``per_option``). The largest negative weight
    times the points becomes the ``penalty``."""
    check_fractions(answers)
    if len(answers) < 2:
        raise Skip(f"has {plural(len(answers), 'answer')}; a choice question needs at least 2")
    negative = [-a.fraction for a in answers if a.fraction < 0]
    penalty = _round(max(negative, default=0.0) * points)
    if single:
        full = [a for a in answers if _is_full(a.fraction)]
        if not full:
            raise Skip(
                "no answer is worth 100%; a quizsession single-choice question has one right answer"
            )
        if len(full) > 1:
            raise Skip(
                f"{len(full)} answers are worth 100%; a quizsession single-choice question has "
                "exactly one right answer"
            )
        partial = [a for a in answers if 0 < a.fraction < 1 and not _is_full(a.fraction)]
        if partial:
            listed = ", ".join(f"{a.text!r} ({_percent(a.fraction)})" for a in partial)
            verb = "scores" if len(partial) == 1 else "score"
            notes.append(
                f"partial credit is not kept: {listed} now {verb} as wrong; a quizsession "
                "single-choice question is either right or wrong"
            )
        wrong = [a.fraction for a in answers if not _is_full(a.fraction)]
        if negative and len({_round(f) for f in wrong}) > 1:
            notes.append(
                f"every wrong answer now costs the same penalty {penalty:g} (the largest negative "
                f"weight, {_percent(-max(negative))}); Moodle's weights differed per answer"
            )
        correct = [_is_full(a.fraction) for a in answers]
    else:
        correct = [a.fraction > 0 for a in answers]
        if not any(correct):
            raise Skip("no answer has a positive weight, so none is correct")
    choices: list[dict[str, object]] = []
    for i, (a, right) in enumerate(zip(answers, correct, strict=True)):
        choice: dict[str, object] = {"id": choice_id(i), "text": a.text}
        if right:
            choice["correct"] = True
        if a.feedback:
            choice["feedback"] = a.feedback
        choices.append(choice)
    out: dict[str, object] = {"kind": "single" if single else "multiple"}
    if penalty:
        out["penalty"] = penalty
    out["choices"] = choices
    return out


_WILDCARD = re.compile(r"(?<!\\)\*")


def short_text_fields(
    answers: list[Answer], *, case_sensitive: bool, notes: list[str]
) -> dict[str, object]:
    """``short_text``: the answers worth 100 % are accepted. Others (partial credit,
    0 % answers that only carry feedback) are not; Moodle's ``*`` wildcard cannot be
    matched, so answers using it are left out."""
    check_fractions(answers)
    accepted: list[str] = []
    wildcard: list[str] = []
    partial: list[str] = []
    for a in answers:
        if _is_full(a.fraction):
            if _WILDCARD.search(a.text):
                wildcard.append(repr(a.text))
            else:
                accepted.append(a.text.replace("\\*", "*"))
        elif a.fraction > 0:
            partial.append(f"{a.text!r} ({_percent(a.fraction)})")
    if not accepted:
        if wildcard:
            uses = _the_answers("right answer", wildcard, "uses")
            raise Skip(f"{uses} Moodle's '*' wildcard, which quizsession does not match")
        raise Skip("no answer is worth 100%")
    if wildcard:
        uses = _the_answers("answer", wildcard, "uses")
        notes.append(f"{uses} Moodle's '*' wildcard, which quizsession does not match: left out")
    if partial:
        verb = "is" if len(partial) == 1 else "are"
        notes.append(f"{_the_answers('partial-credit answer', partial)} {verb} not accepted")
    out: dict[str, object] = {"kind": "short_text", "accepted": accepted}
    if case_sensitive:
        out["case_sensitive"] = True
    return out


@dataclass
class NumericAnswer:
    value: float
    tolerance: float
    fraction: float
    feedback: str = ""


def numeric_fields(answers: list[NumericAnswer], notes: list[str]) -> dict[str, object]:
    """``numeric`` from the answer worth 100 % (value and absolute tolerance)."""
    full = [a for a in answers if _is_full(a.fraction)]
    if not full:
        raise Skip("no numeric answer is worth 100%")
    if len(full) > 1:
        raise Skip(
            f"{len(full)} numeric answers are worth 100%; a quizsession numeric question has "
            "one value and tolerance"
        )
    partial = [a for a in answers if 0 < a.fraction < 1 and not _is_full(a.fraction)]
    if partial:
        listed = ", ".join(f"{a.value:g}±{a.tolerance:g} ({_percent(a.fraction)})" for a in partial)
        verb = "is" if len(partial) == 1 else "are"
        notes.append(
            f"partial-credit {plural(len(partial), 'answer', count=False)} {listed} {verb} not kept"
        )
    [right] = full
    out: dict[str, object] = {"kind": "numeric", "value": right.value}
    if right.tolerance:
        out["tolerance"] = right.tolerance
    return out


def number(text: str) -> float:
    """A finite float from ``text`` (``ValueError`` otherwise)."""
    value = float(text.strip())
    if not math.isfinite(value):
        raise ValueError(text)
    return value


ANSWER_FEEDBACK_NOTE = (
    "answer-specific feedback is not kept (a quizsession {kind} question has one feedback text)"
)

# ---------------------------------------------------------------- collecting

UNSUPPORTED: dict[str, str] = {
    "essay": "essays are marked by hand; quizsession marks every answer automatically",
    "matching": "matching questions (pairs of items) have no quizsession equivalent",
    "randomsamatch": "random short-answer matching has no quizsession equivalent",
    "multianswer": (
        "embedded-answers (Cloze) questions hold several sub-questions in one text; "
        "a quizsession question has one answer"
    ),
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
    "ordering": "ordering questions have no quizsession equivalent",
    "random": (
        "a random question is drawn from a Moodle category at attempt time; import the "
        "category's questions and use pool selection instead"
    ),
    "description": "not a question (a Moodle description: text shown without an answer)",
}


def unsupported_message(kind: str) -> str:
    reason = UNSUPPORTED.get(kind)
    if reason is None:
        return f"the question type {kind!r} is not supported"
    if kind == "description":
        return reason
    return f"not supported: {reason}"


@dataclass
class Source:
    """Where a question came from, for ids and problem reports."""

    index: int
    name: str
    kind: str
    line: int | None = None
    id_hint: str = ""


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
        base = slugify(src.id_hint) or f"q{src.index}"
        qid, n = base, 1
        while qid in self._ids:
            n += 1
            suffix = f"-{n}"
            qid = base[: ID_MAX - len(suffix)].rstrip("-") + suffix
        return qid

    def add(self, src: Source, fields: dict[str, object], notes: list[str]) -> None:
        qid = self._unique(src)
        question: dict[str, object] = {"id": qid, **fields}
        if _IMAGE_ONLY.fullmatch(str(question.get("text", ""))):
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
    probe = {"id": "probe", "title": "probe", "duration_s": 1, "test": {"questions": [question]}}
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
