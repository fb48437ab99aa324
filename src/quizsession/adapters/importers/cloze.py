"""Moodle's embedded answers (Cloze, ``multianswer``) to a quizsession ``cloze``
question.

Each embedded answer ``{weight:TYPE:alternatives}`` in the question's (HTML) text
becomes a gap ``{{gN}}``:

- ``MULTICHOICE``/``MC`` and its layouts ``_V``/``MCV``, ``_H``/``MCH``,
  ``_S``/``MCS``, ``_VS``/``MCVS``, ``_HS``/``MCHS`` -> a ``choice`` gap;
- ``SHORTANSWER``/``SA``/``MW`` -> a ``short_text`` gap, ``SHORTANSWER_C``/``SAC``/
  ``MWC`` a case-sensitive one;
- ``NUMERICAL``/``NM`` -> a ``numeric`` gap (``value:tolerance``).

Alternatives are separated by ``~``; ``=`` or ``%100%`` marks a right one,
``%n%`` a partial one (a gap is right or wrong here: noted), ``#`` starts an
alternative's feedback; ``\\}``, ``\\#`` and ``\\~`` are literal. The weight (default
1) is the gap's share of the question's points. Read like Moodle's own
``qtype_multianswer_extract_question``, with a linear scanner instead of its
regular expression. ``MULTIRESPONSE`` gaps (several right choices) cannot be
expressed: the question is skipped.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from quizsession.adapters.importers.answers import (
    Answer,
    NumericAnswer,
    Skip,
    item_ids,
    number,
    numeric_fields,
    plural,
    short_text_fields,
)
from quizsession.adapters.importers.html_text import MediaSink, TextFormat, plain_text

MAX_GAPS = 100

_START = re.compile(r"\{([0-9]*):([A-Z_]+):")
_TYPES: dict[str, str] = {}
for _names, _kind in (
    (("NUMERICAL", "NM"), "numeric"),
    (("SHORTANSWER", "SA", "MW"), "short_text"),
    (("SHORTANSWER_C", "SAC", "MWC"), "short_text_c"),
    (
        (
            "MULTICHOICE", "MC", "MULTICHOICE_V", "MCV", "MULTICHOICE_H", "MCH",
            "MULTICHOICE_S", "MCS", "MULTICHOICE_VS", "MCVS", "MULTICHOICE_HS", "MCHS",
        ),
        "choice",
    ),
    (
        (
            "MULTIRESPONSE", "MR", "MULTIRESPONSE_H", "MRH", "MULTIRESPONSE_S", "MRS",
            "MULTIRESPONSE_HS", "MRHS",
        ),
        "multiresponse",
    ),
):  # fmt: skip
    for _name in _names:
        _TYPES[_name] = _kind
_FRACTION = re.compile(r"%(-?[0-9]+(?:[.,][0-9]*)?)%")
_MARK = "\ue010{}\ue011"
_MARKED = re.compile("\ue010([0-9]+)\ue011")


@dataclass
class Embedded:
    """One embedded answer as written: where it is and what it holds."""

    start: int
    end: int
    weight: float
    kind: str
    case_sensitive: bool
    alternatives: list[tuple[float, str, str]]  # fraction, answer, feedback (raw HTML)


def find_embedded(text: str) -> list[Embedded]:
    """The embedded answers of ``text``, in order. Linear in the text."""
    found: list[Embedded] = []
    pos = 0
    while (m := _START.search(text, pos)) is not None:
        kind_name = m.group(2)
        if kind_name not in _TYPES:
            pos = m.start() + 1
            continue
        end = _unescaped(text, m.end(), "}")
        if end < 0:
            break
        body = text[m.end() : end]
        kind = _TYPES[kind_name]
        found.append(
            Embedded(
                start=m.start(),
                end=end + 1,
                weight=float(m.group(1)) if m.group(1) else 1.0,
                kind="short_text" if kind == "short_text_c" else kind,
                case_sensitive=kind == "short_text_c",
                alternatives=[_alternative(raw) for raw in _split(body, "~")],
            )
        )
        pos = end + 1
    return found


def _escaped(text: str, i: int) -> bool:
    """Whether the character at ``i`` is escaped: after a backslash, or (``#``)
    part of an HTML character reference (``&#35;``, ``&amp;#``)."""
    if i > 0 and text[i - 1] == "\\":
        return True
    return text[i] == "#" and (text.endswith("&", 0, i) or text.endswith("&amp;", 0, i))


def _unescaped(text: str, start: int, char: str) -> int:
    i = text.find(char, start)
    while i >= 0 and _escaped(text, i):
        i = text.find(char, i + 1)
    return i


def _split(body: str, sep: str) -> list[str]:
    parts: list[str] = []
    start = 0
    while (i := _unescaped(body, start, sep)) >= 0:
        parts.append(body[start:i])
        start = i + 1
    parts.append(body[start:])
    return parts


def _alternative(raw: str) -> tuple[float, str, str]:
    fraction = 0.0
    if raw.startswith("="):
        fraction, raw = 1.0, raw[1:]
    elif m := _FRACTION.match(raw):
        fraction, raw = float(m.group(1).replace(",", ".")) / 100.0, raw[m.end() :]
    hash_at = _unescaped(raw, 0, "#")
    answer, feedback = (raw, "") if hash_at < 0 else (raw[:hash_at], raw[hash_at + 1 :])
    return fraction, answer, feedback


def _literal(raw: str) -> str:
    return html.unescape(raw.replace("\\}", "}").replace("\\#", "#").replace("\\~", "~"))


def cloze_fields(
    text: str, fmt: TextFormat, media: MediaSink, notes: list[str]
) -> dict[str, object]:
    """The ``text`` (with ``{{gN}}`` markers), ``gaps`` and ``points`` (the sum of
    the weights, as in Moodle) of a cloze question written as ``text``."""
    embedded = find_embedded(text)
    if not embedded:
        raise Skip("its text holds no embedded answers ({1:MULTICHOICE:...} and the like)")
    if len(embedded) > MAX_GAPS:
        raise Skip(f"has {len(embedded)} embedded answers; a cloze question holds at most 100")
    pieces: list[str] = []
    last = 0
    for n, e in enumerate(embedded, start=1):
        pieces += [text[last : e.start], _MARK.format(n)]
        last = e.end
    pieces.append(text[last:])
    converted = plain_text("".join(pieces), fmt, media)
    gaps = [_gap(n, e, notes) for n, e in enumerate(embedded, start=1)]
    marked = _MARKED.sub(lambda m: "{{g" + m.group(1) + "}}", converted.text)
    dropped = [
        str(n) for n, e in enumerate(embedded, start=1)
        if e.kind != "choice" and any(fb.strip() for _, _, fb in e.alternatives)
    ]  # fmt: skip
    if dropped:
        word = plural(len(dropped), "gap", count=False)
        notes.append(
            f"the answer feedback of {word} {', '.join(dropped)} is not kept (a short-text or "
            "numeric gap has no per-answer feedback)"
        )
    return {
        "kind": "cloze",
        "text": marked,
        "points": sum(e.weight for e in embedded),
        "gaps": gaps,
    }


def _gap(n: int, e: Embedded, notes: list[str]) -> dict[str, object]:
    gid = f"g{n}"
    if e.weight <= 0:
        raise Skip(f"gap {n} has weight 0; every gap must be worth something")
    if e.kind == "multiresponse":
        raise Skip(
            f"gap {n} is a MULTIRESPONSE gap (several right choices); a quizsession gap "
            "takes one answer"
        )
    gap: dict[str, object] = {"id": gid, "kind": e.kind}
    if e.weight != 1.0:
        gap["weight"] = e.weight
    partial = [a for f, a, _ in e.alternatives if 0 < f < 1 - 1e-6]
    if partial and e.kind == "choice":  # short text and numeric: noted by their mapping
        listed = ", ".join(repr(_literal(a).strip()) for a in partial)
        notes.append(
            f"gap {n}: partial credit is not kept ({listed} now "
            f"{'scores' if len(partial) == 1 else 'score'} as wrong; a gap is right or wrong)"
        )
    gap_notes: list[str] = []
    try:
        if e.kind == "choice":
            gap["choices"] = _choices(e)
        elif e.kind == "short_text":
            answers = [Answer(_literal(a).strip(), f) for f, a, _ in e.alternatives]
            fields = short_text_fields(answers, case_sensitive=e.case_sensitive, notes=gap_notes)
            gap["accepted"] = fields["accepted"]
            if e.case_sensitive:
                gap["case_sensitive"] = True
        else:
            fields = numeric_fields(_numbers(n, e), gap_notes)
            gap["value"] = fields["value"]
            if "tolerance" in fields:
                gap["tolerance"] = fields["tolerance"]
    except Skip as exc:
        raise Skip(f"gap {n}: {exc.message}") from None
    notes.extend(f"gap {n}: {note}" for note in gap_notes)
    return gap


def _choices(e: Embedded) -> list[dict[str, object]]:
    choices: list[dict[str, object]] = []
    texts = [_html(answer) for _fraction, answer, _feedback in e.alternatives]
    ids = item_ids(texts)
    for choice_key, text, (fraction, _answer, feedback) in zip(
        ids, texts, e.alternatives, strict=True
    ):
        choice: dict[str, object] = {"id": choice_key, "text": text}
        if fraction >= 1 - 1e-6:
            choice["correct"] = True
        if fb := _html(feedback):
            choice["feedback"] = fb
        choices.append(choice)
    if len(choices) < 2:
        raise Skip("a choice gap needs at least 2 choices")
    if not any(c.get("correct") for c in choices):
        raise Skip("no choice is worth 100%")
    return choices


def _html(raw: str) -> str:
    return plain_text(raw.replace("\\}", "}").replace("\\#", "#").replace("\\~", "~"), "html").text


def _numbers(n: int, e: Embedded) -> list[NumericAnswer]:
    out: list[NumericAnswer] = []
    for fraction, answer, _feedback in e.alternatives:
        spec = _literal(answer).strip()
        if spec == "*":
            continue  # Moodle's "any other answer": feedback only
        value_text, _, tolerance_text = spec.partition(":")
        try:
            value = number(value_text.replace(",", "."))
            tolerance = abs(number(tolerance_text.replace(",", "."))) if tolerance_text else 0.0
        except ValueError:
            raise Skip(f"numeric answer {spec!r} is not a number or 'value:tolerance'") from None
        out.append(NumericAnswer(value, tolerance, fraction))
    return out
