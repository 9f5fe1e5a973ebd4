"""The grounding check: every fact-like span of a generated reply must appear in the reply plan.

Fact-like spans are order ids, item and product ids, tracking and other long numbers, amounts of
money, dates, email addresses, order statuses, and the shop's product names and option values. A
span counts as supported when its normalised form occurs in the plan's text (the tool results, the
passages, the template draft). A reply with any unsupported span is regenerated once, then replaced
by the template (see `writer.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

_PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    "order_id": re.compile(r"#?\bW\d{5,}\b"),
    "amount": re.compile(r"(?:\$|USD\s?)\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*\.\d{2}\b(?:\s?(?:dollars|USD))?"),
    "date": re.compile(
        r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
        r"[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?(?:,? \d{4})?\b"
    ),
    "number": re.compile(r"\b\d{4,}\b"),
}
STATUSES = (
    "pending (item modified)",
    "exchange requested",
    "return requested",
    "processed",
    "delivered",
    "cancelled",
    "shipped",
    "pending",
)
_STATUS_RE = re.compile(r"\b(" + "|".join(re.escape(s) for s in STATUSES) + r")\b", re.IGNORECASE)
_FUTURE_SHIPPING = re.compile(r"\bwill (?:now )?be\s+$", re.IGNORECASE)
"""Before a status word followed by "to": the future of an address change, not a status. It was 3 of
the 10 first-try failures on 120 held-out plans ("Order #W… will now be shipped to 103 Hillcrest
Drive…" for the draft's "will now ship to")."""


@dataclass(frozen=True)
class Span:
    kind: str
    text: str


@dataclass(frozen=True)
class GroundingResult:
    """What the check found in one reply."""

    spans: list[Span] = field(default_factory=list)
    """Every fact-like span of the reply."""
    unsupported: list[Span] = field(default_factory=list)
    """Spans that the plan does not contain: invented facts."""
    missing: list[str] = field(default_factory=list)
    """Required facts (when asked for) that the reply leaves out."""
    mislabelled: list[Span] = field(default_factory=list)
    """Ids and numbers the reply calls something the plan never calls them (a tracking number given
    as "your account number"): the value is real, the statement about it is not."""

    @property
    def ok(self) -> bool:
        """True when every fact-like span is in the plan, labelled as the plan labels it, and no
        required fact is missing."""
        return not self.unsupported and not self.missing and not self.mislabelled


def normalise(text: str) -> str:
    t = text.lower().replace("#", "").replace(",", "").replace("$", "").replace("usd", "")
    t = re.sub(r"\b(\d+)\.00\b", r"\1", t)
    return re.sub(r"\s+", " ", t).strip()


@lru_cache(maxsize=1)
def shop_vocabulary() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(product names, distinctive option values) of the demo shop, longest first."""
    from kefu.tools.orders.loader import demo_shop_data

    products = demo_shop_data()["products"]
    names = {p["name"] for p in products.values()}
    options: set[str] = set()
    for p in products.values():
        for v in p["variants"].values():
            for x in v["options"].values():
                s = str(x)
                # plain words ("black", "large") are ordinary English; keep values with digits or units
                if any(c.isdigit() for c in s) and len(s) >= 3:
                    options.add(s)
    return tuple(sorted(names, key=len, reverse=True)), tuple(sorted(options, key=len, reverse=True))


def extract_spans(text: str, *, vocabulary: tuple[Iterable[str], Iterable[str]] | None = None) -> list[Span]:
    """Fact-like spans of `text`, in order of appearance, without overlaps."""
    names, options = vocabulary if vocabulary is not None else shop_vocabulary()
    found: list[tuple[int, int, Span]] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, kind: str) -> None:
        if any(start < b and a < end for a, b in taken):
            return
        taken.append((start, end))
        found.append((start, end, Span(kind, text[start:end])))

    for kind in ("email", "order_id", "date", "amount", "number"):
        for m in _PATTERNS[kind].finditer(text):
            add(m.start(), m.end(), kind)
    for m in _STATUS_RE.finditer(text):
        if _FUTURE_SHIPPING.search(text[: m.start()]) and text[m.end() :].lstrip().lower().startswith("to "):
            continue  # "will now be shipped to <address>" says where it goes, not that it has shipped
        add(m.start(), m.end(), "status")
    lowered = text.lower()
    for kind, vocab in (("product", names), ("option", options)):
        for word in vocab:
            w = word.lower()
            for m in re.finditer(r"(?<![\w])" + re.escape(w) + r"(?![\w])", lowered):
                add(m.start(), m.end(), kind)
    return [s for _, _, s in sorted(found, key=lambda x: x[0])]


def check(
    reply: str,
    plan_text: str,
    *,
    vocabulary: tuple[Iterable[str], Iterable[str]] | None = None,
    required: list[str] | None = None,
) -> GroundingResult:
    """Every fact-like span of `reply` must occur in `plan_text` (normalised); with `required`, every
    one of those facts must occur in `reply`."""
    spans = extract_spans(reply, vocabulary=vocabulary)
    haystack = normalise(plan_text)
    unsupported = [s for s in spans if not _contains(haystack, normalise(s.text))]
    said = normalise(reply)
    missing = [f for f in required or [] if not _contains(said, normalise(f))]
    supported = [s for s in spans if s not in unsupported]
    return GroundingResult(
        spans=spans,
        unsupported=unsupported,
        missing=missing,
        mislabelled=mislabelled(reply, plan_text, supported),
    )


# What a reply may call an id or a long number; each label lists the words that count as the same
# label in the plan (tool results use field names such as "tracking_id" or "payment_method_id").
_LABELS: dict[str, tuple[str, ...]] = {
    "tracking": ("tracking",),
    "account": ("account", "user"),
    "order": ("order",),
    "item": ("item",),
    "product": ("product",),
    "card": ("card", "payment"),
    "phone": ("phone",),
    "zip": ("zip", "postal"),
    "confirmation": ("confirmation",),
    "reference": ("reference",),
}
_LABEL_WORD = re.compile(r"\b(" + "|".join(_LABELS) + r")s?\b", re.IGNORECASE)
_LABEL_WINDOW = 24
_PLAN_WINDOW = 60


def mislabelled(reply: str, plan_text: str, spans: Iterable[Span]) -> list[Span]:
    """Ids and long numbers whose label in the reply ("account number: 5171...") is not one the plan
    puts before the same value anywhere. Unlabelled values, and amounts, dates and names, pass."""
    out: list[Span] = []
    plan = plan_text.lower().replace("_", " ")
    for span in spans:
        if span.kind not in ("number", "order_id"):
            continue
        at = reply.find(span.text)
        if at < 0:
            continue
        labels = _LABEL_WORD.findall(reply[max(0, at - _LABEL_WINDOW) : at])
        if not labels:
            continue
        words = _LABELS[labels[-1].lower()]
        value = span.text.lower().lstrip("#")
        contexts = [
            plan[max(0, m.start() - _PLAN_WINDOW) : m.start()] for m in re.finditer(re.escape(value), plan)
        ]
        if contexts and not any(w in c for c in contexts for w in words):
            out.append(span)
    return out


def required_facts(draft: str, *, vocabulary: tuple[Iterable[str], Iterable[str]] | None = None) -> list[str]:
    """The facts a reply must carry: the fact-like spans of the template draft, deduplicated."""
    seen: dict[str, str] = {}
    for s in extract_spans(draft, vocabulary=vocabulary):
        seen.setdefault(normalise(s.text), s.text)
    return list(seen.values())


def coverage(reply: str, facts: list[str]) -> float:
    """Share of `facts` that `reply` states (1.0 when there are none)."""
    if not facts:
        return 1.0
    text = normalise(reply)
    return sum(_contains(text, normalise(f)) for f in facts) / len(facts)


def _contains(haystack: str, needle: str) -> bool:
    """`needle` in `haystack` as whole words: "5" is not found inside "54.04" or "W1234567"."""
    return re.search(r"(?<![\w.])" + re.escape(needle) + r"(?![\w]|\.\d)", haystack) is not None
