"""Reading a question's ``images`` (the quiz format): at most ``MAX_IMAGES``
mappings ``{url, alt}``. ``url`` is an ``https://`` URL or a base64 ``data:``
URL of a PNG, JPEG, GIF or WebP image of at most ``MAX_IMAGE_BYTES``; ``alt`` is
the text alternative ("" only for a decorative image)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from quizsession.domain.quiz import Image, Question
from quizsession.domain.quiz_fields import ABSENT, Fields, is_list, mapping, ptr

MAX_IMAGES = 20
MAX_IMAGE_BYTES = 512 * 1024
MAX_IMAGE_URL = 2048  # an https:// URL
MAX_QUIZ_IMAGE_DATA = 8 * 1024 * 1024
"""The most characters of ``data:`` URLs one quiz holds, all its questions
together: a quiz document stays bounded whatever made it (an import may refer
to one embedded file many times; larger image sets belong at https:// URLs)."""
MAX_ALT = 1000
_IMAGE_KEYS = ("url", "alt")
_HTTPS = re.compile(r"https://[^\s/?#]+[^\s]*")
_DATA = re.compile(r"data:image/(png|jpeg|gif|webp);base64,([A-Za-z0-9+/]*={0,2})")


def image_url_problem(url: str) -> str | None:
    """None when ``url`` is an acceptable image URL, else why not."""
    if url.startswith("data:"):
        match = _DATA.fullmatch(url)
        if match is None or len(match.group(2)) % 4:
            return "must be a base64 data:image/(png|jpeg|gif|webp) URL"
        encoded = match.group(2)
        size = len(encoded) * 3 // 4 - encoded.count("=")
        if size > MAX_IMAGE_BYTES:
            return f"must be an image of at most {MAX_IMAGE_BYTES // 1024} KiB"
        return None
    if len(url) > MAX_IMAGE_URL:
        return f"must be at most {MAX_IMAGE_URL} characters"
    if _HTTPS.fullmatch(url) is None:
        return "must be an https:// URL or a data:image/... URL"
    return None


def parse_images(f: Fields, path: str) -> tuple[Image, ...]:
    """Read the ``images`` of the mapping ``f`` reads (problems go to ``f``)."""
    raw = f.get("images")
    if raw is ABSENT:
        return ()
    if not is_list(raw):
        f.add("images", "must be a list of {url, alt} mappings")
        return ()
    if len(raw) > MAX_IMAGES:
        f.add("images", f"must have at most {MAX_IMAGES} images")
    base = ptr(path, "images")
    images: list[Image] = []
    for i, item in enumerate(raw):
        data = mapping(f.problems, item, ptr(base, i))
        if data is None:
            continue
        g = Fields(f.problems, data, ptr(base, i), _IMAGE_KEYS)
        url = g.get("url", required=True)
        if url is ABSENT:
            url = None
        elif not isinstance(url, str):
            g.add("url", "must be a string")
            url = None
        elif (problem := image_url_problem(url)) is not None:
            g.add("url", problem)
            url = None
        alt = g.text("alt", MAX_ALT)
        if url is not None and alt is not None:
            images.append(Image(url=url, alt=alt))
    return tuple(images)


def image_data_problem(questions: Iterable[Question]) -> str | None:
    """None when the ``data:`` images of ``questions`` (a whole quiz) are within
    ``MAX_QUIZ_IMAGE_DATA`` characters together, else why not."""
    total = sum(len(i.url) for q in questions for i in q.images if i.url.startswith("data:"))
    if total <= MAX_QUIZ_IMAGE_DATA:
        return None
    return (
        f"the quiz's data: images take {total // 1024} KiB together; at most "
        f"{MAX_QUIZ_IMAGE_DATA // 1024} KiB (put larger image sets at https:// addresses)"
    )
