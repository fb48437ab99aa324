"""Which Moodle question type each quizsession question kind corresponds to, in
both directions (import and export), and which kinds have a GIFT form."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

MOODLE_KINDS: Mapping[str, str] = MappingProxyType(
    {
        "single": "multichoice",
        "multiple": "multichoice",
        "true_false": "truefalse",
        "short_text": "shortanswer",
        "numeric": "numerical",
        "essay": "essay",
        "matching": "matching",
        "ordering": "ordering",
        "cloze": "multianswer",
        "description": "description",
    }
)
"""quizsession kind -> Moodle question type (``qtype``). Moodle XML writes the
``multianswer`` type as ``type="cloze"`` (``XML_TYPE_NAMES``); ``ordering`` is the
qtype_ordering plugin (part of Moodle since 4.4)."""

XML_TYPE_NAMES: Mapping[str, str] = MappingProxyType({"multianswer": "cloze"})
"""Moodle qtype -> the ``type`` attribute its XML export writes, where they differ."""

XML_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "multichoice": "multichoice",
        "truefalse": "truefalse",
        "shortanswer": "shortanswer",
        "numerical": "numerical",
        "essay": "essay",
        "matching": "matching",
        "ordering": "ordering",
        "cloze": "multianswer",
        "multianswer": "multianswer",
        "description": "description",
    }
)
"""Moodle XML ``type`` attribute -> the Moodle qtype the importer reads it as."""

GIFT_KINDS: frozenset[str] = frozenset(
    (
        "single",
        "multiple",
        "true_false",
        "short_text",
        "numeric",
        "essay",
        "matching",
        "description",
    )
)
"""The kinds GIFT can express (no embedded answers, no ordering)."""


def xml_type(kind: str) -> str:
    """The Moodle XML ``type`` attribute for a quizsession ``kind``."""
    qtype = MOODLE_KINDS[kind]
    return XML_TYPE_NAMES.get(qtype, qtype)
