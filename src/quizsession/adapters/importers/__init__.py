"""Importers: quiz definitions from other systems' formats (Moodle GIFT and Moodle
XML) into quizsession's own format. Adapters: they read files; the result is a
plain definition mapping that ``parse_quiz`` checks like any other."""

from __future__ import annotations

from pathlib import PurePath

from quizsession.adapters.importers.common import (
    DEFAULT_DURATION_S,
    MAX_IMPORT_QUESTIONS,
    MAX_INPUT_BYTES,
    Format,
    ImportProblem,
    ImportRefused,
    ImportResult,
    check_size,
    refuse,
    slugify,
)
from quizsession.adapters.importers.gift import parse_gift
from quizsession.adapters.importers.moodle_xml import parse_moodle_xml

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


def detect_format(filename: str, data: bytes) -> Format:
    """``xml`` for ``.xml`` files, ``gift`` for ``.gift``/``.txt``; otherwise by
    content (an XML declaration or a ``<quiz>`` root means XML)."""
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".xml":
        return "xml"
    if suffix in (".gift", ".txt"):
        return "gift"
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return "xml" if head.startswith((b"<?xml", b"<quiz")) else "gift"


def import_quiz(
    data: bytes,
    *,
    fmt: Format,
    quiz_id: str,
    title: str,
    duration_s: float = DEFAULT_DURATION_S,
) -> ImportResult:
    """Read ``data`` in ``fmt``. GIFT files must be UTF-8 (a BOM is allowed)."""
    check_size(len(data))
    if fmt == "xml":
        return parse_moodle_xml(data, quiz_id=quiz_id, title=title, duration_s=duration_s)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refuse(
            f"a GIFT file must be UTF-8 text (byte {exc.start} is not valid UTF-8)"
        ) from exc
    return parse_gift(text, quiz_id=quiz_id, title=title, duration_s=duration_s)
