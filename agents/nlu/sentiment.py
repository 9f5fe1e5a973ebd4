"""Is the customer upset? A small lexicon for now, until the trained sentiment model replaces it.

Read by the brain for one rule that matters a lot: never try to sell to a customer who is
complaining. It errs on the side of "upset" (a missed upsell costs less than an insulting one).
"""

from __future__ import annotations

import re

_UPSET = re.compile(
    r"\b(angry|furious|upset|annoyed|frustrat\w*|disappoint\w*|ridiculous|unacceptable|terrible|horrible|awful|"
    r"worst|useless|pathetic|disgust\w*|outrag\w*|scam|rip ?off|never again|fed up|sick of|waste of|"
    r"broken|damaged|cracked|defective|doesn'?t work|does not work|stopped working|not working|wrong item|"
    r"still (hasn'?t|not|haven'?t)|where the hell|wtf|damn|hell|crap|shit\w*|bullshit|fuck\w*|"
    r"complain\w*|complaint|refund now|i want my money)\b",
    re.I,
)


def is_upset(text: str) -> bool:
    """True for complaints, anger and reports of broken or wrong items."""
    if _UPSET.search(text):
        return True
    letters = [c for c in text if c.isalpha()]
    shouting = len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.7
    return shouting or text.count("!") >= 3
