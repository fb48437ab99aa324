"""Quiz importers (Moodle GIFT and Moodle XML), for the entrypoints.

Like ``settings``, this module sits outside the layers: it re-exports the
importer adapters so that the CLI and the HTTP API reach them without importing
``quizsession.adapters`` themselves. The importers hold no resources, so they do
not need the composition root."""

from __future__ import annotations

from quizsession.adapters.importers import (
    DEFAULT_DURATION_S,
    MAX_IMPORT_QUESTIONS,
    MAX_INPUT_BYTES,
    Format,
    ImportProblem,
    ImportRefused,
    ImportResult,
    detect_format,
    import_quiz,
    parse_gift,
    parse_moodle_xml,
    slugify,
)

__all__ = [
    "DEFAULT_DURATION_S",
    "MAX_IMPORT_QUESTIONS",
    "MAX_INPUT_BYTES",
    "Format",
    "ImportProblem",
    "ImportRefused",
    "ImportResult",
    "detect_format",
    "import_quiz",
    "parse_gift",
    "parse_moodle_xml",
    "slugify",
]
