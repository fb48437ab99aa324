"""The Moodle XML question types with several parts: essay, matching, ordering
(the qtype_ordering plugin), cloze (embedded answers) and description; and
``XmlQuestion``, one question being read (its formatted texts, images and notes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from quizsession.adapters.importers.answers import Skip, choice_id, item_ids, number
from quizsession.adapters.importers.cloze import cloze_fields
from quizsession.adapters.importers.html_text import TextFormat, plain_text
from quizsession.adapters.importers.media import Media

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

FORMATS: dict[str, TextFormat] = {
    "html": "html",
    "moodle_auto_format": "moodle",
    "plain_text": "plain",
    "markdown": "markdown",
}
MAX_WORD_LIMIT = 100_000


def child_text(element: Element, tag: str) -> str:
    """The text of ``<tag><text>...</text></tag>``, or of ``<tag>...</tag>``."""
    child = element.find(tag)
    if child is None:
        return ""
    inner = child.find("text")
    return (inner.text if inner is not None else child.text) or ""


@dataclass
class XmlQuestion:
    """One ``<question>`` being read: its texts go through ``rich``, which keeps
    the question text's images in ``media``; ``notes`` are the losses."""

    q: Element
    media: Media = field(default_factory=Media)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def rich(self, node: Element | None, *, keep: bool = False) -> str:
        """The plain text of a formatted Moodle text (``<x format="html"><text>``);
        ``keep``: its images may become question images."""
        raw, fmt = self.raw(node)
        if node is None:
            return ""
        return plain_text(raw, fmt, self.media.reading(self.embedded(node), keep=keep)).text

    def raw(self, node: Element | None) -> tuple[str, TextFormat]:
        if node is None:
            return "", "html"
        inner = node.find("text")
        raw = (inner.text if inner is not None else None) or ""
        return raw, FORMATS.get(node.get("format", "html"), "html")

    def embedded(self, node: Element) -> dict[str, str]:
        files = {
            f.get("name", ""): f.text or ""
            for f in node.findall("file")
            if f.get("encoding", "base64") == "base64"
        }
        self.files += [name for name in files if name not in self.files]
        return files

    def finish(self, question: dict[str, Any]) -> None:
        """Moodle 1.9's ``<image>``, embedded files no text shows, and the
        question's ``images``."""
        name = child_text(self.q, "image")
        data = child_text(self.q, "image_base64")
        if name.strip() or data.strip():
            self.media.legacy(name, data)
        self.media.unused(self.files)
        if self.media.images:
            question["images"] = self.media.images
            alts = [i["alt"] for i in self.media.images]
            if not str(question.get("text", "")).strip() and all(alts):
                question["text"] = " ".join(f"[image: {alt}]" for alt in alts)


def description(x: XmlQuestion) -> dict[str, Any]:
    return {"kind": "description"}


def essay(x: XmlQuestion) -> dict[str, Any]:
    q = x.q
    out: dict[str, Any] = {"kind": "essay"}
    response = child_text(q, "responseformat").strip() or "editor"
    if response == "noinline":
        x.notes.append(
            "Moodle asked for file attachments only; here the candidate types the answer"
        )
    elif response != "plain":
        shown = {"editor": "an HTML editor", "editorfilepicker": "an HTML editor with files",
                 "monospaced": "a monospaced text box"}.get(response, repr(response))  # fmt: skip
        x.notes.append(
            f"Moodle's response format was {shown}; the answer is plain text with line breaks"
        )
    attachments = child_text(q, "attachments").strip()
    if attachments not in ("", "0") and response != "noinline":
        x.notes.append("file attachments are not supported: the candidate types the answer only")
    minimum = _whole(child_text(q, "minwordlimit"))
    if minimum:
        x.notes.append(f"the minimum of {minimum} words is not kept (only a maximum is)")
    maximum = _whole(child_text(q, "maxwordlimit"))
    if maximum is not None and 1 <= maximum <= MAX_WORD_LIMIT:
        out["word_limit"] = maximum
    elif maximum:
        x.notes.append(f"the word limit {maximum} is outside 1..{MAX_WORD_LIMIT}: not kept")
    if template := x.rich(q.find("responsetemplate")):
        out["response_template"] = template
    if info := x.rich(q.find("graderinfo")):
        out["grader_info"] = info
    return out


def _whole(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = number(raw)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


def matching(x: XmlQuestion) -> dict[str, Any]:
    pairs: list[dict[str, str]] = []
    distractors: list[str] = []
    for sub in x.q.findall("subquestion"):
        text = x.rich(sub)
        answer = " ".join(child_text(sub, "answer").split())
        if not text and not answer:
            continue  # Moodle leaves out empty rows
        if not text:
            distractors.append(answer)
        elif not answer:
            raise Skip(f"the item {text!r} has no answer")
        else:
            pairs.append({"id": choice_id(len(pairs)), "text": text, "answer": answer})
    answers = {p["answer"] for p in pairs}
    kept = list(dict.fromkeys(d for d in distractors if d not in answers))
    if len(kept) < len(distractors):
        x.notes.append("repeated extra answers are listed once")
    out: dict[str, Any] = {"kind": "matching", "pairs": pairs}
    if kept:
        out["distractors"] = kept
    return out


_GRADING: dict[str, str] = {
    "ALL_OR_NOTHING": "all_or_nothing",
    "ABS": "absolute_position",
    "ABSOLUTE": "absolute_position",
    "ABSOLUTE_POSITION": "absolute_position",
    "REL": "relative_next",
    "RELATIVE": "relative_next",
    "RELATIVE_NEXT_EXCLUDE_LAST": "relative_next",
    "LONGEST_ORDERED_SUBSET": "longest_subset",
    "LONGEST_CONTIGUOUS_SUBSET": "longest_contiguous",
}
_PARTIAL_SELECT = ("RANDOM", "REL", "CONTIGUOUS", "CONTIG")


def ordering(x: XmlQuestion) -> dict[str, Any]:
    """Items in file order (Moodle's own import ignores the answers' ``fraction``);
    ids are letters by the items' alphabetical order, so that they say nothing
    about the right order."""
    q = x.q
    texts = [t for t in (x.rich(a) for a in q.findall("answer")) if t]
    items = [{"id": i, "text": t} for i, t in zip(item_ids(texts), texts, strict=True)]
    raw = child_text(q, "gradingtype").strip()
    grading = raw.upper() or "RELATIVE"
    rule = _GRADING.get(grading)
    if rule is None:
        rule = "relative_next"
        x.notes.append(
            f"the grading type {raw!r} has no quizsession equivalent: graded by "
            "'relative_next' (each item followed by its right successor), Moodle's default"
        )
    select = (child_text(q, "selecttype") or child_text(q, "logical")).strip().upper() or "RANDOM"
    count = _whole(child_text(q, "selectcount") or child_text(q, "studentsee") or "6")
    if select in _PARTIAL_SELECT and count is not None and 0 < count < len(items):
        x.notes.append(f"Moodle showed {count} of the {len(items)} items; every item is shown here")
    out: dict[str, Any] = {"kind": "ordering", "items": items}
    if rule != "absolute_position":
        out["ordering_rule"] = rule
    return out


def cloze(x: XmlQuestion) -> dict[str, Any]:
    """Embedded answers: the points are the sum of the gaps' weights (Moodle's own
    import ignores ``defaultgrade`` for this type)."""
    node = x.q.find("questiontext")
    raw, fmt = x.raw(node)
    media = x.media.reading(x.embedded(node) if node is not None else {}, keep=True)
    return cloze_fields(raw, fmt, media, x.notes)
