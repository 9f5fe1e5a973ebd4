"""Undo the tricks that hide an attack from a classifier: invisible characters, look-alike letters,
base64 payloads, leetspeak and spaced-out letters.

`analyse(text)` returns the cleaned text (what the assistant should read: NFKC, invisible characters
removed, look-alike letters folded inside Latin words) and the extra readings of it (leetspeak undone,
decoded payloads, joined letters) that the other input checks score as well. A message is judged by
its most dangerous reading, so wrapping an attack in base64 does not get it past the checks, while a
harmless message that happens to contain a tracking code is not refused for it.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass, field

_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u3164\ufeff\uffa0]"
)
_TAGS = re.compile("[\U000e0000-\U000e007f]")  # Unicode tag characters: invisible ASCII look-alikes

# Cyrillic, Greek and other letters that render like Latin ones (the common part of Unicode's confusables).
_HOMOGLYPHS = str.maketrans(
    {
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "һ": "h",
        "ӏ": "l",
        "ɡ": "g",
        "А": "A",
        "В": "B",
        "Е": "E",
        "К": "K",
        "М": "M",
        "Н": "H",
        "О": "O",
        "Р": "P",
        "С": "C",
        "Т": "T",
        "Х": "X",
        "Ѕ": "S",
        "І": "I",
        "Ј": "J",
        "Ү": "Y",
        "α": "a",
        "β": "b",
        "ε": "e",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "Α": "A",
        "Β": "B",
        "Ε": "E",
        "Ζ": "Z",
        "Η": "H",
        "Ι": "I",
        "Κ": "K",
        "Μ": "M",
        "Ν": "N",
        "Ο": "O",
        "Ρ": "P",
        "Τ": "T",
        "Υ": "Y",
        "Χ": "X",
        "ı": "i",
        "ℓ": "l",
    }
)
_NON_LATIN_LOOKALIKE = re.compile("[" + "".join(re.escape(c) for c in map(chr, _HOMOGLYPHS)) + "]")
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"\S+")

_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "l",
        "+": "t",
        "(": "c",
    }
)
_LEET_CHARS = set("013457 8@$!|+(".replace(" ", ""))
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")
_URLSAFE_B64 = re.compile(r"(?<![A-Za-z0-9_\-=])[A-Za-z0-9_\-]{20,}={0,2}(?![A-Za-z0-9_\-=])")
_SPACED = re.compile(r"\b(?:[A-Za-z][ .\-_*]){3,}[A-Za-z]\b")


@dataclass(frozen=True)
class Analysis:
    """What `analyse` found in one text."""

    text: str
    """The text to read on: NFKC, invisible characters removed, look-alike letters folded in Latin words."""
    variants: tuple[str, ...] = ()
    """Other readings the checks also score (leetspeak undone, payloads decoded, spaced letters joined)."""
    findings: tuple[str, ...] = field(default_factory=tuple)
    """Which tricks were present: 'invisible', 'homoglyphs', 'base64', 'leetspeak', 'spaced_letters'."""

    @property
    def readings(self) -> tuple[str, ...]:
        return (self.text, *self.variants)


def _fold_word(word: str) -> str:
    # Only words that mix Latin letters with look-alikes are folded: real Greek or Cyrillic text stays.
    if _NON_LATIN_LOOKALIKE.search(word) and _LATIN.search(word):
        return word.translate(_HOMOGLYPHS)
    return word


def _fold_homoglyphs(text: str) -> tuple[str, bool]:
    folded = _WORD.sub(lambda m: _fold_word(m.group(0)), text)
    return folded, folded != text


# Sizes and model codes from product options read as letters once their digits are undone ("30ml" → "soml",
# "IPX4" → "IPXa", "1TB" → "iTB"): a quantity with its unit, or a capitalised code ending in digits, is
# not leetspeak. (The code must be in capitals: "hat3" is still "hate".)
_QUANTITY = re.compile(
    r"\d+(\.\d+)?(gb|tb|mb|kb|ml|l|oz|lb|lbs|kg|g|mm|cm|m|ft|in|inch|mp|k|p|w|v|mah|hz|ghz|x|pc|pcs|"
    r"piece|cups?|bar|st|nd|rd|th|s)",
    re.I,
)
_MODEL_CODE = re.compile(r"[A-Z]{2,5}\d{1,4}")


def _deleet_word(word: str) -> str:
    core = word.rstrip("!.?,;:")
    if _QUANTITY.fullmatch(core) or _MODEL_CODE.fullmatch(core):
        return word
    letters = sum(c.isalpha() for c in word)
    leet = sum(c in _LEET_CHARS for c in word)
    if letters >= 1 and leet >= 1 and len(word) >= 3 and leet <= max(1, int(len(word) * 0.6)):
        core = word.rstrip("!.?,;:")
        return core.translate(_LEET) + word[len(core) :]
    return word


def _decode_payloads(text: str) -> list[str]:
    out: list[str] = []
    candidates = [m.group(0) for m in _BASE64.finditer(text)] + [
        m.group(0) for m in _URLSAFE_B64.finditer(text)
    ]
    for token in candidates[:8]:
        if token.isdigit() or token.isalpha() and (token.islower() or token.isupper()):
            continue  # plain words and numbers decode to noise
        padded = token + "=" * (-len(token) % 4)
        try:
            raw = base64.b64decode(
                padded, altchars=b"-_" if "-" in token or "_" in token else None, validate=True
            )
            decoded = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        printable = sum(c.isprintable() or c.isspace() for c in decoded)
        if len(decoded) >= 6 and printable / len(decoded) > 0.95 and re.search(r"[A-Za-z]{3,}", decoded):
            out.append(decoded)
    return out


def analyse(raw: str) -> Analysis:
    """Clean `raw` and list its hidden readings (see the module docstring)."""
    findings: list[str] = []
    text = unicodedata.normalize("NFKC", raw)
    stripped = _TAGS.sub("", _INVISIBLE.sub("", text))
    if stripped != text:
        findings.append("invisible")
    text, folded = _fold_homoglyphs(stripped)
    if folded:
        findings.append("homoglyphs")

    variants: list[str] = []
    deleeted = _WORD.sub(lambda m: _deleet_word(m.group(0)), text)
    if deleeted != text:
        # ids and amounts also contain digits: only words that read as letters afterwards count as leetspeak
        changed = [w for w, d in zip(text.split(), deleeted.split(), strict=False) if w != d and d.isalpha()]
        if changed:
            findings.append("leetspeak")
            variants.append(deleeted)
    joined = _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), text)
    if joined != text:
        findings.append("spaced_letters")
        variants.append(joined)
    payloads = _decode_payloads(text)
    if payloads:
        findings.append("base64")
        variants.extend(analyse(p).text for p in payloads)
    return Analysis(
        text=text, variants=tuple(dict.fromkeys(v for v in variants if v != text)), findings=tuple(findings)
    )
