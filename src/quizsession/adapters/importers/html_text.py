"""HTML to plain text, for the texts of imported questions (quizsession shows plain
text). Linear in the input. Images are offered to a ``MediaSink`` (which keeps
them as question images) or become their description; links and embedded media
are reported to it; ``<pre>`` keeps its white space."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Literal, Protocol

MAX_RAW_TEXT = 1_000_000
"""The longest single text (question, answer, feedback) read before conversion."""

TextFormat = Literal["html", "moodle", "plain", "markdown"]

_TAG_END = re.compile(r"""(?:[^>"']++|"[^"]*+"|'[^']*+')*+>""")
_TAG_NAME = re.compile(r"/?([A-Za-z][A-Za-z0-9]*)")
_ATTRS = {
    name: re.compile(
        rf"""(?<![\w-]){name}\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE
    )
    for name in ("alt", "src", "href", "data")
}
# Elements whose file is lost: (tag, the attribute naming the file).
_MEDIA = {"embed": "src", "object": "data", "video": "src", "audio": "src", "source": "src",
          "iframe": "src", "track": "src"}  # fmt: skip
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
# White space inside <pre>: kept through the collapsing (restored at the end).
_PRE_SPACE = {" ": "\x01", "\t": "\x02", "\u00a0": "\x03"}
_PRE_RESTORE = str.maketrans({v: k for k, v in _PRE_SPACE.items()})
_PRE_KEEP = str.maketrans(_PRE_SPACE)
_CONTROL = re.compile("[\x00-\x03]")


class MediaSink(Protocol):
    """Decides what happens to the images, links and media of one text."""

    def image(self, src: str, alt: str) -> bool:
        """True when the image is kept (as a question image): it leaves the text.
        False: the text shows ``[image: alt]``."""
        ...

    def link(self, href: str) -> None:
        """A link (``<a href>``): its text is kept, its target is not."""
        ...

    def media(self, tag: str, src: str) -> None:
        """Embedded media (``<embed>``, ``<video>``...): dropped."""
        ...


def _attr(tag: str, name: str) -> str | None:
    m = _ATTRS[name].search(tag)
    if m is None:
        return None
    return html.unescape(next((g for g in m.groups() if g is not None), ""))


@dataclass
class Text:
    text: str
    images: int = 0


def html_to_text(source: str, *, line_breaks: bool = False, media: MediaSink | None = None) -> Text:
    """Plain text from HTML: tags dropped, entities decoded, white space collapsed
    (kept inside ``<pre>``), paragraphs and line breaks kept as blank lines and new
    lines, list items as ``- item``, images as ``[image: alt]`` unless ``media``
    keeps them. ``line_breaks`` treats new lines in the source as ``<br>`` (Moodle's
    auto-format). Linear in the input: an unterminated tag or comment ends the
    text, as in a browser."""
    source = _CONTROL.sub("", source)
    if line_breaks:
        source = source.replace("\r\n", "\n").replace("\n", "<br>")
    out: list[str] = []
    images = 0
    pre = 0
    i, n = 0, len(source)

    def data(chunk: str) -> None:
        if not chunk:
            return
        text = html.unescape(chunk)
        if pre:
            text = text.replace("\r\n", "\n").translate(_PRE_KEEP).replace("\n", _BR)
            out.append(text)
        else:
            out.append(_SPACE.sub(" ", text))

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
        if name == "pre":
            pre = max(0, pre - 1) if closing else pre + 1
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
            alt = _SPACE.sub(" ", _attr(tag, "alt") or "").strip()
            if media is not None and media.image((_attr(tag, "src") or "").strip(), alt):
                out.append(" ")
                continue
            images += 1
            out.append(f" [image: {alt}] " if alt else " [image] ")
        elif name == "a" and media is not None and (href := _attr(tag, "href")):
            media.link(href.strip())
        elif name in _MEDIA and media is not None and (src := _attr(tag, _MEDIA[name])):
            media.media(name, src.strip())
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
    return "\n".join(lines).translate(_PRE_RESTORE)


def plain_text(source: str, fmt: TextFormat, media: MediaSink | None = None) -> Text:
    """The plain text of a Moodle text in ``fmt``: HTML and Moodle auto-format lose
    their tags; plain text and Markdown are kept as written (trimmed)."""
    if len(source) > MAX_RAW_TEXT:
        source = source[:MAX_RAW_TEXT]  # the length check on the result reports it
    if fmt == "html":
        return html_to_text(source, media=media)
    if fmt == "moodle":
        return html_to_text(source, line_breaks=True, media=media)
    return Text(source.strip())
