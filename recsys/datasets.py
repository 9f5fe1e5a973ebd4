"""Loaders that turn known shop data into events.

- the τ-bench retail demo shop (orders with items), which the agent serves: its orders become
  purchase events (cancelled orders dropped, returns as return events), its products a catalogue;
- UCI Online Retail and MovieLens latest-small, the two public datasets the benchmark runs on.

Every loader returns events (an ``EventTable`` for the big ones), never a database handle: the
recommender is fed plain rows, whatever stores them.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from kefu.recsys.catalog import CatalogItem
from kefu.recsys.events import KIND_CODES, Event, EventKind, EventTable

PathLike = str | os.PathLike[str]
ItemLevel = Literal["item", "product"]

_RETURN_STATUSES = {"return requested", "returned"}
_SKIPPED_STATUSES = {"cancelled", "canceled"}


def _read_json(path: PathLike) -> Any:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def _orders_of(
    orders: PathLike | Mapping[str, Any] | Iterable[Mapping[str, Any]],
) -> Iterator[Mapping[str, Any]]:
    loaded: Any = _read_json(orders) if isinstance(orders, str | os.PathLike) else orders
    if isinstance(loaded, Mapping):
        # A whole shop ({"orders": {...}, "products": ...}) or orders keyed by id.
        inner = loaded.get("orders", loaded)
        yield from inner.values() if isinstance(inner, Mapping) else inner
    else:
        yield from loaded


def load_tau_bench_orders(
    orders: PathLike | Mapping[str, Any] | Iterable[Mapping[str, Any]],
    *,
    level: ItemLevel = "item",
) -> list[Event]:
    """Purchase events from τ-bench-shaped orders (``orders.json``, the demo ``shop.json.gz``, or
    the parsed orders themselves).

    One event per order line; ``level="product"`` recommends products instead of variants.
    Cancelled orders are skipped; lines of returned orders add a return event after the purchase.
    The orders carry no times, so each order gets a synthetic increasing timestamp in file order
    (recency signals then follow file order; buy-again counts each order as one occasion).
    """
    events: list[Event] = []
    for position, order in enumerate(_orders_of(orders)):
        status = str(order.get("status", "")).lower()
        if status in _SKIPPED_STATUSES:
            continue
        user = str(order["user_id"])
        timestamp = float(order.get("timestamp", position * 3600.0))
        returned = {str(i) for i in order.get("return_items", [])} if status in _RETURN_STATUSES else set()
        for line in order.get("items", []):
            key = str(line["product_id"] if level == "product" else line["item_id"])
            events.append(Event(user, key, EventKind.PURCHASE, timestamp))
            if status in _RETURN_STATUSES and (not returned or str(line["item_id"]) in returned):
                events.append(Event(user, key, EventKind.RETURN, timestamp + 1.0))
    return events


def tau_bench_catalog(
    products: PathLike | Mapping[str, Any], *, level: ItemLevel = "item"
) -> list[CatalogItem]:
    """Catalogue entries from τ-bench products (category = product name, e.g. "Water Bottle")."""
    data = _read_json(products) if isinstance(products, str | os.PathLike) else products
    if "products" in data:
        data = data["products"]
    out: list[CatalogItem] = []
    for product in data.values():
        name = str(product.get("name", product["product_id"]))
        variants = product.get("variants", {})
        if level == "product":
            available = any(v.get("available", True) for v in variants.values()) if variants else True
            out.append(CatalogItem(str(product["product_id"]), category=name, name=name, available=available))
            continue
        for variant in variants.values():
            options = ", ".join(str(v) for v in variant.get("options", {}).values())
            out.append(
                CatalogItem(
                    str(variant["item_id"]),
                    category=name,
                    name=f"{name} ({options})" if options else name,
                    available=bool(variant.get("available", True)),
                )
            )
    return out


def load_online_retail(path: PathLike) -> EventTable:
    """UCI Online Retail purchase lines as events (one per line, weight 1).

    Rows without CustomerID, cancellation invoices (``C`` prefix) and non-positive quantities are
    dropped: what remains are 397,924 purchase lines of 4,339 customers (SOURCE.md).
    Returns the table plus nothing else; descriptions are in ``online_retail_catalog``.
    """
    users: list[str] = []
    items: list[str] = []
    times: list[str] = []
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if not row["CustomerID"] or row["InvoiceNo"].startswith("C") or int(row["Quantity"]) <= 0:
                continue
            users.append(row["CustomerID"])
            items.append(row["StockCode"])
            times.append(row["InvoiceDate"])
    stamps = np.array(times, dtype="datetime64[s]").astype(np.int64).astype(np.float64)
    return EventTable(
        np.array(users),
        np.array(items),
        np.full(len(users), KIND_CODES[EventKind.PURCHASE], dtype=np.int8),
        stamps,
    )


def online_retail_catalog(path: PathLike) -> list[CatalogItem]:
    """StockCode -> first description seen (for readable explanations)."""
    names: dict[str, str] = {}
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["Description"] and row["StockCode"] not in names:
                names[row["StockCode"]] = row["Description"].strip().title()
    return [CatalogItem(code, name=name) for code, name in names.items()]


def load_movielens(path: PathLike) -> EventTable:
    """MovieLens ``ratings.csv`` as rating events (value = stars, timestamp = rating time).

    Licence: research use only, no commercial use without GroupLens's permission -- evaluate on it,
    never ship a model trained on it.
    """
    source = Path(path)
    if source.is_dir():
        source = source / "ratings.csv"
    data = np.genfromtxt(source, delimiter=",", skip_header=1, dtype=np.float64)
    return EventTable(
        data[:, 0].astype(np.int64).astype(str),
        data[:, 1].astype(np.int64).astype(str),
        np.full(len(data), KIND_CODES[EventKind.RATING], dtype=np.int8),
        data[:, 3],
        values=data[:, 2].astype(np.float32),
    )


def utc_seconds(text: str) -> float:
    """Unix seconds of an ISO date/datetime (naive means UTC)."""
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
