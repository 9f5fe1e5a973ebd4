"""Cut tool output and document text into the pieces the injection check reads, and put it back together.

Tools return JSON (order details, product records) or plain text (knowledge passages, emails). JSON is
walked value by value, so keys, ids and amounts are never touched; every string is cut into sentences
and lines. Only pieces that read like prose (three words or more) are scored; the rest is passed through.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9#*\-•])|\n+|\s*\|\s*|(?<=[:;])\s+(?=[A-Z])")
_WORDS = re.compile(r"[A-Za-z]{2,}")


@dataclass(frozen=True)
class Segment:
    start: int
    end: int
    text: str


def sentences(text: str) -> list[Segment]:
    """Sentences and lines of `text` with their character offsets (blank pieces dropped)."""
    out: list[Segment] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        _add(out, text, start, m.start())
        start = m.end()
    _add(out, text, start, len(text))
    return out


def _add(out: list[Segment], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        offset = start + piece.index(stripped)
        out.append(Segment(offset, offset + len(stripped), stripped))


def is_prose(segment: str) -> bool:
    """Worth scoring: at least three words of letters, not one identifier ("cancel_pending_order", a tool
    name echoed in a result, read 0.71 as an injection and was cut out of a confirmation)."""
    if _IDENTIFIER.fullmatch(segment.strip()):
        return False
    return len(_WORDS.findall(segment)) >= 3


_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[_.:/-][A-Za-z0-9]+)+")


_PARAGRAPH = re.compile(r"\n\s*\n")


def request_parts(text: str) -> list[str]:
    """The first and last paragraph of a message made of several, each to be scored on its own.

    A long message that pastes context (a document, a dialogue, a web page) and then asks for something
    is judged by the whole text, where the context dominates the vector; the request is usually one
    paragraph at the start or the end, so those are read separately too. Paragraphs are blank-line
    separated, else lines; a one-paragraph message has no parts (it costs nothing extra).
    """
    pieces = [p.strip() for p in _PARAGRAPH.split(text) if p.strip()]
    if len(pieces) < 2:
        pieces = [p.strip() for p in text.split("\n") if p.strip()]
    if len(pieces) < 2:
        return []
    ends = [p for p in (pieces[0], pieces[-1]) if is_prose(p)]
    return [p for p in dict.fromkeys(ends) if p != text.strip()]


def rewrite(text: str, replace: Callable[[str], str]) -> str:
    """Apply `replace` to each prose string in `text`: inside JSON values when `text` is JSON, else to it all."""
    stripped = text.strip()
    if stripped[:1] in "{[":
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict | list):
            new = _walk(data, replace)
            if new == data:
                return text
            indent = 2 if "\n" in stripped else None
            return json.dumps(new, ensure_ascii=False, indent=indent)
    return replace(text)


def strings(text: str) -> list[str]:
    """The prose-bearing strings of `text`: its JSON string values, or the text itself."""
    found: list[str] = []

    def collect(value: str) -> str:
        found.append(value)
        return value

    rewrite(text, collect)
    return found


def values_under(text: str, keys: tuple[str, ...]) -> list[str]:
    """The string values found (at any depth) under the JSON keys `keys` of `text`; none if it is not JSON."""
    stripped = text.strip()
    if not keys or stripped[:1] not in "{[":
        return []
    try:
        data = json.loads(stripped)
    except ValueError:
        return []
    found: list[str] = []

    def collect(node: Any, inside: bool) -> None:
        if isinstance(node, str):
            if inside:
                found.append(node)
        elif isinstance(node, list):
            for v in node:
                collect(v, inside)
        elif isinstance(node, dict):
            for k, v in node.items():
                collect(v, inside or k in keys)

    collect(data, False)
    return found


def _walk(node: Any, replace: Callable[[str], str]) -> Any:
    if isinstance(node, str):
        return replace(node) if is_prose(node) else node
    if isinstance(node, list):
        return [_walk(v, replace) for v in node]
    if isinstance(node, dict):
        return {k: _walk(v, replace) for k, v in node.items()}
    return node
