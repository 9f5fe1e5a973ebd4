"""Runs the retrieval evaluation: builds the indexes, scores every query once, ranks it in each mode, tunes the
fusion on the dev parts only, measures latency and ingest speed, and returns the numbers for the report."""

from __future__ import annotations

import itertools
import json
import math
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from kefu.tools.knowledge import (
    DEMO_KB_FILES,
    SEARCH_MODES,
    IngestReport,
    KnowledgeBase,
    MiniLMEncoder,
    Passage,
    Scores,
    SearchMode,
    SearchSettings,
    fuse,
    shared_encoder,
)
from kefu.tools.knowledge.tuning import TuningReport, faq_groups, tune_encoder

from .datasets import (
    BITEXT_FILE,
    BITEXT_SOURCE,
    Query,
    bitext_guides,
    bitext_protocol,
    demo_questions,
)
from .metrics import (
    NotFoundMetrics,
    RankingMetrics,
    first_relevant,
    not_found_metrics,
    percentile_ms,
    ranking_metrics,
)

K = 5
WEIGHT_GRID = tuple(round(0.05 * i, 2) for i in range(17))  # 0.0 … 0.8
SATURATION_GRID = (2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
DENSE_TOP_GRID = (1, 2, 3)
THRESHOLD_GRID = tuple(round(0.01 * i, 2) for i in range(81))

Log = Callable[[str], None]


@dataclass(slots=True)
class ScoredSuite:
    """One index and its queries, each scored once (dense and BM25) and ranked later in any mode."""

    name: str
    scored: list[tuple[Query, Scores | None]]
    ingest: IngestReport
    records: int
    _dense: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    def dense(self, n: int, top: int) -> np.ndarray:
        """Pooled dense scores of query `n` (cached: tuning asks for them many times)."""
        key = (n, top)
        if key not in self._dense:
            scores = self.scored[n][1]
            assert scores is not None
            self._dense[key] = scores.dense(top)
        return self._dense[key]

    def fused(self, n: int, mode: SearchMode, settings: SearchSettings) -> np.ndarray:
        scores = self.scored[n][1]
        assert scores is not None
        return fuse(self.dense(n, settings.dense_top), scores.bm25, mode, settings)


@dataclass(slots=True)
class Tuning:
    bm25_weight: float
    bm25_saturation: float
    dense_top: int
    thresholds: dict[SearchMode, float]
    confident: dict[SearchMode, float]
    objective: float
    defaults_objective: float


@dataclass(slots=True)
class LatencyRow:
    mode: SearchMode
    p50_ms: float
    p95_ms: float
    queries: int
    cpu_p50_ms: float
    """Median CPU time of the process per query: what it costs, whatever else the machine is running."""


@dataclass(slots=True)
class IngestRow:
    name: str
    records: int
    seconds: float
    mean_words: float
    cpu_seconds: float
    """CPU time the process used (all its threads, Chroma's included)."""

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds else float("nan")

    @property
    def per_cpu_second(self) -> float:
        return self.records / self.cpu_seconds if self.cpu_seconds else float("nan")


@dataclass(slots=True)
class Results:
    settings: SearchSettings
    tuning: Tuning | None
    ranking: dict[str, dict[SearchMode, RankingMetrics]] = field(default_factory=dict)
    """By table row ("demo held-out", ...), then mode."""
    rrf: dict[str, RankingMetrics] = field(default_factory=dict)
    not_found: dict[str, NotFoundMetrics] = field(default_factory=dict)
    near: dict[str, NotFoundMetrics] = field(default_factory=dict)
    """By "split, mode": in-scope questions answered with confidence vs near questions not (hedged or refused)."""
    latency: list[LatencyRow] = field(default_factory=list)
    latency_records: int = 0
    ingest: list[IngestRow] = field(default_factory=list)
    tuned_encoders: list[TuningReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    machine: str = ""
    seconds: float = 0.0


def score_suite(kb: KnowledgeBase, name: str, queries: Sequence[Query], report: IngestReport) -> ScoredSuite:
    scored = [(q, kb.scores(q.text, K, mode="fused")) for q in queries]
    return ScoredSuite(name, scored, report, sum(len(e.record_ids) for e in kb.sources().values()))


def ranks(
    suite: ScoredSuite, mode: SearchMode, settings: SearchSettings, split: str | None
) -> list[int | None]:
    out: list[int | None] = []
    for n, (query, scores) in enumerate(suite.scored):
        if not query.relevant or (split is not None and query.split != split):
            continue
        if scores is None:
            out.append(None)
            continue
        values = suite.fused(n, mode, settings)
        order = np.argsort(-np.nan_to_num(values, nan=-np.inf), kind="stable")[:K]
        ids = [scores.index.passages[int(i)].section_id for i in order if not np.isnan(values[i])]
        out.append(first_relevant(ids, query.relevant))
    return out


def rrf_ranks(
    suite: ScoredSuite, settings: SearchSettings, split: str | None, k0: int = 60
) -> list[int | None]:
    """Plain reciprocal-rank fusion of the dense and BM25 rankings, for comparison."""
    out: list[int | None] = []
    for n, (query, scores) in enumerate(suite.scored):
        if not query.relevant or (split is not None and query.split != split):
            continue
        if scores is None:
            out.append(None)
            continue
        dense = suite.dense(n, settings.dense_top)
        fused = np.zeros(len(dense))
        for values in (np.nan_to_num(dense, nan=-np.inf), np.where(scores.bm25 > 0, scores.bm25, -np.inf)):
            order = np.argsort(-values, kind="stable")
            ranked = order[np.isfinite(values[order])]
            fused[ranked] += 1.0 / (k0 + np.arange(1, len(ranked) + 1))
        top = np.argsort(-fused, kind="stable")[:K]
        ids = [scores.index.passages[int(i)].section_id for i in top if fused[i] > 0]
        out.append(first_relevant(ids, query.relevant))
    return out


def top_scores(
    suite: ScoredSuite, mode: SearchMode, settings: SearchSettings, split: str | None
) -> tuple[list[float], list[float]]:
    """Best score per query, in scope and off-topic (-inf when nothing scored); near questions are left out
    (`near_scores`)."""
    inside: list[float] = []
    outside: list[float] = []
    for query, best in _best_scores(suite, mode, settings, split):
        if not query.near:
            (inside if query.relevant else outside).append(best)
    return inside, outside


def near_scores(
    suite: ScoredSuite, mode: SearchMode, settings: SearchSettings, split: str | None
) -> list[float]:
    """Best score of each near question (about the shop, not answered by its documents)."""
    return [best for query, best in _best_scores(suite, mode, settings, split) if query.near]


def _best_scores(
    suite: ScoredSuite, mode: SearchMode, settings: SearchSettings, split: str | None
) -> list[tuple[Query, float]]:
    out: list[tuple[Query, float]] = []
    for n, (query, scores) in enumerate(suite.scored):
        if split is not None and query.split != split:
            continue
        values = suite.fused(n, mode, settings) if scores is not None else np.array([np.nan])
        out.append((query, float(np.nanmax(values)) if np.isfinite(values).any() else -math.inf))
    return out


def _objective(suites: Sequence[ScoredSuite], settings: SearchSettings) -> float:
    total = 0.0
    for suite in suites:
        metrics = ranking_metrics(ranks(suite, "fused", settings, "dev"))
        total += metrics.recall[1] + 0.5 * metrics.recall[3] + 0.5 * metrics.mrr
    return total / len(suites)


def best_threshold(suite: ScoredSuite, mode: SearchMode, settings: SearchSettings) -> float:
    """The threshold that best separates in-scope from out-of-scope dev questions (middle of the best plateau)."""
    inside, outside = top_scores(suite, mode, settings, "dev")
    return _middle_of_best(lambda t: not_found_metrics(inside, outside, t).accuracy)


def _middle_of_best(objective: Callable[[float], float]) -> float:
    """The grid threshold in the middle of the plateau where `objective` is highest."""
    values = [(objective(t), t) for t in THRESHOLD_GRID]
    top = max(a for a, _ in values)
    return round(statistics.median([t for a, t in values if a >= top - 1e-9]), 2)


def best_confident(suite: ScoredSuite, mode: SearchMode, settings: SearchSettings) -> float:
    """The score from which a result is shown as the answer: the threshold that best separates in-scope dev
    questions from near ones, by balanced accuracy (there are fewer near questions), middle of the best
    plateau. Never below the not-found threshold."""
    inside, _ = top_scores(suite, mode, settings, "dev")
    near = near_scores(suite, mode, settings, "dev")
    if not near:
        return settings.min_score.get(mode, 0.0)
    best = _middle_of_best(lambda t: not_found_metrics(inside, near, t).balanced)
    return max(best, settings.min_score.get(mode, 0.0))


def tune(dev_suites: Sequence[ScoredSuite], threshold_suite: ScoredSuite, base: SearchSettings) -> Tuning:
    """Grid search of the fusion parameters on the dev queries, then of each mode's not-found threshold."""
    best: tuple[float, float, float, int] | None = None
    for top, weight, saturation in itertools.product(DENSE_TOP_GRID, WEIGHT_GRID, SATURATION_GRID):
        settings = replace(base, bm25_weight=weight, bm25_saturation=saturation, dense_top=top)
        value = _objective(dev_suites, settings)
        # Ties keep the earlier point: fewer pooled records, smaller weight.
        if best is None or value > best[0] + 1e-9:
            best = (value, weight, saturation, top)
    assert best is not None
    tuned = replace(base, bm25_weight=best[1], bm25_saturation=best[2], dense_top=best[3])
    thresholds = {mode: best_threshold(threshold_suite, mode, tuned) for mode in SEARCH_MODES}
    confident = {
        mode: best_confident(threshold_suite, mode, replace(tuned, min_score=thresholds))
        for mode in SEARCH_MODES
    }
    return Tuning(best[1], best[2], best[3], thresholds, confident, best[0], _objective(dev_suites, base))


def measure_latency(
    kb: KnowledgeBase, queries: Sequence[str], modes: Sequence[SearchMode]
) -> list[LatencyRow]:
    rows: list[LatencyRow] = []
    for mode in modes:
        for text in queries[:10]:  # warm-up
            kb.search(text, K, mode=mode)
        times: list[float] = []
        cpu: list[float] = []
        for text in queries:
            start, start_cpu = time.perf_counter(), time.process_time()
            kb.search(text, K, mode=mode)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        rows.append(
            LatencyRow(
                mode, percentile_ms(times, 50), percentile_ms(times, 95), len(times), percentile_ms(cpu, 50)
            )
        )
    return rows


def _mean_words(paths: Sequence[Path]) -> float:
    from kefu.tools.knowledge.documents import read_file
    from kefu.tools.knowledge.ingest import build_records

    files = [f for p in paths for f in (sorted(p.rglob("*.*")) if p.is_dir() else [p])]
    words = [len(r.embed_text.split()) for f in files for r in build_records(f.name, read_file(f).passages)]
    return statistics.fmean(words) if words else float("nan")


def _tuned_suite(
    store: Path,
    root: Path,
    name: str,
    paths: Sequence[Path],
    passages: Sequence[Passage],
    queries: Sequence[Query],
    steps: int,
    settings: SearchSettings,
    results: Results,
    log: Log,
) -> ScoredSuite:
    """Index `paths` with an encoder tuned on their own FAQ entries and score `queries` against it."""
    report = tune_encoder(faq_groups(passages), root / f"{name}-encoder", steps=steps)
    log(
        f"  tuned on {report.entries} FAQ entries: loss {report.first_loss:.3f} -> {report.last_loss:.3f} "
        f"in {report.seconds:.0f} s"
    )
    results.tuned_encoders.append(report)
    kb = KnowledgeBase(
        store, collection=f"{name}-tuned", settings=settings, encoder=MiniLMEncoder(adapter=report.adapter)
    )
    ingest_report = kb.ingest(paths, progress=False)
    return score_suite(kb, f"{name}-tuned", queries, ingest_report)


def _ingest(kb: KnowledgeBase, paths: Sequence[Path], name: str, results: Results, log: Log) -> IngestReport:
    start_cpu = time.process_time()
    report = kb.ingest(paths, progress=False)
    cpu = time.process_time() - start_cpu
    if report.errors:
        raise RuntimeError(f"{name}: {report.errors}")
    results.ingest.append(IngestRow(name, report.embedded, report.seconds, _mean_words(paths), cpu))
    log(f"  ingested {name}: {report.embedded} records in {report.seconds:.1f} s")
    return report


def run(
    datasets_dir: Path | None,
    *,
    latency_records: int = 10_000,
    seed: int = 13,
    work_dir: Path | None = None,
    tune_steps: int = 0,
    log: Log = print,
) -> Results:
    """The whole evaluation; `datasets_dir` is ../shared/datasets (None: demo questions only).

    With `tune_steps`, each knowledge base is also indexed with an encoder tuned on its own FAQ entries
    (`kefu kb tune`: the demo FAQ; for Bitext, the indexed half's sample questions, never the queries) and
    ranked again at the library's default settings: rows "…, tuned encoder"."""
    started = time.perf_counter()
    settings = SearchSettings()
    results = Results(settings=settings, tuning=None)
    results.machine = _machine()
    log("loading the encoder")
    shared_encoder().encode(["warm up"])
    with tempfile.TemporaryDirectory(prefix="kefu-retrieval-") as tmp:
        root = Path(tmp)
        # A kept work dir makes reruns cheap: unchanged files are not embedded again.
        store = (work_dir or root) / "chroma"
        data = (work_dir or root) / "data"
        data.mkdir(parents=True, exist_ok=True)

        log("demo KB")
        demo_kb = KnowledgeBase(store, collection="demo", settings=settings)
        report = _ingest(demo_kb, list(DEMO_KB_FILES), "demo KB (faq.json + wiki.md)", results, log)
        known = {p.section_id for p in demo_kb.passages()}
        queries = demo_questions()
        unknown = sorted({r for q in queries for r in q.relevant} - known)
        if unknown:
            raise ValueError(f"demo_questions.json names passages that do not exist: {unknown}")
        demo = score_suite(demo_kb, "demo", queries, report)

        suites_dev: list[ScoredSuite] = [demo]
        bitext: ScoredSuite | None = None
        csv_path = datasets_dir / "bitext_customer_support" / BITEXT_FILE if datasets_dir else None
        if csv_path is not None and csv_path.is_file():
            log("Bitext (dev protocol: the indexed half split 3:1)")
            dev = bitext_protocol(csv_path, seed=seed, dev=True)
            dev_file = data / "dev" / BITEXT_SOURCE
            dev_file.parent.mkdir(exist_ok=True)
            dev_file.write_text(json.dumps({"entries": dev.faq}), encoding="utf-8")
            kb = KnowledgeBase(store, collection="bitext-dev", settings=settings)
            report = _ingest(kb, [dev_file], "Bitext FAQ, dev protocol", results, log)
            suites_dev.append(score_suite(kb, "bitext-dev", dev.queries, report))

            log("Bitext (test protocol)")
            test = bitext_protocol(csv_path, seed=seed)
            test_file = data / BITEXT_SOURCE
            test_file.write_text(json.dumps({"entries": test.faq}), encoding="utf-8")
            bitext_kb = KnowledgeBase(store, collection="bitext", settings=settings)
            report = _ingest(
                bitext_kb, [test_file], "Bitext FAQ (27 entries, half the instructions)", results, log
            )
            bitext = score_suite(bitext_kb, "bitext", test.queries, report)
        else:
            results.notes.append("Bitext data not found: only the demo questions were evaluated.")

        log("tuning on the dev parts")
        results.tuning = tune(suites_dev, demo, settings)

        tuned: list[tuple[str, ScoredSuite, str | None]] = []
        if tune_steps:
            log(f"encoders tuned on each FAQ ({tune_steps} steps)")
            demo_tuned = _tuned_suite(
                store,
                root,
                "demo",
                list(DEMO_KB_FILES),
                demo_kb.passages(),
                queries,
                tune_steps,
                settings,
                results,
                log,
            )
            tuned += [
                ("Demo KB, dev questions, tuned encoder", demo_tuned, "dev"),
                ("Demo KB, held-out questions, tuned encoder", demo_tuned, "heldout"),
            ]
            if bitext is not None:
                bitext_tuned = _tuned_suite(
                    store,
                    root,
                    "bitext",
                    [data / BITEXT_SOURCE],
                    bitext_kb.passages(),
                    test.queries,
                    tune_steps,
                    settings,
                    results,
                    log,
                )
                tuned.append(("Bitext, test queries, tuned encoder", bitext_tuned, "test"))

        rows: list[tuple[str, ScoredSuite, str | None]] = [
            ("Demo KB, dev questions", demo, "dev"),
            ("Demo KB, held-out questions", demo, "heldout"),
        ]
        if len(suites_dev) > 1:
            rows.append(("Bitext, dev protocol (tuning)", suites_dev[1], "dev"))
        if bitext is not None:
            rows.append(("Bitext, test queries", bitext, "test"))
        for label, suite, split in rows + tuned:
            results.ranking[label] = {
                m: ranking_metrics(ranks(suite, m, settings, split)) for m in SEARCH_MODES
            }
            results.rrf[label] = ranking_metrics(rrf_ranks(suite, settings, split))
        for split in ("dev", "heldout"):
            for mode in SEARCH_MODES:
                inside, outside = top_scores(demo, mode, settings, split)
                threshold = settings.min_score[mode]
                results.not_found[f"{split}, {mode}"] = not_found_metrics(inside, outside, threshold)
                near = near_scores(demo, mode, settings, split)
                results.near[f"{split}, {mode}"] = not_found_metrics(
                    inside, near, settings.confident_score[mode]
                )
        if tuned:
            demo_tuned = tuned[0][1]
            for split in ("dev", "heldout"):
                inside, outside = top_scores(demo_tuned, settings.mode, settings, split)
                results.not_found[f"{split}, {settings.mode}, tuned encoder"] = not_found_metrics(
                    inside, outside, settings.min_score[settings.mode]
                )
                near = near_scores(demo_tuned, settings.mode, settings, split)
                results.near[f"{split}, {settings.mode}, tuned encoder"] = not_found_metrics(
                    inside, near, settings.confident_score[settings.mode]
                )

        log(f"latency index ({latency_records} records)")
        latency_kb = KnowledgeBase(store, collection="latency", settings=settings)
        paths: list[Path] = list(DEMO_KB_FILES)
        latency_queries = [q.text for q in queries]
        if bitext is not None:
            paths.append(data / BITEXT_SOURCE)
            latency_queries += [q.text for q, _ in bitext.scored[:: max(1, len(bitext.scored) // 150)]]
        _ingest(latency_kb, paths, "demo KB + Bitext FAQ (latency index, part 1)", results, log)
        have = sum(len(e.record_ids) for e in latency_kb.sources().values())
        if csv_path is not None and csv_path.is_file() and have < latency_records:
            guides = data / "guides"
            guides.mkdir(exist_ok=True)
            for name, text in bitext_guides(csv_path, latency_records - have).items():
                (guides / name).write_text(text, encoding="utf-8")
            _ingest(
                latency_kb, [guides], "Bitext responses as help pages (latency index, part 2)", results, log
            )
        results.latency_records = sum(len(e.record_ids) for e in latency_kb.sources().values())
        log(f"  {results.latency_records} records indexed; timing {len(latency_queries)} queries per mode")
        results.latency = measure_latency(latency_kb, latency_queries, SEARCH_MODES)
        for kb in (demo_kb, latency_kb):
            kb.close()
    results.seconds = time.perf_counter() - started
    if hasattr(os, "getloadavg"):
        results.machine += f", at the end {os.getloadavg()[0]:.2f}"
    return results


def _machine() -> str:
    import torch

    cores = os.cpu_count() or 0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.processor() or platform.machine()}, {cores} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), load average at start {load:.2f}"
    )
