"""The per-turn latency benchmark: a fixed script of demo-shop conversations, run a few times.

Reported, per turn: total wall time; time inside the brain (the model's "forward pass": for the
embedded brain, NLU and flow decisions); time inside tools (SQL); and the framework overhead,
total minus brain, which is what kefu adds around any model.
"""

from __future__ import annotations

import platform
import statistics
import tempfile
import time
from pathlib import Path

from kefu._version import __version__

SCRIPT: list[list[str]] = [
    ["hi, where is my order #W2611340?", "my email is james.li4495@example.com", "thanks, bye"],
    [
        "I want to cancel an order",
        "ava.kovacs4827@example.com",
        "#W4184032",
        "I don't need it anymore",
        "yes",
    ],
    [
        "i'd like to return the water bottle from order #W7678072, refund to my paypal",
        "noah.brown7922@example.com",
        "yes",
    ],
    ["do you sell yoga mats? is the blue one available?", "thanks"],
    ["I need a human please"],
]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_turn_benchmark(repeats: int = 5) -> str:
    from kefu.assistant import Assistant
    from kefu.config import Config, ShopConfig
    from kefu.evals.scenarios import ShopTemplate

    template = ShopTemplate()
    totals, models, tools, overheads = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats + 1):  # the first round warms caches and is not counted
            url = template.fresh(Path(tmp) / f"run{r}")
            bot = Assistant(Config(data_dir=Path(tmp) / f"run{r}", shop=ShopConfig(database_url=url)))
            for n, conversation in enumerate(SCRIPT):
                for text in conversation:
                    reply = bot.respond(text, session_id=f"bench-{r}-{n}")
                    if r == 0:
                        continue
                    t = reply.timings
                    totals.append(t["total"])
                    models.append(t.get("model", 0.0))
                    tools.append(t.get("tools", 0.0))
                    overheads.append(t["total"] - t.get("model", 0.0))
            bot.close()
    rows = [
        ("total", totals),
        ("brain (model calls)", models),
        ("tools (SQL)", tools),
        ("framework overhead (total − brain)", overheads),
    ]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} with kefu {__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}, {len(totals)} turns ({len(SCRIPT)} conversations × {repeats} runs, "
        "after one warm-up run), embedded brain, SQLite shop and sessions.",
        "",
        "| per turn | p50 ms | p95 ms | mean ms |",
        "|---|---|---|---|",
    ]
    for name, values in rows:
        lines.append(
            f"| {name} | {statistics.median(values):.1f} | {_pct(values, 0.95):.1f} | "
            f"{statistics.fmean(values):.1f} |"
        )
    lines += [
        "",
        "Rerun: `make bench` (or `.venv/bin/kefu bench turns --out docs/benchmarks.md`). "
        "Target: framework overhead under 20 ms p50.",
    ]
    return "\n".join(lines)


def run_scenario_benchmark(paths: list[str] | None = None) -> str:
    """The shipped scenarios (or `paths`) through the embedded brain: success and policy violations."""
    from kefu.evals.scenarios import embedded_assistant, load_scenarios, run_suite

    scenarios = load_scenarios(paths)
    started = time.perf_counter()
    suite = run_suite(scenarios, embedded_assistant, progress=True)
    elapsed = time.perf_counter() - started
    results = suite.results
    precision = statistics.fmean(r.action_precision for r in results)
    recall = statistics.fmean(r.action_recall for r in results)
    failed = [r.scenario.id for r in results if not r.passed]
    where = ", ".join(paths) if paths else "evals/demo_scenarios"
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} with kefu {__version__}: {len(results)} scenarios from `{where}`, "
        f"each on a fresh demo shop, embedded brain, in {elapsed:.0f} s.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| success (writes, final database state, required and forbidden strings, hand-off) | "
        f"{suite.success_rate:.1%} ({sum(r.passed for r in results)}/{len(results)}) |",
        f"| action precision (mean) | {precision:.3f} |",
        f"| action recall (mean) | {recall:.3f} |",
        f"| policy violations (writes without an explicit yes, other customers' data shown) | "
        f"{suite.violations} |",
        "",
        f"Failed: {', '.join(failed) if failed else 'none'}.",
    ]
    return "\n".join(lines)


def run_nlu_benchmark() -> str:
    """Held-out accuracy of the shop's intent classifier, and its latency per message."""
    from kefu.agents.nlu.intents import IntentClassifier, load_examples

    train, heldout = load_examples(), load_examples("shop_intents_heldout.yaml")
    started = time.perf_counter()
    model = IntentClassifier().fit(train)
    fit_s = time.perf_counter() - started
    accuracy = model.accuracy(heldout)
    texts = [t for ts in heldout.values() for t in ts]
    timings = []
    for text in texts:
        t0 = time.perf_counter()
        model.predict(text)
        timings.append((time.perf_counter() - t0) * 1000)
    return "\n".join(
        [
            f"Measured {time.strftime('%Y-%m-%d')} with kefu {__version__}. Training: "
            f"{sum(map(len, train.values()))} utterances, {len(train)} intents "
            f"(`agents/nlu/data/shop_intents.yaml`); held-out: {len(texts)} utterances written separately "
            "(`shop_intents_heldout.yaml`, never trained on).",
            "",
            "| metric | value |",
            "|---|---|",
            f"| held-out accuracy | {accuracy:.1%} |",
            f"| training time | {fit_s * 1000:.0f} ms |",
            f"| predict p50 / p95 | {statistics.median(timings):.2f} / {_pct(timings, 0.95):.2f} ms |",
        ]
    )
