"""Entities that can be read from the text alone: ids, emails, names, zip codes, reasons, payment
choices and addresses. Matching against the shop's items and options lives in `catalog_match`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ORDER_ID = re.compile(r"(?:#\s?W\s?|\bW\s?|#)(\d{7})\b", re.I)
ORDER_ID_AFTER_WORD = re.compile(
    r"\border\s*(?:id|number|no\.?|num|#)?\s*(?:is|:)?\s*#?\s*W?\s?(\d{7})\b", re.I
)
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b", re.I)
ZIP = re.compile(r"(?<![\d#-])\b(\d{5})(?:-\d{4})?\b(?!\s*(?:mah|ml|ft|lbs?)\b)", re.I)
USER_ID = re.compile(r"\b([a-z]+_[a-z]+_\d{3,5})\b")
LAST_FOUR = re.compile(
    r"(?:ending|ends|last (?:four|4)(?: digits)?|xx+|\*+)\s*(?:in|with|of|is|are|:)?\s*(\d{4})\b", re.I
)

_NAME_INTRO = re.compile(
    r"\b(?:my name is|my name's|name is|name's|i am|i'm|im|this is|it's|its|it is|call me|calling for|"
    r"on behalf of|account of|ordering for|asking for|writing for|helping)\s+",
    re.I,
)
_TWO_WORDS = re.compile(r"([a-z][a-z'-]+)\s+([a-z][a-z'-]+)", re.I)
_NOT_NAMES = {
    "looking",
    "trying",
    "not",
    "a",
    "the",
    "so",
    "very",
    "still",
    "just",
    "here",
    "writing",
    "calling",
    "back",
    "having",
    "sorry",
    "hoping",
    "going",
    "wondering",
    "asking",
    "reaching",
    "interested",
    "unhappy",
    "happy",
    "upset",
    "angry",
    "done",
    "good",
    "fine",
    "ok",
    "okay",
    "in",
    "at",
    "from",
    "with",
    "on",
    "about",
    "your",
    "my",
    "an",
    "and",
    "zip",
    "email",
    "order",
    "yes",
    "no",
    "hi",
    "hello",
    "hey",
    "thanks",
    "please",
    "need",
    "want",
    "would",
    "like",
    "can",
    "could",
    "help",
    "code",
    "is",
    "me",
    "you",
    "it",
    "that",
    "this",
    "name",
    "first",
    "last",
    "sure",
    "there",
    "live",
    "moved",
    "cancel",
    "return",
    "exchange",
    "change",
    "to",
    "paypal",
    "visa",
    "card",
    "gift",
    "mastercard",
    "for",
    "of",
    "one",
    "new",
    "old",
}


def order_ids(text: str) -> list[str]:
    """'#W1234567', 'w 1234567', 'order number 1234567' → ['#W1234567'] (normalised, in order, unique)."""
    found: list[str] = []
    for pattern in (ORDER_ID, ORDER_ID_AFTER_WORD):
        for m in pattern.finditer(text):
            oid = f"#W{m.group(1)}"
            if oid not in found:
                found.append(oid)
    return found


def emails(text: str) -> list[str]:
    return [m.group(0).strip(".").lower() for m in EMAIL.finditer(text)]


def zip_codes(text: str) -> list[str]:
    cleaned = EMAIL.sub(" ", text)
    cleaned = re.sub(r"#?\s?W\s?\d{7}", " ", cleaned, flags=re.I)
    return [m.group(1) for m in ZIP.finditer(cleaned)]


def person_name(text: str, *, expecting: bool = False) -> tuple[str, str] | None:
    """First and last name: 'my name is Yusuf Rossi', or, when we just asked for it, 'yusuf rossi 19122'."""
    cleaned = EMAIL.sub(" ", text)
    for m in _NAME_INTRO.finditer(cleaned):
        words = _TWO_WORDS.match(cleaned, m.end())
        if words is None:
            continue
        first, last = words.group(1), words.group(2)
        if first.lower() not in _NOT_NAMES and last.lower() not in _NOT_NAMES:
            return first.title(), last.title()
    if expecting:
        for sentence in re.split(r"[.!?;\n]+", cleaned):
            found = _bare_name(sentence)
            if found:
                return found
    return None


def _bare_name(cleaned: str) -> tuple[str, str] | None:
    """'Mia Jackson', 'mia jackson 46227', 'name: Mia Jackson, zip 46227'."""
    rest = re.sub(r"\d+", " ", cleaned)
    rest = re.sub(
        r"\b(zip|zipcode|code|postal|name|and|my|is|it's|its|i'm|im|sure|ok|hi|hey|here|yes|"
        r"first|last|the|in|at|live|lives)\b",
        " ",
        rest,
        flags=re.I,
    )
    words = re.findall(r"[A-Za-z][A-Za-z'-]+", rest)
    if len(words) == 2 and not any(w.lower() in _NOT_NAMES for w in words):
        return words[0].title(), words[1].title()
    return None


def user_ids(text: str) -> list[str]:
    return USER_ID.findall(text.lower())


CANCEL_MISTAKE = re.compile(
    r"\b(mistake|mistakenly|by accident|accident(ally)?|accidently|wrong (item|order|one|thing)|didn'?t mean|did not mean|"
    r"ordered (it )?twice|duplicate|double order(ed)?|misclick|miss?click|by error|in error|mistak|mistke|misake|"
    r"ordered the wrong|accidental)\b",
    re.I,
)
CANCEL_NOT_NEEDED = re.compile(
    r"\b(no longer|dont need|don'?t need|do not need|not need(ed)?|needed anymore|need it anymore|need them anymore|"
    r"don'?t want|do not want|dont want|not want|changed my mind|change of mind|found (it )?(a )?cheaper|"
    r"no need|not needed|longer need(ed)?|nolonger|unnecessary|won'?t need|wont need|"
    r"got (it|one) elsewhere|bought (it|one) elsewhere|(better|lower|cheaper) (price|deal|offer)|"
    r"cheaper (elsewhere|somewhere else)|found (it|one|something) (else ?where|somewhere else)|"
    r"(too|very) expensive|can'?t afford|cannot afford|not worth)\b",
    re.I,
)


def cancel_reason(text: str) -> str | None:
    """One of the two reasons the policy accepts, from how customers say them."""
    if CANCEL_MISTAKE.search(text):
        return "ordered by mistake"
    if CANCEL_NOT_NEEDED.search(text):
        return "no longer needed"
    return None


@dataclass(frozen=True)
class PaymentHint:
    """What the customer said about a payment method; resolved against their methods by the brain."""

    source: str | None = None
    """gift_card, paypal, credit_card, or None when only 'original' or digits were given."""
    brand: str | None = None
    last_four: str | None = None
    original: bool = False
    """'the original payment method', 'same card I paid with'."""
    explicit_id: str | None = None


_PM_ID = re.compile(r"\b((?:gift_card|credit_card|paypal)_\d{5,9})\b")


_INSTEAD_OF = re.compile(
    r"\b(inste?a?d of|insted of|rather than|not|from|than)\s+(the |my |a |an )?([\w-]+( [\w-]+)?)", re.I
)


def drop_rejected(text: str) -> str:
    """Remove what the customer says they do NOT want: 'paypal instead of the gift card' → 'paypal'."""
    return _INSTEAD_OF.sub(" ", text)


def payment_hint(text: str) -> PaymentHint | None:
    t = drop_rejected(text).lower()
    m = _PM_ID.search(t)
    if m:
        return PaymentHint(explicit_id=m.group(1))
    original = bool(
        re.search(
            r"\b(original|same (card|payment|method|account|one|way)|card i (paid|used)|paid with|i paid|"
            r"way i paid|how i paid|where it came from|back to (my )?(card|account))\b",
            t,
        )
    )
    sources = []  # every method named, with where; the last one named is what they want
    for name, pattern in (
        ("gift_card", r"\bgift\s?-?cards?\b|\bgiftcard\b|\bgift crd\b|\bstore credit\b"),
        ("paypal", r"\bpay\s?pal\b|\bpaypall?\b"),
        (
            "credit_card",
            r"\b(credit|debit)\s?cards?\b|\bvisa\b|\bmaster\s?card\b|\bamex\b|\bamerican express\b|"
            r"\bdiscover\b|(?<!gift )\bcard\b",
        ),
    ):
        for m in re.finditer(pattern, t):
            sources.append((m.start(), name))
    source = max(sources)[1] if sources else None
    brand = None
    for b, pattern in (
        ("visa", r"\bvisa\b"),
        ("mastercard", r"\bmaster\s?card\b"),
        ("amex", r"\bamex\b|american express"),
        ("discover", r"\bdiscover\b"),
    ):
        if re.search(pattern, t):
            brand = b
    lf = LAST_FOUR.search(t)
    last_four = lf.group(1) if lf else None
    if source is None and brand is None and last_four is None and not original:
        return None
    if original and source == "credit_card" and brand is None and last_four is None:
        source = None  # "same card I paid with" names no particular card
    return PaymentHint(source=source, brand=brand, last_four=last_four, original=original)


US_STATES = {
    "alabama": "AL",
    "alaska": "AK",
    "arizona": "AZ",
    "arkansas": "AR",
    "california": "CA",
    "colorado": "CO",
    "connecticut": "CT",
    "delaware": "DE",
    "florida": "FL",
    "georgia": "GA",
    "hawaii": "HI",
    "idaho": "ID",
    "illinois": "IL",
    "indiana": "IN",
    "iowa": "IA",
    "kansas": "KS",
    "kentucky": "KY",
    "louisiana": "LA",
    "maine": "ME",
    "maryland": "MD",
    "massachusetts": "MA",
    "michigan": "MI",
    "minnesota": "MN",
    "mississippi": "MS",
    "missouri": "MO",
    "montana": "MT",
    "nebraska": "NE",
    "nevada": "NV",
    "new hampshire": "NH",
    "new jersey": "NJ",
    "new mexico": "NM",
    "new york": "NY",
    "north carolina": "NC",
    "north dakota": "ND",
    "ohio": "OH",
    "oklahoma": "OK",
    "oregon": "OR",
    "pennsylvania": "PA",
    "rhode island": "RI",
    "south carolina": "SC",
    "south dakota": "SD",
    "tennessee": "TN",
    "texas": "TX",
    "utah": "UT",
    "vermont": "VT",
    "virginia": "VA",
    "washington": "WA",
    "west virginia": "WV",
    "wisconsin": "WI",
    "wyoming": "WY",
    "district of columbia": "DC",
}
_STATE_CODES = set(US_STATES.values())
_UNIT = re.compile(r"^(apt|apartment|suite|ste|unit|fl|floor|room|rm|#|building|bldg)\b\.?\s*", re.I)
_STREET_START = re.compile(r"\b\d{1,6}\s+[A-Za-z0-9]")


def address(text: str) -> dict[str, str] | None:
    """A US postal address: '123 Main St, Apt 4, Austin, TX 78701, USA' → its six fields, or None."""
    m = _STREET_START.search(text)
    if not m:
        return None
    body = text[m.start() :]
    zm = re.search(
        r"\b\d{5}(?:-\d{4})?\b(\s*,?\s*(usa|us|u\.s\.a?\.?|united states( of america)?)\b)?", body, re.I
    )
    if zm:  # the address ends with its zip (and maybe the country): drop what follows
        body = body[: zm.end()]
    body = body.strip().rstrip(".!")
    body = re.sub(r"\s*\b(please|thanks|thank you|thx)\b.*$", "", body, flags=re.I)
    parts = [p.strip() for p in re.split(r",|\n|;", body) if p.strip()]
    country = "USA"
    if parts and re.fullmatch(r"(usa|us|u\.s\.a?\.?|united states( of america)?|america)", parts[-1], re.I):
        parts.pop()
    zip_code = state = None
    # zip, possibly glued to the state ("TX 78701") or on its own
    if parts:
        tail = parts[-1]
        zm = re.search(r"\b(\d{5})(?:-\d{4})?\s*$", tail)
        if zm:
            zip_code = zm.group(1)
            tail = tail[: zm.start()].strip()
            if tail:
                parts[-1] = tail
            else:
                parts.pop()
    if parts:
        tail = parts[-1]
        words = tail.split()
        for n in (3, 2, 1):  # the longest state name or code at the end of the part
            if len(words) < n:
                continue
            cand = " ".join(words[-n:]).strip(".")
            code = US_STATES.get(cand.lower()) or (
                cand.upper() if n == 1 and cand.upper() in _STATE_CODES else None
            )
            if code:
                state = code
                rest = " ".join(words[:-n]).strip()
                if rest:
                    parts[-1] = rest
                else:
                    parts.pop()
                break
    if not (zip_code and state and parts):
        return None
    city = parts.pop() if len(parts) >= 2 else None
    if city is None:
        # "123 Main St Austin" without commas: not reliable enough to split
        return None
    address1 = parts[0]
    address2 = ""
    if len(parts) >= 2:
        address2 = " ".join(parts[1:])
    else:
        um = re.search(r"\s((apt|apartment|suite|ste|unit|#)\.?\s*\S+)$", address1, re.I)
        if um:
            address2 = um.group(1)
            address1 = address1[: um.start()].strip()
    if address2 and _UNIT.match(address2):
        word = _UNIT.match(address2).group(1).lower()  # type: ignore[union-attr]
        canon = {
            "apt": "Apt",
            "apartment": "Apt",
            "ste": "Suite",
            "suite": "Suite",
            "unit": "Unit",
            "fl": "Floor",
            "floor": "Floor",
            "#": "#",
            "room": "Room",
            "rm": "Room",
            "building": "Building",
            "bldg": "Building",
        }[word]
        address2 = f"{canon} {_UNIT.sub('', address2).strip()}".strip() if canon != "#" else address2
    return {
        "address1": address1,
        "address2": address2,
        "city": city.title() if city.islower() else city,
        "state": state,
        "country": country,
        "zip": zip_code,
    }


def mentions_all(text: str) -> bool:
    """'all of them', 'everything in the order', 'both items', 'the whole order' (not 'everything else',
    nor 'exchange both wireless earbuds', where "both" goes with the items it names)."""
    t = text.lower()
    return bool(
        re.search(
            r"\b(all (of )?(the |my )?(items|things|products|stuff)|all of them|all of it|(the )?(whole|entire) order|"
            r"both (of them|items|things|products)|(return|exchange|send back|swap) (them )?(all|both|everything)"
            r"(?=\s*($|[.,!?;:)]|(of|items?|things|products|please|back|in|from|on|for|to|and|with|but|i|we|them)\b))|"
            r"everything (in|from|on) (the|that|this|my) order|every item|each item)\b",
            t,
        )
    )


def says_default_address(text: str) -> bool:
    """'use my default address', 'the address on my account'."""
    return bool(
        re.search(
            r"\b(default|account|profile|on file|home|usual) address\b|address (on|in) (my )?"
            r"(account|profile|file)|\baddress\b.*\bmy (default|usual) one\b",
            text,
            re.I,
        )
    )


_CAP_WORDS = (
    r"under|below|less than|cheaper than|lower than|no more than|not more than|at most|up to|max(?:imum)?(?: of)?|"
    r"within|budget (?:of|is)|for less than"
)
_AMOUNT = r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?(?![\d.,]?\d)"
_PRICE_CAP = re.compile(
    rf"\b(?:{_CAP_WORDS})\s+(?:(?:a |an )?(?:budget|price) of\s+)?(\$\s*)?{_AMOUNT}(\s*(?:dollars?|usd|bucks)\b)?"
    r"(?!\s*(?:%|percent|cups?|ml|l\b|liters?|litres?|gb|tb|inch|in\b|cm|mm|kg|lbs?|pounds|oz|watts?|w\b|mah|"
    r"people|persons?|players?|pieces?|items?|years?|months?|days?|hours?|minutes?))"
    rf"|(\$)\s*{_AMOUNT}\s*(?:or (?:less|under|below)|max(?:imum)?|tops|at most)\b",
    re.I,
)


def price_cap(text: str) -> float | None:
    """The most the customer wants to pay: 'under $100', 'less than 50 dollars', '$80 or less', 'a budget
    of $200'. A bare number needs a price word before it ('under 100'), and not a unit after it ('under 10
    cups', 'up to 4 people')."""
    m = _PRICE_CAP.search(text)
    if m is None or re.search(r"\bsize\s*$", text[: m.start()], re.I):
        return None
    if m.group(5):  # "$80 or less"
        whole, cents = m.group(6), m.group(7)
    else:
        whole, cents = m.group(2), m.group(3)
    return float(whole.replace(",", "") + (f".{cents}" if cents else ""))
