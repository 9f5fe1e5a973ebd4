"""The `recommend_products` tool: personal suggestions, alternatives to an unavailable item, and
"similar to", over kefu's recommender (implicit ALS) trained on the shop's own orders.

The shop's catalogue is small and its orders have no dates, so the model works at product level
(people buy "a water bottle", then choose options): it is fitted lazily on first use from the order
history, learns from new events in real time (`observe`), and never suggests products with no
available variant.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any, Literal

from langchain.tools import ToolRuntime, tool

from kefu.event_log import EventLog
from kefu.tools.orders.describe import money, options_text
from kefu.tools.orders.store import OrderStore, ShopError


class ShopRecommender:
    """A live recommender over one shop: fitted on first use from the order history and the event
    table, then kept current from the event table (`sync`), whichever process wrote the events."""

    def __init__(
        self,
        store: OrderStore,
        events: EventLog,
        *,
        exclude_categories: Iterable[str] = (),
        redis_url: str | None = None,
    ) -> None:
        self.store = store
        self.events = events
        self.redis_url = redis_url
        self._stream: Any = None
        self.exclude_categories = tuple(exclude_categories)
        self._live: Any = None
        self._consumer: Any = None
        self._lock = threading.Lock()

    def _model(self) -> Any:
        with self._lock:
            if self._live is None:
                from kefu.recsys import (
                    EventConsumer,
                    LiveRecommender,
                    load_tau_bench_orders,
                    tau_bench_catalog,
                )
                from kefu.recsys.sql_events import SqlEventSource

                snapshot = self.store.snapshot()
                products = {
                    pid: self.store.product_details(pid) for pid in self.store.product_types().values()
                }
                sql = SqlEventSource(self.events)
                history = [
                    *load_tau_bench_orders(snapshot["orders"].values(), level="product"),
                    *sql.history(),
                ]
                source: Any = sql
                if self.redis_url:
                    import os
                    import socket

                    from kefu.recsys import RedisStreamEventSource

                    # a group per replica: each recommender must see every event ("$": only new ones)
                    group = f"kefu-recsys-{socket.gethostname()}-{os.getpid()}-{id(self)}"
                    source = self._stream = RedisStreamEventSource.from_url(
                        self.redis_url, group=group, start_id="$"
                    )
                live = LiveRecommender(history=history, catalog=tau_bench_catalog(products, level="product"))
                live.fit()
                # never block: a sync is part of a turn (for Redis, BLOCK 0 would mean "wait forever")
                self._consumer = EventConsumer(source, live, block_ms=None)  # type: ignore[arg-type]
                self._live = live
            return self._live

    def publish(self, rows: list[dict[str, Any]]) -> None:
        """Send this turn's interaction events to the Redis stream, when events go through Redis."""
        if not self.redis_url:
            return
        self._model()
        learned = [
            {
                "user_id": r["customer_id"],
                "item_id": r["item_id"],
                "kind": r["kind"],
                "weight": r.get("weight", 1.0),
            }
            for r in rows
            if r.get("customer_id")
            and r.get("item_id")
            and r["kind"] in ("purchase", "return", "view", "click")
        ]
        if learned:
            self._stream.publish(learned)

    def sync(self) -> int:
        """Fold in events appended since the last sync (by any process); the next suggestion reflects them."""
        if self._consumer is None:
            return 0
        applied = 0
        while (n := self._consumer.poll_once()) > 0:
            applied += n
        return applied

    def refit_in_background(self) -> Any:
        """A full refit from the whole history, swapped in atomically when done."""
        return self._model().refit_in_background()

    def personal(
        self, customer_id: str | None, n: int, max_price: float | None = None
    ) -> list[dict[str, Any]]:
        """Products for this customer (trending ones for a guest), at most `max_price` where given: the
        cheapest available option must fit, and the model's ranking is kept."""
        live = self._model()
        found = live.recommend(
            customer_id or "",
            n if max_price is None else self._catalogue_size(),
            kind="discover",
            exclude_categories=self.exclude_categories,
        )
        return self._within(found, n, max_price)

    def similar(self, product_id: str, n: int, max_price: float | None = None) -> list[dict[str, Any]]:
        live = self._model()
        found = live.similar_items(
            product_id,
            n if max_price is None else self._catalogue_size(),
            exclude_categories=self.exclude_categories,
        )
        return self._within(found, n, max_price)

    def _catalogue_size(self) -> int:
        """Candidates to rank before a price filter: every product (asking the model for more than it
        has makes implicit divide its padding scores)."""
        return max(1, len(self.store.product_types()))

    def _within(self, found: list[Any], n: int, max_price: float | None) -> list[dict[str, Any]]:
        """The first `n` suggestions, in the model's order, whose cheapest available option fits the
        budget; product details are read only until `n` fit."""
        out: list[dict[str, Any]] = []
        for s in found:
            if len(out) == n:
                break
            entry = self._entry(s.item_id, s.reason)
            if max_price is None or (entry["price_from"] is not None and entry["price_from"] <= max_price):
                out.append(entry)
        return out

    def alternatives(
        self, item_id: str, product_id: str, n: int, max_price: float | None = None
    ) -> list[dict[str, Any]]:
        """Available variants of the same product, closest to the wanted one first."""
        product = self.store.product_details(product_id)
        wanted = product["variants"].get(item_id, {}).get("options", {})
        ranked = sorted(
            (
                v
                for v in product["variants"].values()
                if v["available"]
                and v["item_id"] != item_id
                and (max_price is None or v["price"] <= max_price)
            ),
            key=lambda v: -sum(str(v["options"].get(k)) == str(x) for k, x in wanted.items()),
        )
        return [
            {
                "product_id": product_id,
                "item_id": v["item_id"],
                "name": product["name"],
                "options": options_text(v["options"]),
                "price": v["price"],
                "reason": _ALTERNATIVE_REASON.format(name=product["name"]),
            }
            for v in ranked[:n]
        ]

    def _entry(self, product_id: str, reason: str) -> dict[str, Any]:
        product = self.store.product_details(product_id)
        prices = [v["price"] for v in product["variants"].values() if v["available"]]
        return {
            "product_id": product_id,
            "name": product["name"],
            "reason": reason,
            "price_from": min(prices) if prices else None,
        }


_ALTERNATIVE_REASON = "Available now, close to the {name} you asked for"


@tool
def recommend_products(
    runtime: ToolRuntime[Any, Any],
    kind: Literal["personal", "alternatives", "similar"] = "personal",
    product_id: str | None = None,
    item_id: str | None = None,
    n: int = 3,
    max_price: float | None = None,
) -> str:
    """Suggest products: 'personal' for the customer (from what they and similar customers bought),
    'alternatives' to an unavailable item (give item_id and its product_id), or 'similar' to a product
    (give product_id). Only suggest when it helps the customer; never during a complaint.

    Args:
        kind: personal, alternatives or similar.
        product_id: The product id, for alternatives and similar.
        item_id: The unavailable item id, for alternatives.
        n: How many suggestions (1 to 5).
        max_price: Only products whose price starts at or below this amount (the customer's budget).
    """
    recommender: ShopRecommender | None = runtime.context.extras.get("recommender")
    if recommender is None:
        return "Error: recommendations are not enabled in this shop"
    n = max(1, min(int(n), 5))
    if max_price is not None and not (isinstance(max_price, int | float) and 0 < max_price < 1e9):
        return "Error: max_price must be a positive amount"
    try:
        if kind == "alternatives":
            if not item_id or not product_id:
                return "Error: alternatives need item_id and product_id"
            found = recommender.alternatives(item_id, product_id, n, max_price)
        elif kind == "similar":
            if not product_id:
                return "Error: similar needs product_id"
            found = recommender.similar(product_id, n, max_price)
        else:
            found = recommender.personal(runtime.state.get("customer_id"), n, max_price)
    except ShopError as e:
        return f"Error: {e}"
    out: dict[str, Any] = {"recommendations": found, "kind": kind}
    if max_price is not None:
        out["max_price"] = max_price
    return json.dumps(out)


def suggestion_line(entry: dict[str, Any]) -> str:
    if "options" in entry:
        return f"{entry['name']} ({entry['options']}) – {money(entry['price'])}"
    price = f", from {money(entry['price_from'])}" if entry.get("price_from") is not None else ""
    return f"{entry['name']}{price} – {entry['reason'].rstrip('.')}"


def phrasings() -> list[str]:
    """kefu's own wording in this tool's results, as patterns whose named groups are the data (product names):
    the safety layer's tool-output check scores only those slots (`SafetyMiddleware.phrasings_for`). A
    function, so that reading it loads the recommender package only when the tool is used."""
    from kefu.recsys.suggestions import EXPLANATION_PATTERNS

    return [*EXPLANATION_PATTERNS, _ALTERNATIVE_REASON.replace("{name}", "(?P<names>.+)")]


recommend_products.metadata = {"kefu_phrasings": phrasings}
