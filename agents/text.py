"""Untrusted text: markup removal before tagging, and escaping before display."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

_TAG_HINT = re.compile(r"<\s*/?\s*[a-zA-Z][^>]{0,200}>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]{2,8});")
_BLOCK = {
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
    "blockquote",
    "section",
}
_SKIP = {"script", "style", "template", "noscript", "iframe", "object"}
# Characters a terminal may act on: C0 controls but tab and line breaks, DEL, C1 controls
# (U+0080-U+009F: U+009B is a one-character CSI), and the bidi embeddings, overrides,
# isolates and marks that reorder what is displayed (U+061C, U+200E-U+200F,
# U+202A-U+202E, U+2066-U+2069).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What escape_controls rewrites: the above, carriage return (it rewinds the line) and lone surrogates.
_ESCAPED = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# What json.dumps(ensure_ascii=False) leaves raw that escape_controls would rewrite (it escapes C0 itself).
_JSON_RAW = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP and self._skipping:
            self._skipping -= 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def looks_like_markup(text: str) -> bool:
    if "<" not in text and "&" not in text:  # every tag or entity has one: a C-level scan instead of the regex
        return False
    return bool(_TAG_HINT.search(text))


def strip_markup(text: str) -> str:
    """Plain text of an HTML fragment: tags dropped, scripts and styles removed, entities decoded.

    Text without markup is returned unchanged, so evidence offsets stay true to it.
    Nothing is ever interpreted: no entity is expanded beyond HTML's own, nothing is fetched.
    """
    if not looks_like_markup(text):
        return text
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return re.sub(r"\n{3,}", "\n\n", "".join(parser.parts)).strip()


def for_terminal(text: str, limit: int = 200) -> str:
    """One line, no control or bidi-override characters, at most ``limit`` characters."""
    # Lone surrogates (a JSON "\ud800" escape from any producer) cannot be written to a UTF-8 stream.
    text = text.encode("utf-8", "replace").decode("utf-8")
    flat = " ".join(_CONTROL.sub("", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def has_control(text: str) -> bool:
    """True when ``text`` holds a character :func:`for_terminal` would drop (tab and line breaks aside)."""
    return bool(_CONTROL.search(text))


def _u_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def escape_controls(text: str) -> str:
    """``text`` with every control, bidi or lone-surrogate character written as a visible ``\\uXXXX``.

    Tabs and line feeds stay, so a multi-line message keeps its lines; nothing is dropped,
    so an error message still shows what was wrong.
    """
    return _ESCAPED.sub(_u_escape, text)


def json_for_terminal(value: object, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """``json.dumps(value, ensure_ascii=False)`` that a terminal cannot act on.

    JSON escapes C0 controls itself; DEL, C1 controls, bidi characters and lone surrogates
    are written as ``\\uXXXX`` escapes too, so the text is still JSON and decodes to ``value``.
    """
    text = json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=sort_keys)
    return _JSON_RAW.sub(_u_escape, text)


def for_html(text: str) -> str:
    return html.escape(text, quote=True)
