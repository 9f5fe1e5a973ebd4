"""System-prompt and policy-text leakage: long runs of words copied from a protected text into a reply.

Quoting one short rule to a customer is normal ("orders can be cancelled while pending"); pasting the
prompt or a paragraph of the policy is not. A run of `min_words` consecutive words (case and punctuation
ignored) shared with any protected text counts as leakage. Protected texts are indexed once and cached.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
SHINGLE = 6


@dataclass(frozen=True)
class Leak:
    start: int
    end: int
    words: int


def _tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(text.lower())]


@lru_cache(maxsize=64)
def _shingles(protected: tuple[str, ...]) -> frozenset[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for text in protected:
        words = [w for w, _, _ in _tokens(text)]
        out.update(tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1))
    return frozenset(out)


def find_leaks(reply: str, protected: Sequence[str], *, min_words: int) -> list[Leak]:
    """Character spans of `reply` that repeat at least `min_words` consecutive words of a protected text."""
    if not protected:
        return []
    shingles = _shingles(tuple(protected))
    tokens = _tokens(reply)
    hits = [
        tuple(w for w, _, _ in tokens[i : i + SHINGLE]) in shingles for i in range(len(tokens) - SHINGLE + 1)
    ]
    leaks: list[Leak] = []
    i = 0
    while i < len(hits):
        if not hits[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(hits) and hits[j + 1]:
            j += 1
        words = j - i + SHINGLE
        if words >= min_words:
            leaks.append(Leak(tokens[i][1], tokens[j + SHINGLE - 1][2], words))
        i = j + 1
    return leaks


def remove(reply: str, leaks: list[Leak], marker: str = "[internal text removed]") -> str:
    out, last = [], 0
    for leak in leaks:
        out.append(reply[last : leak.start])
        out.append(marker)
        last = leak.end
    out.append(reply[last:])
    return "".join(out)
