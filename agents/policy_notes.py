"""Answers to general policy questions from the shop's policy document, until the knowledge base
(Chroma, with citations) takes over: the section whose words overlap the question most."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

_WORD = re.compile(r"[a-z]+")
_STOP = {
    "the",
    "a",
    "an",
    "to",
    "of",
    "and",
    "or",
    "is",
    "are",
    "can",
    "i",
    "my",
    "you",
    "your",
    "it",
    "do",
    "be",
    "in",
    "on",
    "for",
    "if",
    "what",
    "how",
    "with",
    "will",
    "should",
    "order",
    "orders",
    "user",
    "agent",
}


@lru_cache(maxsize=1)
def _sections() -> list[tuple[str, str]]:
    text = resources.files("kefu.demo").joinpath("policy.md").read_text(encoding="utf-8")
    out: list[tuple[str, str]] = []
    title, body = "Policy", list[str]()
    for line in text.splitlines():
        if line.startswith("#"):
            if body:
                out.append((title, "\n".join(body).strip()))
            title, body = line.lstrip("# ").strip(), []
        elif line.strip():
            body.append(line.strip())
    if body:
        out.append((title, "\n".join(body).strip()))
    return out


def content_words(text: str) -> set[str]:
    """The words of `text` that carry its meaning: lower case, plural "s" dropped, the commonest
    words (and "order", which every question here has) left out."""
    return {w.rstrip("s") for w in _WORD.findall(text.lower()) if w not in _STOP}


def best_section(question: str) -> tuple[str, str] | None:
    """(title, text) of the best-matching policy section, or None when nothing overlaps."""
    q = content_words(question)
    scored = [
        (
            len(q & (content_words(title) | content_words(body))) + 2 * len(q & content_words(title)),
            title,
            body,
        )
        for title, body in _sections()
    ]
    score, title, body = max(scored)
    return (title, body) if score > 0 else None
