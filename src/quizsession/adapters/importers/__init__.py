"""Importers: quiz definitions from other systems' formats (Moodle GIFT and Moodle
XML) into quizsession's own format. Adapters of the ``QuizImporter`` port
(``app/quiz_import.py``): they read files; the result is a plain definition mapping
that ``parse_quiz`` checks like any other.

- ``gift.py``, ``moodle_xml.py``: the two readers; ``xml_kinds.py``: the Moodle XML
  types with several parts (essay, matching, ordering, cloze, description);
- ``cloze.py``: Moodle's embedded answers (``{1:MULTICHOICE:...}``) as gaps;
- ``answers.py``: Moodle's weighted answers mapped onto quizsession's question kinds,
  and Moodle's own answer grades;
- ``html_text.py``: HTML to plain text; ``media.py``: images kept as question
  images, notes for the files that are not;
- ``kinds.py``: quizsession kind <-> Moodle question type (``MOODLE_KINDS``);
- ``collect.py``: ids, per-question checks and whole-file refusals.
"""

from __future__ import annotations

from pathlib import PurePath

from quizsession.adapters.importers.collect import check_size, refuse
from quizsession.adapters.importers.gift import parse_gift
from quizsession.adapters.importers.moodle_xml import parse_moodle_xml
from quizsession.app.quiz_import import DEFAULT_DURATION_S, Format, ImportResult

__all__ = [
    "MoodleImporter",
    "detect_format",
    "import_quiz",
    "parse_gift",
    "parse_moodle_xml",
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


class MoodleImporter:
    """The ``QuizImporter`` port for Moodle GIFT and Moodle XML files. Holds no
    resources."""

    def detect_format(self, filename: str, data: bytes) -> Format:
        return detect_format(filename, data)

    def import_quiz(
        self,
        data: bytes,
        *,
        fmt: Format,
        quiz_id: str,
        title: str,
        duration_s: float = DEFAULT_DURATION_S,
    ) -> ImportResult:
        return import_quiz(data, fmt=fmt, quiz_id=quiz_id, title=title, duration_s=duration_s)
