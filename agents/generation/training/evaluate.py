"""Held-out evaluation of the reply writer: the fine-tuned model against the base model.

On plans of customers the adapter never saw: required-fact coverage (the facts of the template
draft that the reply states), the unsupported-fact rate of raw generations and of the replies after
the grounding check (regenerate once, else template), ROUGE-L F1 against the reference replies,
the regenerate and fallback rates, and sample replies side by side.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from kefu.agents.generation.grounding import check, coverage, required_facts
from kefu.agents.generation.training.pairs import Pair, build_pairs
from kefu.agents.generation.writer import ReplyWriter, WrittenReply


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 over lower-cased word tokens (longest common subsequence)."""
    a, b = candidate.lower().split(), reference.lower().split()
    if not a or not b:
        return 0.0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    p, r = lcs / len(a), lcs / len(b)
    return 2 * p * r / (p + r)


@dataclass
class ModelScores:
    name: str
    raw: list[str] = field(default_factory=list)
    final: list[WrittenReply] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)


def held_out_pairs(n: int, seed: int = 0) -> list[Pair]:
    """`n` held-out pairs with shop facts or fixed wording (Bitext style pairs have no draft to keep)."""
    _, held = build_pairs(seed=seed)
    held = [p for p in held if not p.kind.startswith("bitext")]
    rng = random.Random(seed + 1)
    rng.shuffle(held)
    # one of each outcome first, so rare outcomes are in a small sample too
    by_kind: dict[str, list[Pair]] = {}
    for p in held:
        by_kind.setdefault(p.kind, []).append(p)
    picked = [ps[0] for ps in by_kind.values()]
    rest = [p for p in held if p not in picked]
    return (picked + rest)[:n]


def score(writer: ReplyWriter, pairs: list[Pair], name: str) -> ModelScores:
    """Raw greedy generations (before the check) and checked replies (after it) for `pairs`."""
    plans = [p.plan for p in pairs]
    s = ModelScores(name)
    started = time.perf_counter()
    raw: list[tuple[str, int]] = []
    for i in range(0, len(plans), writer.max_batch):
        raw += writer.generate_batch(plans[i : i + writer.max_batch])
    s.raw = [t for t, _ in raw]
    # the checked path reuses the first attempt: regenerate (from the draft's opening, batched) only
    # where it failed, as `write_many` does
    firsts = [writer._check(text, p.plan) for text, p in zip(s.raw, pairs, strict=True)]
    retry = [i for i, (text, g) in enumerate(zip(s.raw, firsts, strict=True)) if not (text and g.ok)]
    again: dict[int, str] = {}
    for k in range(0, len(retry), writer.max_batch):
        chunk = retry[k : k + writer.max_batch]
        for i, (text, _) in zip(
            chunk, writer.generate_batch([plans[i] for i in chunk], retry=True), strict=True
        ):
            again[i] = text
    for i, pair in enumerate(pairs):
        invented = [x.text for x in firsts[i].unsupported]
        if i not in again:
            s.final.append(WrittenReply(s.raw[i], "generated"))
        elif again[i] and writer._check(again[i], pair.plan).ok:
            s.final.append(WrittenReply(again[i], "regenerated", invented))
        else:
            s.final.append(WrittenReply(pair.plan.draft, "fallback", invented))
    seconds = time.perf_counter() - started
    n = len(pairs)

    def cov(texts: list[str]) -> float:
        return sum(coverage(t, required_facts(p.plan.draft)) for t, p in zip(texts, pairs, strict=True)) / n

    def unsupported_rate(texts: list[str]) -> float:
        return sum(not check(t, p.plan.to_text()).ok for t, p in zip(texts, pairs, strict=True)) / n

    final_texts = [w.text for w in s.final]
    s.metrics = {
        "coverage_raw": cov(s.raw),
        "coverage": cov(final_texts),
        "unsupported_before": unsupported_rate(s.raw),
        "unsupported_after": unsupported_rate(final_texts),
        "rouge_l_raw": sum(rouge_l(t, p.reply) for t, p in zip(s.raw, pairs, strict=True)) / n,
        "rouge_l": sum(rouge_l(t, p.reply) for t, p in zip(final_texts, pairs, strict=True)) / n,
        "generated_rate": sum(w.mode == "generated" for w in s.final) / n,
        "regenerated_rate": sum(w.mode == "regenerated" for w in s.final) / n,
        "fallback_rate": sum(w.mode == "fallback" for w in s.final) / n,
        "seconds": seconds,
    }
    return s


def evaluate(
    n: int = 60, *, adapter: Any = None, dtype: str = "auto", max_new_tokens: int = 320, seed: int = 0
) -> dict[str, Any]:
    """Scores of the base model and the fine-tuned one on the same `n` held-out plans."""
    from kefu.agents.generation import builtin_adapter
    from kefu.agents.generation.base_model import load_model

    pairs = held_out_pairs(n, seed)
    out: dict[str, Any] = {"n": len(pairs), "pairs": pairs}
    for name, adp in (("base", None), ("fine-tuned", adapter or builtin_adapter())):
        model, tok = load_model(adapter=adp, dtype=dtype)
        writer = ReplyWriter(model, tok, max_new_tokens=max_new_tokens)
        out[name] = score(writer, pairs, name)
    return out


def markdown(result: dict[str, Any], samples: int = 10) -> str:
    base, tuned = result["base"], result["fine-tuned"]
    rows = [
        ("required-fact coverage, raw generation", "coverage_raw"),
        ("required-fact coverage, after the check (what is sent)", "coverage"),
        ("replies with an unsupported fact, before the check", "unsupported_before"),
        ("replies with an unsupported fact, after the check", "unsupported_after"),
        ("ROUGE-L F1 vs reference, raw", "rouge_l_raw"),
        ("ROUGE-L F1 vs reference, after the check", "rouge_l"),
        ("generated (first try passed)", "generated_rate"),
        ("regenerated", "regenerated_rate"),
        ("fell back to the template", "fallback_rate"),
    ]
    lines = [
        f"Held-out plans: {result['n']} (customers the adapter never saw; every outcome kind at least once).",
        "",
        "| metric | base SmolLM2-135M | fine-tuned (LoRA) |",
        "|---|---|---|",
    ]
    for label, key in rows:
        lines.append(f"| {label} | {base.metrics[key]:.3f} | {tuned.metrics[key]:.3f} |")
    lines.append(
        f"| seconds for all plans | {base.metrics['seconds']:.0f} | {tuned.metrics['seconds']:.0f} |"
    )
    lines += ["", f"### {samples} sample replies (raw generations, before the check)", ""]
    for i, pair in enumerate(result["pairs"][:samples]):
        lines += [
            f"**{i + 1}. {pair.kind}** — customer: _{_one_line(pair.plan.customer)}_",
            "",
            f"- reference: {_one_line(pair.reply)}",
            f"- base: {_one_line(base.raw[i])}",
            f"- fine-tuned: {_one_line(tuned.raw[i])} _(sent: {tuned.final[i].mode})_",
            "",
        ]
    return "\n".join(lines)


def _one_line(text: str, limit: int = 400) -> str:
    t = " ".join(text.split()).replace("|", "/")
    return t if len(t) <= limit else t[: limit - 1] + "…"
