"""The images and other files of one imported question.

A question keeps the images of its text as question ``images`` (``{url, alt}``):
an ``https://`` address as it is, a file embedded in the export (Moodle XML
``<file encoding="base64">`` referenced as ``@@PLUGINFILE@@/name``, or Moodle
1.9's ``<image>``/``<image_base64>``) as a ``data:`` URL, when it is a PNG, JPEG,
GIF or WebP image of at most ``MAX_IMAGE_BYTES`` (the quiz format's own limits,
``domain/quiz_images.py``). Every image, link or file that is not kept gets a note
naming it (the text keeps ``[image: alt]`` or the link's text).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from quizsession.domain.quiz_images import (
    MAX_ALT,
    MAX_IMAGE_BYTES,
    MAX_IMAGES,
    image_url_problem,
)

PLUGINFILE = "@@PLUGINFILE@@/"
_HTTPS = re.compile(r"https://[^\s\"'<>\\]+", re.IGNORECASE)
_DATA_URL = re.compile(r"data:(image/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/=\s]+)", re.I)
_SPACE = re.compile(r"\s+")


def sniff_image(data: bytes) -> str | None:
    """The MIME type of a PNG, JPEG, GIF or WebP image, by its first bytes."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def data_url(b64: str) -> tuple[str | None, str]:
    """A ``data:`` URL of the base64 image ``b64``, or (None, why not)."""
    compact = _SPACE.sub("", b64)
    size = len(compact) * 3 // 4 - compact[-2:].count("=")
    if size > MAX_IMAGE_BYTES:  # checked before decoding
        return None, (
            f"it is too large ({size // 1024} KiB; images up to {MAX_IMAGE_BYTES // 1024} KiB "
            "are kept)"
        )
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None, "its embedded data is not valid base64"
    mime = sniff_image(raw)
    if mime is None:
        return None, "it is not a PNG, JPEG, GIF or WebP image"
    url = f"data:{mime};base64,{compact}"
    problem = image_url_problem(url)
    return (url, "") if problem is None else (None, f"its data URL {problem}")


@dataclass
class Media:
    """Collects one question's images and the notes about what is lost.

    ``files`` are the embedded files of the text being read (name -> base64);
    ``keep`` says whether that text can hold images (the question text can;
    answers and feedback cannot: their images stay ``[image: alt]``)."""

    images: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    keep: bool = True
    lost: int = 0
    """Images of texts that cannot hold them (answers, feedback)."""
    used: set[str] = field(default_factory=set)

    def reading(self, files: dict[str, str], *, keep: bool) -> Media:
        self.files, self.keep = files, keep
        return self

    def _note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)

    def image(self, src: str, alt: str) -> bool:
        name = _name(src)
        if name is not None:
            self.used.add(name)
        if not self.keep:
            self.lost += 1
            return False
        url, why = self._url(src, name)
        if url is None:
            shown = name if name is not None else _short(src)
            self._note(f"image {shown!r} is not imported: {why} (the text keeps its description)")
            return False
        if len(self.images) >= MAX_IMAGES:
            self._note(
                f"image {(name or _short(src))!r} is not imported: a question shows at most "
                f"{MAX_IMAGES} images (the text keeps its description)"
            )
            return False
        self.images.append({"url": url, "alt": alt[:MAX_ALT]})
        return True

    def _url(self, src: str, name: str | None) -> tuple[str | None, str]:
        if name is not None:
            b64 = self.files.get(name)
            if b64 is None:
                return None, "its file is not in the export"
            return data_url(b64)
        if _HTTPS.fullmatch(src):
            problem = image_url_problem(src)
            return (src, "") if problem is None else (None, f"its address {problem}")
        if m := _DATA_URL.fullmatch(src):
            return data_url(m.group(2))
        if src.lower().startswith("http://"):
            return None, "only https:// addresses are kept"
        return None, "it is neither embedded in the export nor at an https:// address"

    def link(self, href: str) -> None:
        name = _name(href)
        if name is not None:
            self.used.add(name)
            self._note(f"the linked file {name!r} is not imported (the link's text is kept)")
        elif not href.startswith(("#", "mailto:")):
            self._note(f"the link to {_short(href)!r} is not kept (the link's text is)")

    def media(self, tag: str, src: str) -> None:
        name = _name(src)
        if name is not None:
            self.used.add(name)
        self._note(f"the embedded {tag} {(name or _short(src))!r} is not imported")

    def legacy(self, name: str, b64: str) -> None:
        """Moodle 1.9's ``<image>`` (a file name or an address) and
        ``<image_base64>`` (its data): a question image when it can be kept."""
        name = name.strip()
        shown = name or "(unnamed)"
        if b64.strip():
            url, why = data_url(b64)
        elif _HTTPS.fullmatch(name):
            url, why = name, ""
        elif name.lower().startswith("http://"):
            url, why = None, "only https:// addresses are kept"
        else:
            url, why = None, "its data is not in the export"
        if url is None:
            self._note(f"the image {shown!r} (Moodle 1.9 <image>) is not imported: {why}")
        elif len(self.images) >= MAX_IMAGES:
            self._note(f"the image {shown!r} is not imported: at most {MAX_IMAGES} images")
        else:
            self.images.append({"url": url, "alt": ""})
            self._note(
                f"the image {shown!r} (Moodle 1.9 <image>) has no description: add its "
                "'alt' text, or leave it empty if the image is decorative"
            )

    def unused(self, names: list[str]) -> None:
        """Embedded files that no text refers to."""
        for name in names:
            if name not in self.used:
                self.used.add(name)
                self._note(f"the embedded file {name!r} is not imported (no text shows it)")


def _name(url: str) -> str | None:
    if not url.startswith(PLUGINFILE):
        return None
    return unquote(url[len(PLUGINFILE) :].split("?", 1)[0]).rsplit("/", 1)[-1]


def _short(url: str, length: int = 80) -> str:
    return url if len(url) <= length else url[: length - 1] + "…"
