"""recsys: how well the recommender finds what customers bought next, against plain popularity.

Untuned, default `RecommenderConfig()`, only the library's public API, one fixed seed:

- demo shop (always): τ-bench retail orders at product level (as the agent recommends); customers
  with at least 3 distinct products keep one, chosen at random (seed 42), out of training; the
  discover list (owned products filtered) must find it.
- MovieLens latest-small (ratings ≥ 4) with a seeded 20 % per-customer holdout, and UCI Online Retail
  with purchases from 2011-11-09 on as the test (only items new to the customer count), when
  ../shared/datasets is there.

Metrics: precision@k for k = 1..10, recall@10 and NDCG@10, for kefu and for popularity. The tuned
benchmark with its reference numbers is `python -m kefu.recsys eval` (docs/benchmarks_recsys.md).

Options (`options: {recsys: {...}}`): `datasets` (default [demo, movielens, online_retail]).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

from kefu.evals.suite import EvalContext, Figure, Skip, Suite, SuiteReport, Table

if TYPE_CHECKING:
    from kefu.recsys import EventTable

Loaded = tuple["EventTable", dict[str, set[str]], str]
"""Training events, held-out positives per customer, and a sentence saying how they were made."""

K = 10
UCI_TEST_FROM = "2011-11-09"


def holdout(
    table: EventTable, fraction: float, seed: int, min_items: int, *, leave_one: bool = False
) -> tuple[EventTable, dict[str, set[str]]]:
    """Hold out a seeded share of each customer's distinct items (or exactly one); (train, positives)."""
    pairs = sorted(set(zip(table.users.tolist(), table.items.tolist(), strict=True)))
    by_user: dict[str, list[str]] = {}
    for user, item in pairs:
        by_user.setdefault(user, []).append(item)
    rng = np.random.RandomState(seed)
    positives: dict[str, set[str]] = {}
    for user in sorted(by_user):
        items = by_user[user]
        if len(items) < min_items:
            continue
        count = 1 if leave_one else max(1, int(round(fraction * len(items))))
        positives[user] = {items[i] for i in rng.permutation(len(items))[:count]}
    held = np.array(
        [item in positives.get(user, ()) for user, item in zip(table.users, table.items, strict=True)],
        dtype=bool,
    )
    return table.select(~held), positives


def _top_lists(
    train: EventTable, positives: Mapping[str, set[str]], ctx: EvalContext, label: str
) -> tuple[dict[str, list[str]], dict[str, list[str]], int]:
    """Top-K discover lists for each evaluated customer: kefu's and popularity's (owned items filtered)."""
    from kefu.recsys import Recommender

    model = Recommender().fit(train)
    owned: dict[str, set[str]] = {}
    for user, item in zip(train.users.tolist(), train.items.tolist(), strict=True):
        owned.setdefault(user, set()).add(item)
    popular = [item for item, _ in Counter(train.items.tolist()).most_common()]
    ours, baseline = {}, {}
    users = [u for u in positives if u in owned]
    with ctx.progress(f"recsys: {label}", len(users)) as bar:
        for user in users:
            ours[user] = [s.item_id for s in model.recommend(user, K, kind="discover", explain=False)]
            mine = owned[user]
            baseline[user] = [i for i in popular[: K + len(mine)] if i not in mine][:K]
            bar.advance()
    return ours, baseline, len(model.items)


class RecsysSuite(Suite):
    name = "recsys"
    description = (
        "Recommender quality (precision@k, recall, NDCG) on the demo shop, MovieLens and UCI retail."
    )

    def run(self, ctx: EvalContext) -> SuiteReport:
        from kefu.recsys import ranking_metrics

        report = self.report()
        wanted = ctx.options(self.name).get("datasets", ["demo", "movielens", "online_retail"])
        loaders: dict[str, tuple[str, Callable[[EvalContext], Loaded]]] = {
            "demo": ("demo shop", _demo),
            "movielens": ("MovieLens", _movielens),
            "online_retail": ("UCI Online Retail", _online_retail),
        }
        rows = []
        for key in wanted:
            if key not in loaders:
                report.notes.append(f"{key}: unknown data set (known: {', '.join(loaders)})")
                continue
            label, load = loaders[key]
            try:
                train, positives, protocol = load(ctx)
            except Skip as e:
                report.notes.append(f"{label}: skipped — {e}")
                continue
            ours, baseline, catalogue = _top_lists(train, positives, ctx, label)
            curves = {}
            for method, lists in (("kefu", ours), ("popularity", baseline)):
                at = {
                    k: ranking_metrics(lists, positives, k, catalogue_size=catalogue) for k in range(1, K + 1)
                }
                curves[method] = [round(at[k].precision, 4) for k in range(1, K + 1)]
                m = at[K]
                rows.append(
                    [
                        label,
                        method,
                        round(at[1].precision, 4),
                        round(at[5].precision, 4),
                        round(m.precision, 4),
                        round(m.recall, 4),
                        round(m.ndcg, 4),
                        round(m.coverage, 3),
                        m.users,
                    ]  # fmt: skip
                )
                if method == "kefu":
                    first = not any(x.headline for x in report.metrics.values())
                    report.metric(f"{key}_ndcg@10", m.ndcg, headline=first)
                    report.metric(f"{key}_precision@5", at[5].precision)
                    report.metric(f"{key}_recall@10", m.recall)
                else:
                    report.metric(f"{key}_popularity_ndcg@10", m.ndcg, better=None)
            report.figures.append(
                Figure(
                    "lines",
                    f"{label}: precision@k",
                    {"x": list(range(1, K + 1)), "series": curves, "x_label": "k", "y_label": "precision"},
                )
            )
            report.notes.append(f"{label}: {protocol}")
        if not rows:
            raise Skip("no data set could be evaluated: " + " ".join(report.notes))
        report.tables.append(
            Table(
                "Ranking quality (discover lists, owned items filtered)",
                ["data", "method", "P@1", "P@5", "P@10", "R@10", "NDCG@10", "coverage", "customers"],
                rows,
            )
        )
        return report


def _demo(ctx: EvalContext) -> Loaded:
    from kefu.recsys import EventKind, EventTable, load_tau_bench_orders

    with resources.as_file(resources.files("kefu.demo").joinpath("shop.json.gz")) as path:
        events = load_tau_bench_orders(path, level="product")
    table = EventTable.from_events(e for e in events if e.kind == EventKind.PURCHASE)
    train, positives = holdout(table, 0.0, seed=42, min_items=3, leave_one=True)
    protocol = (
        f"{len(table)} purchase lines of {len(set(table.users.tolist()))} customers at product level; "
        f"one product held out for each of {len(positives)} customers with ≥ 3 products (seed 42)."
    )
    return train, positives, protocol


def _movielens(ctx: EvalContext) -> Loaded:
    from kefu.recsys import load_movielens

    table = load_movielens(ctx.dataset("movielens_latest_small") / "ratings.csv")
    table = table.select(table.values >= 4.0)
    train, positives = holdout(table, 0.2, seed=42, min_items=5)
    protocol = (
        f"{len(table)} ratings ≥ 4; a seeded 20 % of each customer's movies held out "
        f"({len(positives)} customers with ≥ 5); GroupLens licence: evaluation only."
    )
    return train, positives, protocol


def _online_retail(ctx: EvalContext) -> Loaded:
    from datetime import UTC, datetime

    from kefu.recsys import load_online_retail

    table = load_online_retail(ctx.dataset("ecommerce_online_retail_uci") / "online_retail.csv.gz")
    cutoff = datetime.fromisoformat(UCI_TEST_FROM).replace(tzinfo=UTC).timestamp()
    before = table.timestamps < cutoff
    train = table.select(before)
    owned: dict[str, set[str]] = {}
    for user, item in zip(train.users.tolist(), train.items.tolist(), strict=True):
        owned.setdefault(user, set()).add(item)
    positives: dict[str, set[str]] = {}
    for user, item in zip(table.users[~before].tolist(), table.items[~before].tolist(), strict=True):
        if user in owned and item not in owned[user]:
            positives.setdefault(user, set()).add(item)
    protocol = (
        f"{len(table)} purchase lines; train before {UCI_TEST_FROM}, test after; only items new to the "
        f"customer count ({len(positives)} customers)."
    )
    return train, positives, protocol
