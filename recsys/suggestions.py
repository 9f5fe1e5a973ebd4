"""What the recommender hands back: suggestions with a reason a customer can read.

A suggestion without a reason is hard for an assistant to present honestly ("why are you showing
me this?"), so every suggestion carries one, built from what produced it: the customer's own
repeat purchases, the items that drive the collaborative score (implicit's explanation), or
plain popularity for customers we know nothing about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SuggestionSource = Literal["buy_again", "personal", "similar", "trending", "popular"]
ListKind = Literal["discover", "buy_again", "blend"]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One recommended item."""

    item_id: str
    score: float
    """Ranking score within this list (comparable only within one call)."""
    source: SuggestionSource
    """Which signal put it here."""
    reason: str
    """A short sentence for the customer, e.g. "Because you bought Water Bottle"."""
    because_of: tuple[str, ...] = ()
    """Item ids the reason refers to (the customer's own items)."""


EXPLANATION_PATTERNS: tuple[str, ...] = (
    r"Because you (?:bought|looked at) (?P<names>.+)",
    r"You bought this before",
    r"Picked for you from customers with similar purchases",
    r"You have bought this (?:once|[\d.]+ times); \d+% of its buyers buy it again",
    r"Often bought by customers who bought (?P<names>.+)",
    r"No history for this customer yet; suggested for its popularity",
    r"Trending in the shop right now",
    r"Popular with our customers",
)
"""Every form of `Suggestion.reason` this package writes, as regular expressions whose named groups are the
data slots (product names). A safety check of tool output can trust the wording and check only the slots:
an injection classifier that never saw these sentences may take "Trending in the shop right now" for an
instruction."""


@dataclass(frozen=True, slots=True)
class RecommendationLists:
    """The two lists an assistant shows: things to buy again, things to discover."""

    user_id: str
    buy_again: list[Suggestion] = field(default_factory=list)
    discover: list[Suggestion] = field(default_factory=list)
    cold_start: bool = False
    """True when the customer has no history: *discover* is popularity/trending."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why the model scores ``item_id`` for ``user_id`` as it does."""

    user_id: str
    item_id: str
    score: float
    """The model's score for the pair (implicit's explain total)."""
    contributions: tuple[tuple[str, float], ...]
    """The customer's items that contribute most, with their share of the score, largest first."""
    text: str
