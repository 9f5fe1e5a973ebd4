"""Resolve what customers call things against the shop's data.

"the mechanical keyboard" → the order's keyboard item; "clicky switches" → switch type 'clicky';
"size 10 in black" → the available variant of the same product with size 10 and colour black that
keeps everything else the customer had. Typos are tolerated with fuzzy token matching.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

# Words customers use for the demo shop's product types (product-name tokens match on their own).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "T-Shirt": ("tshirt", "tee", "shirt", "t shirt", "tees", "shirts"),
    "Running Shoes": ("shoes", "runners", "trainers", "running shoe"),
    "Sneakers": ("sneaker", "shoes", "kicks"),
    "Hiking Boots": ("boots", "boot"),
    "Smartphone": ("phone", "cellphone", "mobile", "smart phone"),
    "Smart Watch": ("smartwatch", "watch"),
    "Wristwatch": ("watch", "wrist watch"),
    "Wireless Earbuds": ("earbuds", "earphones", "buds", "ear buds"),
    "Headphones": ("headphone", "headset", "cans"),
    "Portable Charger": ("charger", "power bank", "powerbank", "battery pack"),
    "Bicycle": ("bike", "cycle"),
    "Luggage Set": ("luggage", "suitcase", "suitcases"),
    "Jigsaw Puzzle": ("puzzle", "jigsaw"),
    "Perfume": ("fragrance", "cologne", "scent"),
    "Makeup Kit": ("makeup", "make up", "cosmetics"),
    "Vacuum Cleaner": ("vacuum", "hoover"),
    "Air Purifier": ("purifier", "air filter"),
    "Grill": ("bbq", "barbecue"),
    "E-Reader": ("ereader", "e reader", "kindle", "reader"),
    "Tablet": ("ipad",),
    "Laptop": ("computer", "notebook computer", "macbook"),
    "Sunglasses": ("shades", "sunnies", "glasses"),
    "Backpack": ("bag", "rucksack", "back pack"),
    "Coffee Maker": ("coffee machine", "coffeemaker"),
    "Dumbbell Set": ("dumbbells", "weights", "dumbbell"),
    "Pet Bed": ("dog bed", "cat bed"),
    "Electric Toothbrush": ("toothbrush",),
    "Fleece Jacket": ("jacket", "fleece"),
    "Cycling Helmet": ("helmet", "bike helmet"),
    "LED Light Bulb": ("bulb", "bulbs", "light bulb", "lightbulb"),
    "Indoor Security Camera": ("security camera", "security cam", "webcam"),
    "Mechanical Keyboard": ("keyboard", "keybord"),
    "Gaming Mouse": ("mouse",),
    "Bluetooth Speaker": ("speaker",),
    "Office Chair": ("chair", "desk chair"),
    "Water Bottle": ("bottle",),
    "Yoga Mat": ("mat",),
    "Patio Umbrella": ("umbrella",),
    "Smart Thermostat": ("thermostat",),
    "Wall Clock": ("clock",),
    "Garden Hose": ("hose",),
}
_GENERIC = {
    "smart",
    "electric",
    "wireless",
    "portable",
    "digital",
    "indoor",
    "set",
    "led",
    "light",
    "water",
    "air",
    "running",
    "office",
    "gaming",
    "mechanical",
    "action",
    "security",
    "tea",
    "coffee",
    "patio",
    "wall",
    "garden",
    "pet",
    "yoga",
    "fleece",
    "cycling",
    "hiking",
    "bluetooth",
    "jigsaw",
    "makeup",
}
_SIZE_WORDS = {
    "small": "S",
    "medium": "M",
    "large": "L",
    "extra large": "XL",
    "x large": "XL",
    "xl": "XL",
    "xxl": "XXL",
    "extra small": "XS",
    "xs": "XS",
    "2xl": "XXL",
    "double xl": "XXL",
}


def normalise(text: str) -> str:
    t = text.lower().replace("’", "'")
    t = re.sub(r"(\d)\s+(ml|gb|tb|l|mm|ft|mah|mp|x|bar|k|p)\b", r"\1\2", t)
    t = re.sub(r"(\d)\s*(inches|inch|in\b|\")", r"\1 inch", t)
    t = re.sub(r"[^a-z0-9%.+ ]", " ", t.replace("-", " "))
    return re.sub(r"\s+", " ", t).strip()


def _tokens(text: str) -> list[str]:
    return normalise(text).split()


def _singular(w: str) -> str:
    return w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w


def _token_hit(word: str, tokens: Sequence[str]) -> bool:
    w = _singular(word)
    for tok in tokens:
        t = _singular(tok)
        if t == w or (len(w) >= 5 and len(t) >= 5 and fuzz.ratio(t, w) >= 80):
            return True
    return False


def _phrase_in(phrase: str, text_norm: str, tokens: Sequence[str]) -> bool:
    p = normalise(phrase)
    if not p:
        return False
    if re.search(rf"(?<![a-z0-9]){re.escape(p)}(?![a-z0-9])", text_norm):
        return True
    words = p.split()
    return (
        len(words) > 1 and all(_token_hit(w, tokens) for w in words)
        if len(words) > 1
        else (len(p) >= 5 and _token_hit(p, tokens))
    )


def product_score(name: str, text: str) -> float:
    """How strongly `text` refers to the product called `name` (0 = not at all)."""
    text_norm = normalise(text)
    tokens = text_norm.split()
    score = 0.0
    if _phrase_in(name, text_norm, tokens):
        score = 3.0
    else:
        words = [w for w in normalise(name).split() if w not in _GENERIC]
        hits = sum(_token_hit(w, tokens) for w in words)
        if words and hits:
            score = 2.0 * hits / len(words)
    for syn in SYNONYMS.get(name, ()):
        if _phrase_in(syn, text_norm, tokens):
            score = max(score, 1.5 + 0.1 * len(syn.split()))
    return score


def match_products(text: str, names: Iterable[str]) -> list[str]:
    """Product names the text refers to, best first (ties all kept)."""
    scored = [(product_score(n, text), n) for n in names]
    scored = [(s, n) for s, n in scored if s > 0]
    if not scored:
        return []
    best = max(s for s, _ in scored)
    return [n for s, n in sorted(scored, key=lambda x: -x[0]) if s >= best - 1e-9]


@dataclass(frozen=True)
class OptionMention:
    """The customer named `value` for one of `keys` (several keys when the value is ambiguous, e.g. 'black')."""

    keys: tuple[str, ...]
    value: str


def _value_mentioned(key: str, value: str, text: str, text_norm: str, tokens: Sequence[str]) -> bool:
    v = normalise(value)
    k = normalise(key)
    if v in ("yes", "no"):
        key_hit = _phrase_in(k, text_norm, tokens) or (
            k == "water resistance" and re.search(r"water ?(proof|resistant)", text_norm) is not None
        )
        if not key_hit:
            return False
        negated = re.search(rf"\b(not|non|no|without)\s+{re.escape(k.split()[0])}", text_norm) is not None
        return (v == "no") == negated
    if v == "none":
        return re.search(rf"\b(no|without|none)\s+(\w+\s+)?{re.escape(k.split()[0])}", text_norm) is not None
    if re.fullmatch(r"\d+(\.\d+)?", v):  # bare numbers: 'size 10', '500 piece(s)', 'pieces: 500'
        key_word = re.escape(_singular(k.split()[-1]))
        return (
            re.search(rf"\b(size|sz|{re.escape(k)}|{key_word}s?)\s*:?\s*{re.escape(v)}\b", text_norm)
            is not None
            or re.search(rf"\b{re.escape(v)}\s*{key_word}s?\b", text_norm) is not None
        )
    if re.fullmatch(r"x{0,2}[sml]|xl|xxl|xs", v):  # letter sizes
        # 'size s', 'sz: m'; not the plural of 'size' ("what sizes does it come in?" names none)
        if re.search(rf"\b(size|sz)(\s+|\s*:\s*){re.escape(v)}\b", text_norm) or re.search(
            rf"\b{value}\b", text
        ):
            return True
        return any(
            _SIZE_WORDS.get(w) == value.upper() and re.search(rf"\b{w}\b", text_norm) for w in _SIZE_WORDS
        )
    return _phrase_in(value, text_norm, tokens)


_REJECTED = re.compile(
    r"\b(instead of|rather than|not|from|than|no longer)\s+(the |my |a |an |in )?([\w%.-]+( [\w%.-]+)?)", re.I
)


# Words of multi-word option values that say nothing on their own ("full size", "CF card", "10 hours").
_PLAIN_WORDS = frozenset(
    [
        "full",
        "size",
        "card",
        "brand",
        "hours",
        "inch",
        "inches",
        "degrees",
        "piece",
        "mode",
        "type",
        "equivalent",
        "operation",
        "removal",
        "filter",
        "with",
        "none",
        "cover",
        "back",
    ]
)


def _distinctive_mentions(
    values: dict[str, set[str]], keys_hit: set[str], tokens: Sequence[str]
) -> list[OptionMention]:
    """'An e-reader with cellular' names "Wi-Fi + Cellular", 'the one with the grinder' "built-in grinder":
    a word of a multi-word value that no other value of the same option has, for options not named in full."""
    by_key: dict[str, list[str]] = {}
    for value, keys in values.items():
        for key in keys:
            by_key.setdefault(key, []).append(value)
    said = {_singular(t) for t in tokens}
    out: list[OptionMention] = []
    for key, vals in by_key.items():
        if key in keys_hit:
            continue
        words = {v: {_singular(w) for w in normalise(v).split()} for v in vals}
        hits = []
        for v in vals:
            if len(words[v]) < 2:
                continue
            others = set().union(*(words[o] for o in vals if o != v))
            own = {w for w in words[v] - others if len(w) >= 4 and w.isalpha() and w not in _PLAIN_WORDS}
            if own & said:
                hits.append(v)
        if len(hits) == 1:
            out.append(OptionMention((key,), hits[0]))
    return out


def option_mentions(text: str, variants: Iterable[dict[str, Any]]) -> list[OptionMention]:
    """Option values of this product that the text names ('in silver instead of black' names silver only)."""
    text = _REJECTED.sub(" ", text)
    text_norm = normalise(text)
    tokens = text_norm.split()
    values: dict[str, set[str]] = {}
    for v in variants:
        for key, value in v["options"].items():
            values.setdefault(str(value), set()).add(key)
    found = []
    for value, keys in values.items():
        hit_keys = tuple(sorted(k for k in keys if _value_mentioned(k, value, text, text_norm, tokens)))
        if hit_keys:
            found.append(OptionMention(hit_keys, value))
    found.extend(_distinctive_mentions(values, {k for m in found for k in m.keys}, tokens))
    # "space grey" also contains "grey": keep the longest value when one contains another
    return [
        m
        for m in found
        if not any(
            m is not o and normalise(m.value) in normalise(o.value) and len(o.value) > len(m.value)
            for o in found
        )
    ]


@dataclass(frozen=True)
class VariantChoice:
    """The outcome of choosing a new variant."""

    item_id: str | None
    """The chosen available variant, when exactly one fits best."""
    candidates: tuple[str, ...] = ()
    """Several equally good variants: ask the customer to pick."""
    unavailable: bool = False
    """Variants with these options exist but none is available."""
    unavailable_ids: tuple[str, ...] = ()
    """Those variants (for suggesting alternatives)."""


def choose_variant(
    current_options: dict[str, Any],
    current_item_id: str,
    variants: dict[str, dict[str, Any]],
    mentions: Sequence[OptionMention],
) -> VariantChoice:
    """The available variant with every mentioned option that keeps most of the customer's other options."""

    def fits(v: dict[str, Any]) -> bool:
        for m in mentions:
            keys = m.keys
            if len(keys) > 1:  # ambiguous: prefer keys whose value changes
                changing = [k for k in keys if str(current_options.get(k)) != m.value]
                keys = tuple(changing) or keys
            if not any(str(v["options"].get(k)) == m.value for k in keys):
                return False
        return True

    matching = [v for v in variants.values() if v["item_id"] != current_item_id and fits(v)]
    available = [v for v in matching if v["available"]]
    if not available:
        return VariantChoice(
            None, unavailable=bool(matching), unavailable_ids=tuple(v["item_id"] for v in matching)
        )

    def kept(v: dict[str, Any]) -> int:
        return sum(str(v["options"].get(k)) == str(x) for k, x in current_options.items())

    best = max(kept(v) for v in available)
    top = [v["item_id"] for v in available if kept(v) == best]
    return VariantChoice(top[0]) if len(top) == 1 else VariantChoice(None, candidates=tuple(top))


def match_items(text: str, items: Sequence[dict[str, Any]]) -> list[int]:
    """Indexes of the order's items the text refers to ('the keyboard and the earbuds', 'the blue shirt')."""
    names = sorted({i["name"] for i in items})
    products = [n for n in names if product_score(n, text) >= 1.0]
    if not products:
        return []
    picked = [n for n, i in enumerate(items) if i["name"] in products]
    text_norm, tokens = normalise(text), _tokens(text)
    for name in products:  # two of the same kind: do the options tell them apart?
        same = [n for n in picked if items[n]["name"] == name]
        if len(same) < 2:
            continue
        by_options = [
            n
            for n in same
            if any(
                _value_mentioned(k, str(v), text, text_norm, tokens) for k, v in items[n]["options"].items()
            )
        ]
        if by_options and len(by_options) < len(same):
            picked = [n for n in picked if n not in same or n in by_options]
    return picked
