"""Fixtures for kefu.recsys tests: a small synthetic shop and, where the binary exists, a real
redis-server on a free loopback port."""

from __future__ import annotations

import numpy as np
import pytest

from kefu.recsys import AlsParams, CatalogItem, Event, EventKind, RecommenderConfig

DAY = 86_400.0
T0 = 1_700_000_000.0
GROUPS = ("garden", "kitchen", "office")


def shop_events(n_users: int = 90, seed: int = 0) -> list[Event]:
    """Three taste groups of customers, ten items per group, plus:

    - ``coffee``: bought by everyone, repeatedly by most (a rebuy item);
    - ``sofa``: bought once by a third of the customers, never twice (not a rebuy item).
    """
    rng = np.random.default_rng(seed)
    events: list[Event] = []
    for u in range(n_users):
        user = f"u{u}"
        group = GROUPS[u % 3]
        for _ in range(6):
            item = f"{group}-{int(rng.integers(0, 10))}"
            events.append(Event(user, item, EventKind.PURCHASE, T0 + float(rng.integers(0, 60)) * DAY))
        events.append(Event(user, "coffee", EventKind.PURCHASE, T0 + 1 * DAY))
        if u % 4:
            events.append(Event(user, "coffee", EventKind.PURCHASE, T0 + 30 * DAY))
        if u % 3 == 0:
            events.append(Event(user, "sofa", EventKind.PURCHASE, T0 + 10 * DAY))
    return events


def shop_catalog() -> list[CatalogItem]:
    items = [
        CatalogItem(f"{g}-{i}", category=g, name=f"{g.title()} thing {i}") for g in GROUPS for i in range(10)
    ]
    return [
        *items,
        CatalogItem("coffee", category="food", name="Coffee beans"),
        CatalogItem("sofa", category="furniture", name="Sofa"),
    ]


def small_config(**als: object) -> RecommenderConfig:
    params = {"factors": 8, "regularization": 0.1, "alpha": 5.0, "iterations": 10, "num_threads": 1, **als}
    return RecommenderConfig(als=AlsParams(**params))  # type: ignore[arg-type]


@pytest.fixture
def events() -> list[Event]:
    return shop_events()


@pytest.fixture
def catalog() -> list[CatalogItem]:
    return shop_catalog()


@pytest.fixture
def config() -> RecommenderConfig:
    return small_config()


@pytest.fixture
def make_config():  # type: ignore[no-untyped-def]
    """``small_config`` as a fixture (importlib mode: tests cannot import conftest)."""
    return small_config


@pytest.fixture
def make_events():  # type: ignore[no-untyped-def]
    return shop_events


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """The throwaway redis-server of tests/conftest.py (skips when redis-py or the binary is missing)."""
    return redis_server_url
