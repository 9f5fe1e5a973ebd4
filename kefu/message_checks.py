"""Customer text before anything reads it: types, size, control characters and unicode tricks.

Bad input gets a clear answer and changes nothing: the session is not touched by a message that is
empty, too long or not text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from kefu.errors import InvalidMessage

# zero-width and bidirectional controls: invisible, and used to hide or reorder text
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class CheckedMessage:
    text: str
    """The text to use: NFKC-normalised, invisible and control characters removed."""
    problem: str | None = None
    """Why the message cannot be answered normally: 'empty', 'too_long', 'not_text'."""


def check_message(raw: object, *, max_chars: int) -> CheckedMessage:
    if isinstance(raw, bytes | bytearray | memoryview):
        raise InvalidMessage("message must be str, not bytes: decode it first (e.g. data.decode('utf-8'))")
    if not isinstance(raw, str):
        raise InvalidMessage(f"message must be str, not {type(raw).__name__}")
    if len(raw) > max_chars * 4:  # don't even normalise megabytes
        return CheckedMessage("", "too_long")
    text = unicodedata.normalize("NFKC", raw)
    text = _INVISIBLE.sub("", text)
    controls = len(_CONTROL.findall(text)) + text.count("\ufffd")
    text = _CONTROL.sub(" ", text).replace("\ufffd", " ")
    text = re.sub(r"[ \t]+", " ", text).strip()
    if controls and controls > max(3, len(raw) // 10):
        return CheckedMessage("", "not_text")
    if not text:
        return CheckedMessage("", "empty")
    if len(text) > max_chars:
        return CheckedMessage("", "too_long")
    return CheckedMessage(text)


PROBLEM_REPLIES = {
    "empty": "It looks like your message was empty. How can I help you today?",
    "too_long": "That message is too long for me to read in one go. Could you shorten it to the main question "
    "(a few sentences, under {max_chars} characters)?",
    "not_text": "I couldn't read that message: it looks like binary data rather than text. Could you type your "
    "question?",
}
