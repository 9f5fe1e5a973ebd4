"""Personal data in replies: find it, keep what belongs to the authenticated customer, redact the rest.

Patterns are exact where the format is (emails, card numbers with a Luhn check, IBANs, payment-method
ids, the shop's order ids) and conservative where it is not (phone numbers need separators or a leading
+, street addresses need a number, a capitalised street name and a street suffix). Personal names are
not detected: that needs a name list or NER, and a reply naming the customer is normal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from kefu.safety.verdicts import CustomerFacts

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?!\d)"
    r"|(?<![\w+])\+\d{1,3}[\s.-]?\d{2,4}[\s.-]?\d{3,4}[\s.-]?\d{3,4}(?!\d)"
)
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")
PAYMENT_ID = re.compile(r"\b(?:credit_card|gift_card|paypal|debit_card|bank_account)_\d{4,}\b")
_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Drive|Dr|Lane|Ln|Boulevard|Blvd|Court|Ct|Place|Pl|Way|Terrace|Ter|"
    r"Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Trl|Loop|Alley|Row)"
)
_NAMED = r"(?:Broadway|Boardwalk|Esplanade|Promenade|Causeway|Crescent|Plaza|Mews|Close|Green|Parade)"
ADDRESS = re.compile(
    rf"\b\d{{1,6}}\s+(?:(?:[A-Z][a-zA-Z'-]+\s+){{1,4}}{_SUFFIX}|(?:[A-Z][a-zA-Z'-]+\s+){{0,3}}{_NAMED})\b\.?(?:,?\s+(?:(?:Suite|Ste|Apt|Unit)\s*\w+|#\s*\d+\b))?"
)

LABELS = {
    "email": "[email removed]",
    "phone": "[phone number removed]",
    "card": "[card number removed]",
    "iban": "[bank account removed]",
    "payment_id": "[payment method removed]",
    "order_id": "[order id removed]",
    "address": "[address removed]",
}


@dataclass(frozen=True)
class PiiSpan:
    kind: str
    start: int
    end: int
    value: str


def _luhn(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for i, ch in enumerate(digits):
        d = int(ch)
        if i % 2 == parity:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _words(value: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", value.lower()))


@lru_cache(maxsize=32)
def _order_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def without_identifiers(text: str, *, order_id_pattern: str) -> str:
    """`text` with email addresses and order ids put in words ("my email", "the order"), for the classifier
    heads: they carry no instruction, and the heads had never seen them together with a request. An email,
    an order id and "change the laptop to 16GB ram" in one message scored 0.66 as a jailbreak (threshold
    0.20) and a customer was refused; with them in words it scores 0.00."""
    return _order_pattern(order_id_pattern).sub("the order", EMAIL.sub("my email", text))


def find(text: str, *, order_id_pattern: str) -> list[PiiSpan]:
    """Every personal-data span in `text`, longest first where two overlap."""
    found: list[PiiSpan] = []
    for kind, pattern in (
        ("email", EMAIL),
        ("payment_id", PAYMENT_ID),
        ("iban", IBAN),
        ("address", ADDRESS),
        ("order_id", _order_pattern(order_id_pattern)),
        ("phone", PHONE),
        ("card", CARD),
    ):
        for m in pattern.finditer(text):
            if kind == "card" and not (13 <= len(_digits(m.group(0))) <= 19 and _luhn(_digits(m.group(0)))):
                continue
            found.append(PiiSpan(kind, m.start(), m.end(), m.group(0)))
    found.sort(key=lambda s: (s.start, -(s.end - s.start)))
    kept: list[PiiSpan] = []
    for span in found:
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    return kept


class Ownership:
    """Answers 'does this value belong to the customer (or is it always allowed)?'."""

    def __init__(self, customer: CustomerFacts, allowed: tuple[str, ...] = ()) -> None:
        everything = (*customer.also_allowed, *allowed)
        self.emails = {e.lower() for e in (customer.email, *everything) if e and "@" in e}
        self.order_ids = {
            _words(o).replace(" ", "").upper().lstrip("#") for o in (*customer.order_ids, *everything)
        }
        self.digits = {_digits(p) for p in (*customer.phones, *everything) if len(_digits(p)) >= 7}
        self.payment = {p.lower() for p in (*customer.payment_ids, *everything)}
        self.card_endings = {_digits(p)[-4:] for p in customer.payment_ids if len(_digits(p)) >= 4}
        self.addresses = [_words(a) for a in (*customer.addresses, *everything) if a]

    def owns(self, span: PiiSpan) -> bool:
        value = span.value
        if span.kind == "email":
            return value.lower() in self.emails
        if span.kind == "order_id":
            return _words(value).replace(" ", "").upper() in self.order_ids
        if span.kind == "phone":
            digits = _digits(value)
            return any(digits[-10:] == d[-10:] for d in self.digits)
        if span.kind == "payment_id":
            return value.lower() in self.payment
        if span.kind in ("card", "iban"):
            return _digits(value) in self.digits
        if span.kind == "address":
            words = _words(value)
            return any(words and words in a for a in self.addresses)
        return False


def redact(text: str, spans: list[PiiSpan]) -> str:
    out, last = [], 0
    for span in spans:
        out.append(text[last : span.start])
        out.append(LABELS[span.kind])
        last = span.end
    out.append(text[last:])
    return "".join(out)
