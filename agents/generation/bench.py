"""Speed of the reply writer on this machine: `kefu bench generation`.

For fp32 and each faster variant (bf16; dynamic int8; bf16 + torch.compile when asked), one run
measures single-stream first-token latency and decode tokens/s, and aggregate tokens/s when 4, 8
and 16 concurrent requests are micro-batched into one `generate` call; the variant's greedy output is
compared with fp32's on the same plans (identical replies, and the share of tokens before the first
difference).
"""

from __future__ import annotations

import copy
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from kefu.agents.generation.plan import ReplyPlan
from kefu.agents.generation.writer import ReplyWriter


@dataclass
class VariantResult:
    name: str
    first_token_ms: float = 0.0
    single_tps: float = 0.0
    aggregate_tps: dict[int, float] = field(default_factory=dict)
    identical: float = 1.0
    prefix_match: float = 1.0
    sample: str = ""


class _Clock:
    """A streamer that notes when each token arrives (the first `put` is the prompt)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def put(self, value: Any) -> None:
        self.times.append(time.perf_counter())

    def end(self) -> None:
        pass


def _variant(base: Any, name: str) -> Any:
    import torch

    if name == "fp32":
        return base
    if name == "bf16":
        return copy.deepcopy(base).to(torch.bfloat16)
    if name == "int8-dynamic":
        return torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(base), {torch.nn.Linear}, dtype=torch.qint8
        )
    if name == "bf16-compiled":
        m = copy.deepcopy(base).to(torch.bfloat16)
        m.forward = torch.compile(m.forward, dynamic=True)
        return m
    raise ValueError(name)


def _greedy(writer: ReplyWriter, plans: list[ReplyPlan], new_tokens: int) -> list[list[int]]:
    import torch

    enc = writer._encode(plans)
    with torch.inference_mode():
        out = writer.model.generate(
            **enc, max_new_tokens=new_tokens, do_sample=False, pad_token_id=writer.tokenizer.pad_token_id
        )
    return [row.tolist() for row in out[:, enc["input_ids"].shape[1] :]]


def measure(
    writer: ReplyWriter,
    plans: list[ReplyPlan],
    *,
    new_tokens: int = 64,
    batches: tuple[int, ...] = (4, 8, 16),
    repeats: int = 3,
) -> VariantResult:
    import torch

    r = VariantResult("")
    firsts, rates = [], []
    for plan in plans[:repeats]:
        enc = writer._encode([plan])
        clock = _Clock()
        started = time.perf_counter()
        with torch.inference_mode():
            writer.model.generate(
                **enc,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
                pad_token_id=writer.tokenizer.pad_token_id,
                streamer=clock,
            )
        t = clock.times[1:]  # token times
        firsts.append((t[0] - started) * 1000)
        rates.append((len(t) - 1) / (t[-1] - t[0]))
    r.first_token_ms = statistics.median(firsts)
    r.single_tps = statistics.median(rates)
    for n in batches:
        batch = [plans[i % len(plans)] for i in range(n)]
        enc = writer._encode(batch)
        started = time.perf_counter()
        with torch.inference_mode():
            writer.model.generate(
                **enc,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
                pad_token_id=writer.tokenizer.pad_token_id,
            )
        r.aggregate_tps[n] = n * new_tokens / (time.perf_counter() - started)
    return r


def run(
    variants: tuple[str, ...] = ("fp32", "bf16", "int8-dynamic"),
    *,
    adapter: Any = None,
    new_tokens: int = 64,
    quality_plans: int = 8,
    quality_tokens: int = 96,
) -> list[VariantResult]:
    import torch

    from kefu.agents.generation import builtin_adapter
    from kefu.agents.generation.base_model import load_model
    from kefu.agents.generation.training.evaluate import held_out_pairs

    base, tok = load_model(adapter=adapter or builtin_adapter(), dtype="float32")
    plans = [p.plan for p in held_out_pairs(max(16, quality_plans))]
    reference: list[list[int]] | None = None
    results = []
    for name in variants:
        model = _variant(base, name)
        writer = ReplyWriter(model, tok)
        _greedy(writer, plans[:1], 4)  # warm-up (and compilation)
        outs = _greedy(writer, plans[:quality_plans], quality_tokens)
        r = measure(writer, plans, new_tokens=new_tokens)
        r.name = name
        if reference is None:
            reference = outs
        r.identical = sum(a == b for a, b in zip(outs, reference, strict=True)) / len(outs)
        r.prefix_match = statistics.mean(_prefix(a, b) for a, b in zip(outs, reference, strict=True))
        r.sample = tok.decode(outs[0], skip_special_tokens=True)
        results.append(r)
        del model
    torch.set_num_threads(torch.get_num_threads())
    return results


def _prefix(a: list[int], b: list[int]) -> float:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n / max(len(a), len(b), 1)


def markdown(results: list[VariantResult], *, new_tokens: int = 64) -> str:
    import torch

    fp32 = results[0]
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
        f"{torch.__version__}, {torch.get_num_threads()} threads; 1-minute load average {os.getloadavg()[0]:.1f} when the run "
        "ended (other work on the machine shows up here as lower numbers). "
        f"Greedy decoding of {new_tokens} new tokens per request (forced length), KV cache on; "
        "SmolLM2-135M with the shipped adapter merged.",
        "",
        "| variant | first token (ms) | single-stream tok/s | ×fp32 | 4 concurrent tok/s | 8 concurrent | 16 concurrent | 16 conc. ×fp32 single | identical replies vs fp32 | tokens before first difference |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.first_token_ms:.0f} | {r.single_tps:.1f} | {r.single_tps / fp32.single_tps:.2f} | "
            f"{r.aggregate_tps.get(4, 0):.0f} | {r.aggregate_tps.get(8, 0):.0f} | {r.aggregate_tps.get(16, 0):.0f} | "
            f"{r.aggregate_tps.get(16, 0) / fp32.single_tps:.1f} | {r.identical:.2f} | {r.prefix_match:.2f} |"
        )
    return "\n".join(lines)
