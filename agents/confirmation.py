"""Is this message the customer's explicit "yes" to the action we listed?

Decided by code, before any brain sees the message, so no model (ours or a hosted one) can talk
itself into a write: a pending write becomes confirmed only when the very next customer message is
an unambiguous yes. Anything hesitant, negated or changing the details is not a yes.
"""

from __future__ import annotations

import re

_YES = re.compile(
    r"^(y|ye|yes+|yse|yea|yeah|yeh|yep|yup|ya|yas|sure|ok|okay|k|kk|confirm(ed)?|correct|right|affirmative|"
    r"absolutely|definitely|certainly|of course|go ahead|go for it|do it|proceed|please do|please proceed|"
    r"that'?s (right|correct|fine|good|it)|sounds good|looks good|perfect|great|fine|alright|all right|"
    r"i confirm|yes i confirm|i agree|agreed|approved?|exactly|(yes|yeah|yep|ok|sure),? please|"
    r"please|thanks|thank you|cool)$"
)
_NEGATION = re.compile(
    r"\b(no|nope|nah|not|don'?t|dont|do not|never|wait|hold on|hang on|stop|cancel that|actually|instead|"
    r"but|change|wrong|rather|isn'?t|wasn'?t|hmm+|maybe|unsure|not sure|make it|use|"
    # putting it off: "ok thanks, I'll think about it" was a yes (its first word)
    r"think|thinking|later|consider|decide|let me|i'?ll see|tomorrow|first|just asking)\b"
)
_SPLIT = re.compile(r"[\s,.!;:]+")


def _normalise(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^a-z0-9' ,.!;:]", " ", text)
    return re.sub(r"\s+", " ", text).strip(" ,.!;:")


def is_explicit_yes(text: str) -> bool:
    """True for 'yes', 'Yes please, go ahead', 'yep that's correct'; False for 'yes but...', 'no', 'hmm'."""
    t = _normalise(text)
    if not t or len(t) > 120 or _NEGATION.search(t):
        return False
    if _YES.match(t):
        return True
    # A yes, then anything that neither hedges, negates nor changes the details:
    # "Yes, that's right, it was ordered by mistake. Please go ahead and cancel it. Thank you!"
    words = [w for w in _SPLIT.split(t) if w]
    if not words or len(words) > 30 or "?" in text or re.search(r"\d", t):
        return False  # a question, or new numbers (a size, an id, a zip): not a plain yes
    return words[0] in _YES_WORDS or (
        len(words) > 1 and words[0] in ("oh", "well", "ok", "okay") and words[1] in _YES_WORDS
    )


_YES_WORDS = {
    "y",
    "ye",
    "yes",
    "yess",
    "yesss",
    "yse",
    "yea",
    "yeah",
    "yeh",
    "yep",
    "yup",
    "ya",
    "yas",
    "sure",
    "ok",
    "okay",
    "kk",
    "confirm",
    "confirmed",
    "correct",
    "right",
    "absolutely",
    "definitely",
    "certainly",
    "perfect",
    "great",
    "alright",
    "proceed",
    "agreed",
    "exactly",
    "go",
    "affirmative",
}
_FILLER = _YES_WORDS | {
    "please",
    "pls",
    "plz",
    "go",
    "ahead",
    "and",
    "do",
    "it",
    "that",
    "proceed",
    "confirm",
    "i",
    "you",
    "can",
    "is",
    "that's",
    "thats",
    "all",
    "correct",
    "right",
    "fine",
    "good",
    "sounds",
    "looks",
    "thanks",
    "thank",
    "so",
    "much",
    "cancel",
    "return",
    "exchange",
    "change",
    "update",
    "modify",
    "switch",
    "them",
    "both",
    "those",
    "these",
    "the",
    "order",
    "items",
    "item",
    "address",
    "payment",
    "with",
    "for",
    "me",
    "of",
    "course",
    "works",
    "now",
    "this",
    "one",
    "then",
    "we're",
    "we",
    "are",
    "im",
    "i'm",
    "sure",
    "100",
    "totally",
    "exactly",
    "perfect",
    "great",
    "ty",
    "thx",
    "a",
    "lot",
    "on",
    "just",
    "make",
    "happen",
    "let's",
    "lets",
    "refund",
    "process",
    "submit",
    "everything",
    "to",
    "am",
    "second",
    "first",
    "too",
    "also",
    "as",
    "well",
    "other",
    "set",
    "done",
    "it's",
    "its",
    "yes",
}
