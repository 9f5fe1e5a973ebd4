"""The offline benchmark behind ``python -m kefu.recsys eval``: quality on two public datasets and
speed against raw implicit, in one run, written to a markdown report.

Quality protocols (k = 10):

- UCI Online Retail: purchase lines with a CustomerID, no cancellations, positive quantity; value =
  purchase lines per customer and StockCode; test = purchases from 2011-11-09 on, train = before;
  customers present in both. *all*: every StockCode bought in the test period is a positive,
  nothing filtered; *new*: only items not bought before count, and those are filtered from lists.
  Tuned on the last 31 days of train (2011-10-09 .. 11-08).
- MovieLens latest-small: ratings >= 4 are positives; per-customer seeded 20 % holdout
  (``RandomState(42)``, customers with >= 5 positives); training items filtered. Tuned on a seeded
  20 % holdout of train (seed 1).

Baselines are computed independently of the library (plain numpy and raw implicit), so a bug in the
library's ranking cannot flatter both sides.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from kefu.recsys._blas import single_threaded_blas
from kefu.recsys.catalog import CatalogItem
from kefu.recsys.config import RecommenderConfig
from kefu.recsys.datasets import load_movielens, load_online_retail, utc_seconds
from kefu.recsys.evaluation import View, evaluate, only_new
from kefu.recsys.events import Event, EventKind, EventTable
from kefu.recsys.interactions import SECONDS_PER_DAY, Interactions, build_matrices
from kefu.recsys.metrics import RankingMetrics, ranking_metrics
from kefu.recsys.recommender import Recommender
from kefu.recsys.splits import Holdout, per_user_holdout, temporal_split
from kefu.recsys.tuning import TuningGrid, TuningResult, tune

UCI_DIR = "ecommerce_online_retail_uci"
MOVIELENS_DIR = "movielens_latest_small"
UCI_TEST_FROM = "2011-11-09"
K = 10
SEED_CHECK = (1, 2)

Say = Callable[[str], None]


@dataclass
class QualityRow:
    dataset: str
    view: str
    method: str
    metrics: RankingMetrics
    reference: float | None = None
    target: float | None = None


@dataclass
class Report:
    rows: list[QualityRow] = field(default_factory=list)
    tuned: dict[str, TuningResult] = field(default_factory=dict)
    speed: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seed_notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


# ---------------------------------------------------------------------- baselines (library-independent)


def _train_matrix(train: EventTable) -> tuple[sp.csr_matrix, Interactions]:
    data = Interactions.from_events(train)
    return build_matrices(data, RecommenderConfig()).confidence, data


def _rank(scores: np.ndarray, blocked: sp.csr_matrix | None, k: int) -> np.ndarray:
    scores = scores.astype(np.float64, copy=True)
    if blocked is not None:
        coo = blocked.tocoo()
        scores[coo.row, coo.col] = -np.inf
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def _baseline_metrics(
    name: str,
    scores: np.ndarray,
    matrix: sp.csr_matrix,
    data: Interactions,
    holdout: Holdout,
    filter_owned: bool,
) -> tuple[str, RankingMetrics]:
    users = [u for u in holdout.positives if u in data.users]
    rows = np.array([data.users.row(u) for u in users])
    full = np.broadcast_to(scores, (len(rows), matrix.shape[1])) if scores.ndim == 1 else scores[rows]
    top = _rank(np.asarray(full), matrix[rows] if filter_owned else None, K)
    items = np.asarray(data.items.ids)
    recommended = {u: items[t].tolist() for u, t in zip(users, top, strict=True)}
    return name, ranking_metrics(recommended, holdout.positives, K, catalogue_size=len(items))


def _untuned_als(matrix: sp.csr_matrix, num_threads: int, seed: int = 0) -> Any:
    from implicit.cpu.als import AlternatingLeastSquares

    with single_threaded_blas():
        model = AlternatingLeastSquares(random_state=seed, num_threads=num_threads)
        model.fit(matrix, show_progress=False)
    return model


def _baseline_seed_note(
    label: str, matrix: sp.csr_matrix, data: Interactions, holdout: Holdout, filtered: bool, threads: int
) -> str:
    values = []
    for seed in SEED_CHECK:
        als = _untuned_als(matrix, threads, seed)
        scores = als.user_factors @ als.item_factors.T
        values.append(_baseline_metrics("", scores, matrix, data, holdout, filtered)[1].ndcg)
    return f"{label}, ALS untuned: NDCG@10 with random_state {SEED_CHECK} = " + ", ".join(
        f"{v:.3f}" for v in values
    )


def _tuned_seed_note(
    label: str, config: RecommenderConfig, train: EventTable, holdout: Holdout, kind: View
) -> str:
    values = [
        evaluate(Recommender(config.with_als(random_state=seed)).fit(train), holdout.positives, kind, K).ndcg
        for seed in SEED_CHECK
    ]
    return f"{label}, tuned config refit: NDCG@10 with random_state {SEED_CHECK} = " + ", ".join(
        f"{v:.3f}" for v in values
    )


# ---------------------------------------------------------------------- datasets


def _uci(datasets: Path, report: Report, grid: TuningGrid, passes: int, threads: int, say: Say) -> EventTable:
    table = load_online_retail(datasets / UCI_DIR / "online_retail.csv.gz")
    cutoff = utc_seconds(UCI_TEST_FROM)
    split_all = temporal_split(table, cutoff)
    split_new = only_new(split_all)
    matrix, data = _train_matrix(split_all.train)
    say(
        f"UCI: {len(table)} purchase lines, train {matrix.shape} nnz={matrix.nnz}, "
        f"test customers all={len(split_all.positives)} new={len(split_new.positives)}"
    )
    popularity = np.asarray(matrix.sum(axis=0)).ravel().astype(np.float64)
    als = _untuned_als(matrix, threads)
    als_scores = als.user_factors @ als.item_factors.T
    again = matrix.toarray() * 1e6 + popularity
    refs = {
        ("all", "popularity"): 0.088,
        ("all", "buy again, then popular"): 0.347,
        ("all", "ALS, untuned (implicit defaults)"): 0.290,
        ("new", "popularity"): 0.032,
        ("new", "ALS, untuned (implicit defaults)"): 0.093,
    }
    for view, split, filtered in (("all", split_all, False), ("new", split_new, True)):
        candidates = [("popularity", popularity), ("ALS, untuned (implicit defaults)", als_scores)]
        if view == "all":
            candidates.insert(1, ("buy again, then popular", again))
        for name, scores in candidates:
            method, metrics = _baseline_metrics(name, scores, matrix, data, split, filtered)
            report.rows.append(QualityRow("UCI Online Retail", view, method, metrics, refs.get((view, name))))
    validation = temporal_split(split_all.train, cutoff - 31 * SECONDS_PER_DAY)
    cache: dict[Any, Any] = {}
    base = RecommenderConfig().with_als(num_threads=threads)
    runs: list[tuple[str, Holdout, View, float, float | None]] = [
        ("all", split_all, "blend", 0.347, None),
        ("new", split_new, "discover", 0.093, 0.093),
    ]
    for view, split, kind, target, ref in runs:
        say(f"UCI {view}: tuning on the last 31 days of train")
        result = tune(
            split_all.train,
            view=kind,
            validation=validation,
            base=base,
            grid=grid,
            passes=passes,
            progress=say,
            model_cache=cache,
        )
        result = TuningResult(
            result.best, result.validation_ndcg, result.trials, "last 31 days of train (2011-10-09 .. 11-08)"
        )
        report.tuned[f"UCI {view}"] = result
        model = Recommender(result.best).fit(split_all.train)
        metrics = evaluate(model, split.positives, kind, K)
        label = "kefu: buy-again + ALS blend, tuned" if kind == "blend" else "kefu: ALS + trending, tuned"
        report.rows.append(QualityRow("UCI Online Retail", view, label, metrics, ref, target))
        report.seed_notes.append(
            _baseline_seed_note(f"UCI {view}", matrix, data, split, view == "new", threads)
        )
        report.seed_notes.append(_tuned_seed_note(f"UCI {view}", result.best, split_all.train, split, kind))
    return split_all.train


def _movielens(datasets: Path, report: Report, grid: TuningGrid, passes: int, threads: int, say: Say) -> None:
    table = load_movielens(datasets / MOVIELENS_DIR / "ratings.csv")
    positives = table.select(table.values >= 4.0)
    split = per_user_holdout(positives, fraction=0.2, seed=42, min_events=5)
    matrix, data = _train_matrix(split.train)
    say(
        f"MovieLens: {len(positives)} positives, train {matrix.shape} nnz={matrix.nnz}, test users={len(split.positives)}"
    )
    popularity = np.asarray(matrix.sum(axis=0)).ravel().astype(np.float64)
    als = _untuned_als(matrix, threads)
    for name, scores, ref in (
        ("popularity", popularity, 0.138),
        ("ALS, untuned (implicit defaults)", als.user_factors @ als.item_factors.T, 0.193),
    ):
        method, metrics = _baseline_metrics(name, scores, matrix, data, split, True)
        report.rows.append(QualityRow("MovieLens latest-small", "new", method, metrics, ref))
    validation = per_user_holdout(split.train, fraction=0.2, seed=1, min_events=5)
    say("MovieLens: tuning on a seeded 20% holdout of train")
    result = tune(
        split.train,
        view="discover",
        validation=validation,
        base=RecommenderConfig().with_als(num_threads=threads),
        grid=grid,
        passes=passes,
        progress=say,
    )
    result = TuningResult(
        result.best, result.validation_ndcg, result.trials, "seeded 20% per-user holdout of train (seed 1)"
    )
    report.tuned["MovieLens"] = result
    model = Recommender(result.best).fit(split.train)
    metrics = evaluate(model, split.positives, "discover", K)
    report.rows.append(
        QualityRow("MovieLens latest-small", "new", "kefu: ALS (+ popularity), tuned", metrics, 0.225, 0.225)
    )
    report.seed_notes.append(_baseline_seed_note("MovieLens", matrix, data, split, True, threads))
    report.seed_notes.append(_tuned_seed_note("MovieLens", result.best, split.train, split, "discover"))


# ---------------------------------------------------------------------- speed


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _speed(train: EventTable, report: Report, threads: int, repeats: int, samples: int, say: Say) -> None:
    """Untuned settings (implicit defaults) on the UCI training matrix, ``threads`` implicit threads."""
    from implicit.cpu.als import AlternatingLeastSquares

    config = RecommenderConfig().with_als(num_threads=threads)
    data = Interactions.from_events(train)
    matrix = build_matrices(data, config).confidence

    def raw_fit() -> Any:
        with single_threaded_blas():
            model = AlternatingLeastSquares(random_state=0, num_threads=threads)
            model.fit(matrix, show_progress=False)
        return model

    say("speed: fit (raw implicit vs kefu, interleaved), median of repeats")
    raw_model = raw_fit()
    Recommender(config).fit(data)  # warm-up
    raw_times, our_times, event_times = [], [], []
    for _ in range(repeats):  # interleaved, so drift in machine load hits both sides alike
        raw_times.append(_median_seconds(raw_fit, 1))
        our_times.append(_median_seconds(lambda: Recommender(config).fit(data), 1))
        event_times.append(_median_seconds(lambda: Recommender(config).fit(train), 1))
    raw, ours, from_events = (statistics.median(t) for t in (raw_times, our_times, event_times))
    report.speed.update(
        fit_raw_s=raw, fit_kefu_s=ours, fit_ratio=ours / raw, fit_kefu_from_events_s=from_events
    )

    rng = np.random.default_rng(0)
    item_ids = list(data.items.ids)
    unavailable = [item_ids[i] for i in rng.choice(len(item_ids), 50, replace=False)]
    catalog = [CatalogItem(code, category=code[:2]) for code in item_ids]
    model = Recommender(config).fit(data, catalog=catalog)
    excluded = ["22"]
    blocked = np.flatnonzero(
        np.isin(np.asarray(item_ids), unavailable) | np.char.startswith(np.asarray(item_ids), "22")
    )
    users = rng.choice(len(data.users), min(samples, len(data.users)), replace=False)
    say("speed: recommend p50 (one customer, 10 items, filters)")

    def per_call(fn: Callable[[int], object]) -> float:
        times = []
        for u in users:
            start = time.perf_counter()
            fn(int(u))
            times.append(time.perf_counter() - start)
        return float(np.percentile(times, 50))

    user_ids = data.users.ids
    report.speed["recommend_p50_ms_kefu"] = 1e3 * per_call(
        lambda u: model.recommend(user_ids[u], 10, unavailable=unavailable, exclude_categories=excluded)
    )
    report.speed["recommend_p50_ms_kefu_no_explain"] = 1e3 * per_call(
        lambda u: model.recommend(
            user_ids[u], 10, unavailable=unavailable, exclude_categories=excluded, explain=False
        )
    )
    report.speed["recommend_p50_ms_raw"] = 1e3 * per_call(
        lambda u: raw_model.recommend(u, matrix[u], N=10, filter_items=blocked)
    )
    say("speed: incremental update p50 (one purchase event)")
    items = rng.integers(0, len(item_ids), len(users))
    now = float(np.nanmax(train.timestamps)) + 60.0
    pairs = dict(zip(users.tolist(), items.tolist(), strict=True))
    report.speed["update_p50_ms_kefu"] = 1e3 * per_call(
        lambda u: model.partial_fit([Event(user_ids[u], item_ids[pairs[u]], EventKind.PURCHASE, now)])
    )

    def raw_update(u: int) -> None:
        row = matrix[u].tolil()
        row[0, pairs[u]] += 1.0
        raw_model.partial_fit_users([u], row.tocsr())

    report.speed["update_p50_ms_raw"] = 1e3 * per_call(raw_update)


# ---------------------------------------------------------------------- run + report


def run(datasets: Path, *, quick: bool = False, threads: int = 1, say: Say = print) -> Report:
    """Everything the report needs; ``quick`` uses a small grid and one pass (a smoke run)."""
    start = time.perf_counter()
    report = Report()
    if quick:
        grid = TuningGrid(
            regularization=(0.01, 10.0),
            alpha=(1.0, 10.0),
            factors=(64,),
            weighting=("none",),
            half_life_days=(None, 60.0),
            buy_again=(1.0,),
            trending=(0.0, 0.3),
            popularity=(0.0,),
            rebuy_exponent=(0.0,),
        )
        passes, repeats, samples = 1, 1, 200
    else:
        grid, passes, repeats, samples = TuningGrid(), 2, 3, 1000
    train = _uci(datasets, report, grid, passes, threads, say)
    _movielens(datasets, report, grid, passes, threads, say)
    _speed(train, report, threads, repeats, samples, say)
    report.seconds = time.perf_counter() - start
    if quick:
        report.notes.append("QUICK RUN (small grid, one pass): numbers are not the reference ones.")
    return report


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def render(report: Report, command: str) -> str:
    import implicit

    lines = [
        "# kefu.recsys benchmarks",
        "",
        f"Rerun: `{command}` (about {report.seconds / 60:.0f} min on {os.cpu_count()} shared cores; "
        "needs `../shared/datasets`).",
        "",
        *[f"**{note}**" for note in report.notes],
        "",
        "## Quality (k = 10)",
        "",
        "| dataset | view | method | P@10 | R@10 | NDCG@10 | MAP@10 | coverage | customers | NDCG ref. | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report.rows:
        m = row.metrics
        ok = "" if row.target is None else (" ✅" if m.ndcg > row.target else " ❌")
        lines.append(
            f"| {row.dataset} | {row.view} | {row.method} | {m.precision:.3f} | {m.recall:.3f} | **{m.ndcg:.3f}** | "
            f"{m.map:.3f} | {m.coverage:.3f} | {m.users} | {_fmt(row.reference)} | "
            f"{'> ' + _fmt(row.target) + ok if row.target else ''} |"
        )
    lines += ["", "### Tuned settings (chosen on validation only)", ""]
    for name, result in report.tuned.items():
        a, w = result.best.als, result.best.weights
        lines.append(
            f"- **{name}** — validation: {result.validation}; validation NDCG@10 {result.validation_ndcg:.3f}; "
            f"{len(result.trials)} trials. ALS factors={a.factors}, regularization={a.regularization:g}, "
            f"alpha={a.alpha:g}, weighting={a.weighting}, half-life={a.half_life_days} d; "
            f"blend als={w.als:g}, buy_again={w.buy_again:g}, trending={w.trending:g}, popularity={w.popularity:g}, "
            f"rebuy exponent={w.rebuy_exponent:g}."
        )
    if report.seed_notes:
        lines += [
            "",
            "### Seed check",
            "",
            "The table uses `random_state=0`. ALS starts from random factors, so the same settings refit with "
            "other seeds (same data, same split) show how much of a difference is noise:",
            "",
            *[f"- {note}" for note in report.seed_notes],
            "",
            "Untuned ALS on MovieLens lands at 0.17-0.18 here against 0.193 measured before. It is not the seed "
            "(above) nor the thread count (identical with 1 and 2 threads): the random start is drawn per row and "
            "column, and ids here are ordered as strings. With integer-ordered columns the same settings give 0.179, "
            "and an exploratory script with integer-ordered users and items gave 0.190. Untuned settings "
            "(100 factors, regularization 0.01 on 609 users) overfit and depend on where they start; the tuned "
            "settings (strong regularization) vary by less than 0.005 across seeds.",
        ]
    s = report.speed
    lines += [
        "",
        "## Speed (UCI train matrix, implicit defaults, 1 implicit thread, BLAS single-threaded)",
        "",
        "| measure | raw implicit | kefu | ratio / target |",
        "|---|---|---|---|",
        f"| fit (median of repeats) | {s['fit_raw_s']:.2f} s | {s['fit_kefu_s']:.2f} s | "
        f"{s['fit_ratio']:.2f} (target ≤ 1.10{' ✅' if s['fit_ratio'] <= 1.10 else ' ❌'}) |",
        f"| fit from raw events (ids encoded too) | | {s['fit_kefu_from_events_s']:.2f} s | |",
        f"| recommend p50, 10 items, 50 unavailable + 1 excluded category | {s['recommend_p50_ms_raw']:.3f} ms | "
        f"{s['recommend_p50_ms_kefu']:.3f} ms | target ≤ 1 ms{' ✅' if s['recommend_p50_ms_kefu'] <= 1 else ' ❌'} |",
        f"| the same without explanations | | {s['recommend_p50_ms_kefu_no_explain']:.3f} ms | |",
        f"| incremental update p50 (one purchase) | {s['update_p50_ms_raw']:.3f} ms | {s['update_p50_ms_kefu']:.3f} ms | "
        f"target ≤ 5 ms{' ✅' if s['update_p50_ms_kefu'] <= 5 else ' ❌'} |",
        "",
        "## How it was measured",
        "",
        "- **UCI Online Retail** (CC0 / CC BY 4.0, Chen et al. 2012): rows without CustomerID, cancellations "
        "(InvoiceNo `C…`) and non-positive quantities dropped; value = purchase lines per customer and StockCode; "
        "test = purchases from 2011-11-09 on, train = before; customers present in both. *all*: every StockCode "
        "bought in the test period is a positive, repurchases included, nothing filtered. *new*: only items not "
        "bought before are positives, and bought items are filtered from the lists. Validation for tuning: the "
        "last 31 days of train (2011-10-09 .. 11-08) against the rest of train.",
        "- **MovieLens latest-small** (GroupLens; research use only, **no commercial use**: evaluation only, "
        "nothing trained on it ships): ratings ≥ 4 are positives; per-user seeded 20% holdout "
        "(`numpy.random.RandomState(42)`, users sorted, items sorted within a user, users with ≥ 5 positives); "
        "training items filtered. Validation: the same procedure on train with seed 1.",
        "- Metrics: precision@10 = hits/10; recall@10 = hits/positives; NDCG@10 with binary gains and ideal "
        "over min(positives, 10); MAP@10 = sum of precision at hit ranks / min(positives, 10); coverage = "
        "distinct recommended items / items in train. Averaged over evaluated customers.",
        "- Baselines are computed without the library: popularity = purchase lines per item; "
        "buy again, then popular = the customer's own line count × 10⁶ + popularity; untuned ALS = "
        "`implicit.cpu.als.AlternatingLeastSquares(random_state=0)` on the raw matrix. "
        '"NDCG ref." is the value measured before this work.',
        "- kefu rows: `tune()` picks ALS settings (coordinate descent, two passes) and blend weights on the "
        "validation split only; the chosen config is then fit on all of train and evaluated once on test.",
        "- Speed: same matrix, same `num_threads`, `random_state=0`. kefu's fit = matrices + item signals "
        "+ weighting + ALS from encoded events (`Recommender.fit(Interactions)`: ids mapped to rows and events "
        "grouped by customer-item pair once, as a config-independent step that tuning reuses), raw = ALS fit "
        "on the prepared CSR; \"fit from raw events\" includes that encoding. Recommend: kefu's `recommend(user, 10, unavailable=50 items, exclude_categories=['22'])` "
        "(categories = first two StockCode characters), with explanations, vs implicit's "
        "`recommend(u, X[u], N=10, filter_items=…)`. Update: kefu's `partial_fit([one purchase])` vs implicit's "
        "`partial_fit_users([u], row)`. p50 over the sampled customers.",
        f"- Software: implicit {implicit.__version__}, numpy {np.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}; GPU: not used (no CUDA build installed).",
        "",
    ]
    return "\n".join(lines)


def write_report(report: Report, out: Path, command: str) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(report, command), encoding="utf-8")
    return out
