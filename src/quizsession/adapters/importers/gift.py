"""Moodle GIFT (plain-text question format) to a quizsession definition.

Follows Moodle's own reader (``question/format/gift/format.php``): questions are
separated by blank lines, ``//`` lines are comments, ``$CATEGORY:`` lines are
ignored, ``::title::`` names a question, the answers are one ``{...}`` block (text
after it makes a missing-word question: the block becomes ``_____``), ``####``
starts the general feedback, ``#`` an answer's feedback, ``%n%`` an answer's
weight, and ``\\~ \\= \\# \\{ \\} \\:`` (plus ``\\n`` and ``\\\\``) are escapes. A
``[html]``, ``[moodle]``, ``[plain]`` or ``[markdown]`` marker sets a text's format.
A text without an answer block is a description, ``{}`` an essay, ``{=a -> b ...}``
a matching question. See docs/importing.md for the mapping."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

from quizsession.adapters.importers.answers import (
    ANSWER_FEEDBACK_NOTE,
    Answer,
    NumericAnswer,
    Skip,
    choice_fields,
    choice_id,
    images_note,
    number,
    numeric_fields,
    short_text_fields,
)
from quizsession.adapters.importers.collect import (
    Collector,
    Source,
    check_count,
    check_size,
    excerpt,
)
from quizsession.adapters.importers.html_text import TextFormat, plain_text
from quizsession.adapters.importers.media import Media
from quizsession.app.quiz_import import DEFAULT_DURATION_S, ImportResult

BLANK = "_____"
"""What replaces the answer block of a missing-word question in its text."""

# Escaped control characters become private-use placeholders while the structure
# is read, and are restored in each text (as Moodle does).
_ESCAPES = {
    "~": "\ue001",
    "=": "\ue002",
    "#": "\ue003",
    "{": "\ue004",
    "}": "\ue005",
    ":": "\ue006",
    "n": "\n",
    "\\": "\\",
}
_RESTORE = str.maketrans({v: k for k, v in _ESCAPES.items() if k not in "n\\"})
_PLACEHOLDERS = re.compile("[\ue001-\ue006]")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_WEIGHT = re.compile(r"%(-?\d+(?:\.\d*)?|-?\.\d+)%")
_FORMAT = re.compile(r"\[(html|moodle|plain|markdown)\]")
_TRUE_FALSE = {"T": True, "TRUE": True, "F": False, "FALSE": False}

Read = tuple[dict[str, object], int]
"""A reader's result: the question's own fields (``kind`` first) and how many
images its answers held (GIFT keeps none)."""
Reader = Callable[[str, TextFormat, list[str]], Read]
"""(answer block, text format, notes) -> ``Read``; raises ``Skip``."""


def parse_gift(
    text: str, *, quiz_id: str, title: str, duration_s: float = DEFAULT_DURATION_S
) -> ImportResult:
    """Read GIFT ``text``; every question goes into the test section. Questions
    that cannot be mapped are skipped with a problem each. Raises ``ImportRefused``
    when the text is too large or holds too many questions."""
    check_size(len(text.encode("utf-8", "surrogatepass")))
    text = _PLACEHOLDERS.sub("", text.removeprefix("\ufeff"))
    blocks = [b for b in _blocks(text) if b[1]]
    check_count(len(blocks))
    collector = Collector(quiz_id=quiz_id, title=title, duration_s=duration_s)
    for index, (line, body) in enumerate(blocks, start=1):
        _question(collector, index, line, body)
    return collector.result()


def _blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each question: blank-line separated, comment
    lines and ``$CATEGORY:`` lines removed, escapes replaced."""
    blocks: list[tuple[int, str]] = []
    lines: list[str] = []
    start = 0
    for number_, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("//"):
            continue
        if not line:
            if lines:
                blocks.append((start, _escape("\n".join(lines))))
                lines = []
            continue
        if line.startswith("$CATEGORY:") and not lines:
            continue
        if not lines:
            start = number_
        lines.append(line)
    if lines:
        blocks.append((start, _escape("\n".join(lines))))
    return blocks


def _escape(text: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(0)), text)


def _restore(text: str) -> str:
    return text.translate(_RESTORE)


def _format(text: str, default: TextFormat) -> tuple[str, TextFormat]:
    text = text.strip()
    m = _FORMAT.match(text)
    if m is None:
        return text, default
    fmt: TextFormat = m.group(1)  # type: ignore[assignment]
    return text[m.end() :], fmt


def _plain(text: str, default: TextFormat) -> tuple[str, int]:
    body, fmt = _format(text, default)
    converted = plain_text(_restore(body), fmt)
    return converted.text, converted.images


def _literal(text: str, default: TextFormat) -> str:
    """An answer compared as typed (short answers): format marker dropped, no tags
    removed."""
    body, _fmt = _format(text, default)
    return _restore(body).strip()


def _question(c: Collector, index: int, line: int, body: str) -> None:
    title = ""
    if body.startswith("::"):
        end = body.find("::", 2)
        if end >= 0:
            title = _restore(body[2:end]).strip()
            body = body[end + 2 :].strip()
        else:
            body = body[2:]
    opens, closes = body.count("{"), body.count("}")
    start, finish = body.find("{"), body.find("}")
    raw_text = (
        body
        if start < 0
        else body[:start] + ("" if body.rstrip().endswith("}") else BLANK + body[finish + 1 :])
    )
    qtext, qformat = _format(raw_text, "moodle")
    media = Media()
    text_plain = plain_text(_restore(qtext), qformat, media)
    src = Source(
        index=index, name=title or excerpt(text_plain.text), kind="?", line=line, id_hint=title
    )
    if opens == 0 and closes == 0:
        qtype, answers, general = "description", "", ""
    else:
        problem = _block_problem(opens, closes, start, finish)
        if problem is not None:
            src.kind, message = problem
            c.skip(src, message)
            return
        answers = body[start + 1 : finish].strip()
        general = ""
        if (sep := answers.rfind("####")) >= 0:
            general = answers[sep + 4 :]
            answers = answers[:sep].strip()
        qtype = _kind(answers)
    src.kind = qtype
    notes: list[str] = []
    feedback, images = _plain(general, qformat)
    try:
        fields, images_in = GIFT_READERS[qtype](answers, qformat, notes)
    except Skip as exc:
        c.skip(src, exc.message)
        return
    images += images_in
    if images:
        notes.append(images_note(images))
    question: dict[str, object] = {
        "kind": fields.pop("kind"),
        "text": text_plain.text,
        "points": 1.0,
    }
    if "penalty" in fields:
        question["penalty"] = fields.pop("penalty")
    if feedback:
        question["feedback"] = feedback
    question.update(fields)
    _add(c, src, question, notes, media)


def _block_problem(opens: int, closes: int, start: int, finish: int) -> tuple[str, str] | None:
    """(the type named in the skip, why) when the answer blocks cannot be read."""
    if opens != closes or finish < start:
        return (
            "unknown",
            "malformed: the '{' and '}' around the answers do not match (escape a "
            "literal brace as \\{ or \\})",
        )
    if opens > 1:
        return (
            "multianswer",
            f"has {opens} answer blocks; a quizsession question has one answer "
            "(embedded answers are not supported)",
        )
    return None


def _add(
    c: Collector, src: Source, question: dict[str, object], notes: list[str], media: Media
) -> None:
    """The question with the images its text keeps (after the common keys)."""
    if media.images:
        common = ("kind", "text", "points", "penalty", "feedback")
        head = {k: question[k] for k in common if k in question}
        rest = {k: v for k, v in question.items() if k not in head}
        question = head | {"images": media.images} | rest
        alts = [i["alt"] for i in media.images]
        if not str(question["text"]).strip() and all(alts):
            question["text"] = " ".join(f"[image: {alt}]" for alt in alts)
    c.add(src, question, media.notes + notes)


def _kind(answers: str) -> str:
    """Moodle's rules for telling the question type from the answer block."""
    if not answers:
        return "essay"
    if answers.startswith("#"):
        return "numerical"
    if "~" in answers:
        return "multichoice"
    if "=" in answers and "->" in answers:
        return "matching"
    head = answers.split("#", 1)[0].strip()
    if head.upper() in _TRUE_FALSE:
        return "truefalse"
    return "shortanswer"


def _split(answers: str, markers: str) -> list[tuple[str, str]]:
    """(marker, text) for each answer, split where a marker character starts one."""
    parts: list[tuple[str, str]] = []
    lead = ""
    current: list[str] | None = None
    marker = ""
    for ch in answers:
        if ch in markers:
            if current is not None:
                parts.append((marker, "".join(current)))
            marker, current = ch, []
        elif current is None:
            lead += ch
        else:
            current.append(ch)
    if current is not None:
        parts.append((marker, "".join(current)))
    if lead.strip():
        parts.insert(0, ("", lead))
    return parts


def _weight(text: str, default: float) -> tuple[float, str]:
    text = text.strip()
    m = _WEIGHT.match(text)
    if m is None:
        return default, text
    return float(m.group(1)) / 100.0, text[m.end() :]


def _description(answers: str, qformat: TextFormat, notes: list[str]) -> Read:
    """No answer block: a text worth 0."""
    return {"kind": "description", "points": 0.0}, 0


def _essay(answers: str, qformat: TextFormat, notes: list[str]) -> Read:
    """An empty block ``{}``."""
    return {"kind": "essay"}, 0


def _multichoice(answers: str, qformat: TextFormat, notes: list[str]) -> Read:
    choices, images = _choices(answers, qformat)
    return choice_fields(choices, single="=" in answers, points=1.0, notes=notes), images


def _choices(answers: str, qformat: TextFormat) -> tuple[list[Answer], int]:
    out: list[Answer] = []
    images = 0
    for marker, raw in _split(answers, "~="):
        if not marker:
            raise Skip("malformed: text before the first '~' or '=' answer")
        fraction, rest = _weight(raw, 1.0 if marker == "=" else 0.0)
        answer_text, _, feedback_text = rest.partition("#")
        text, text_images = _plain(answer_text, qformat)
        feedback, feedback_images = _plain(feedback_text, qformat)
        images += text_images + feedback_images
        out.append(Answer(text=text, fraction=fraction, feedback=feedback))
    return out, images


def _matching(answers: str, qformat: TextFormat, notes: list[str]) -> Read:
    """``=item -> answer`` pairs; ``= -> answer`` (no item) is an extra wrong answer."""
    pairs: list[dict[str, object]] = []
    distractors: list[str] = []
    images = 0
    for marker, raw in _split(answers, "="):
        if not marker:
            raise Skip("malformed: text before the first '=' pair")
        item, arrow, answer_text = raw.partition("->")
        if not arrow:
            raise Skip(f"malformed: the pair {_restore(raw).strip()!r} has no '->'")
        text, text_images = _plain(item, qformat)
        images += text_images
        answer = " ".join(_restore(answer_text).split())
        if not answer:
            raise Skip(f"the item {text!r} has no answer")
        if text:
            pairs.append({"id": choice_id(len(pairs)), "text": text, "answer": answer})
        elif answer not in distractors:
            distractors.append(answer)
    fields: dict[str, object] = {"kind": "matching", "pairs": pairs}
    answers_given = {p["answer"] for p in pairs}
    if extra := [d for d in distractors if d not in answers_given]:
        fields["distractors"] = extra
    return fields, images


def _true_false(answers: str, qformat: TextFormat, notes: list[str]) -> Read:
    value, *feedback = answers.split("#")
    if any(f.strip() for f in feedback):
        notes.append(ANSWER_FEEDBACK_NOTE.format(kind="true/false"))
    return {"kind": "true_false", "correct": _TRUE_FALSE[value.strip().upper()]}, 0


def _short_text(answers: str, qformat: TextFormat, notes: list[str]) -> Read:
    items: list[Answer] = []
    for _marker, raw in _split(answers, "="):
        fraction, rest = _weight(raw, 1.0)
        answer_text, _, feedback = rest.partition("#")
        items.append(Answer(_literal(answer_text, qformat), fraction, feedback.strip()))
    fields = short_text_fields(items, case_sensitive=False, notes=notes)
    if any(a.feedback for a in items):
        notes.append(ANSWER_FEEDBACK_NOTE.format(kind="short-text"))
    return fields, 0


def _numeric(answers: str, qformat: TextFormat, notes: list[str]) -> Read:
    body = answers[1:]
    body, tilde, wrong_feedback = body.partition("~")
    items: list[NumericAnswer] = []
    for _marker, raw in _split(body, "="):
        fraction, rest = _weight(raw, 1.0)
        spec, _, feedback = rest.partition("#")
        spec = _restore(spec).strip()
        try:
            if ".." in spec[1:]:
                low_text, high_text = spec.split("..", 1)
                low, high = number(low_text), number(high_text)
                value, tolerance = (low + high) / 2, abs(high - low) / 2
            elif ":" in spec[1:]:
                value_text, tolerance_text = spec.split(":", 1)
                value, tolerance = number(value_text), abs(number(tolerance_text))
            else:
                value, tolerance = number(spec), 0.0
        except ValueError:
            raise Skip(
                f"numeric answer {spec!r} is not a number, 'value:tolerance' or 'min..max'"
            ) from None
        items.append(NumericAnswer(value, tolerance, fraction, feedback.strip()))
    fields = numeric_fields(items, notes)
    if any(a.feedback for a in items) or (tilde and wrong_feedback.partition("#")[2].strip()):
        notes.append(ANSWER_FEEDBACK_NOTE.format(kind="numeric"))
    return fields, 0


GIFT_READERS: Mapping[str, Reader] = MappingProxyType(
    {
        "description": _description,
        "essay": _essay,
        "matching": _matching,
        "numerical": _numeric,
        "multichoice": _multichoice,
        "truefalse": _true_false,
        "shortanswer": _short_text,
    }
)
"""Moodle question type (as ``_kind`` tells it from the answer block, or
``description`` for a text without one) -> its reader."""
