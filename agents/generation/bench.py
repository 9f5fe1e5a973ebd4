"""Speed of the reply writer on this machine: `kefu bench generation`.

For fp32 and each faster variant (bf16; dynamic int8; `+lookup`: prompt-lookup decoding, as the
writer does for single requests and, with fewer guesses, for micro-batches; bf16 + torch.compile when
asked), one run measures single-stream
first-token latency and decode tokens/s, and aggregate tokens/s when 4, 8 and 16 concurrent requests
are micro-batched; the variant's greedy output (one request at a time, as a single `write` gets it) is
compared with fp32's on the same plans (identical replies, and the share of tokens before the first
difference), and a `+lookup` variant's also with its own precision without lookup (prompt lookup
should change nothing; floating-point sums over a different number of positions could).

Single-stream speed is timed on whole replies, each written to its end token as `write` does: that
is what a customer waits for. A forced length (decoding on past the end token) is also reported, for
comparison with the concurrent columns, which use it; past the reply's end the model writes text
nobody reads, where prompt lookup finds nothing to copy, so it understates lookup.
"""

from __future__ import annotations

import copy
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from kefu.agents.generation.decoding import batched_decode, common_prefix_length
from kefu.agents.generation.plan import ReplyPlan
from kefu.agents.generation.writer import BATCH_LOOKUP_TOKENS, LOOKUP_NGRAM, LOOKUP_TOKENS, ReplyWriter


@dataclass
class VariantResult:
    name: str
    first_token_ms: float = 0.0
    single_tps: float = 0.0
    """Whole replies, each to its end token (decode tokens after the first / time after the first)."""
    forced_tps: float = 0.0
    """Median over plans of `new_tokens` forced tokens (the end token suppressed)."""
    reply_tokens: int = 0
    aggregate_tps: dict[int, float] = field(default_factory=dict)
    identical: float = 1.0
    prefix_match: float = 1.0
    batched_identical: float | None = None
    """Greedy replies decoded as one micro-batch, identical to the same plans written one at a time."""
    whole_batch_tps: float = 0.0
    """16 plans decoded as one micro-batch, each reply to its end token: reply tokens / wall time."""
    padded_tps: float | None = None
    """The largest batch as one padded `generate` call (the baseline for `batched_decode`)."""
    identical_plain: float | None = None
    """`+lookup` variants: identical replies vs the same precision without lookup."""
    sample: str = ""


class _Clock:
    """A streamer that notes when tokens arrive and how many (the first `put` is the prompt; prompt
    lookup puts several tokens at once)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.counts: list[int] = []

    def put(self, value: Any) -> None:
        self.times.append(time.perf_counter())
        self.counts.append(int(value.numel()))

    def end(self) -> None:
        pass


def _variant(base: Any, name: str) -> Any:
    import torch

    name = name.removesuffix("+lookup")
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


@dataclass
class _Timed:
    outs: list[list[int]]
    first_token_ms: list[float]
    tokens_after_first: int
    seconds_after_first: float


def _greedy(writer: ReplyWriter, plans: list[ReplyPlan], new_tokens: int) -> _Timed:
    """Greedy replies one plan at a time (what a single `write` gets), cut at the end of the reply,
    with when their tokens came."""
    import torch

    timed = _Timed([], [], 0, 0.0)
    for plan in plans:
        enc = writer._encode([plan])
        clock = _Clock()
        started = time.perf_counter()
        with torch.inference_mode():
            out = writer.model.generate(
                **enc,
                max_new_tokens=new_tokens,
                do_sample=False,
                pad_token_id=writer.tokenizer.pad_token_id,
                streamer=clock,
                **writer.lookup_kwargs(1),
            )
        timed.outs.append(out[0, enc["input_ids"].shape[1] :].tolist())
        t, counts = clock.times[1:], clock.counts[1:]  # after the prompt
        timed.first_token_ms.append((t[0] - started) * 1000)
        timed.tokens_after_first += sum(counts[1:])
        timed.seconds_after_first += t[-1] - t[0]
    return timed


def measure(
    writer: ReplyWriter,
    plans: list[ReplyPlan],
    *,
    new_tokens: int = 64,
    batches: tuple[int, ...] = (4, 8, 16),
    repeats: int = 5,
    padded_baseline: bool = True,
) -> VariantResult:
    """Concurrent requests are decoded as the writer's micro-batches are (`batched_decode`, with the
    writer's batched prompt lookup, the system prompt's cache kept across batches as in a running
    writer); `padded_baseline` also times the largest batch as one padded `generate` call, the way
    the writer batched before."""
    import torch

    r = VariantResult("")
    rates = []
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
                **writer.lookup_kwargs(1),
            )
        t, counts = clock.times[1:], clock.counts[1:]  # token times and counts, after the prompt
        rates.append(sum(counts[1:]) / (t[-1] - t[0]))
    r.forced_tps = statistics.median(rates)
    for n in batches:
        batch = [plans[i % len(plans)] for i in range(n)]
        prompts = [writer._prompt_ids(p) for p in batch]
        started = time.perf_counter()
        with torch.inference_mode():
            batched_decode(
                writer.model,
                prompts,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                eos_ids=writer._eos_ids(),
                pad_id=writer.tokenizer.pad_token_id,
                prefix=writer._prefix,
                lookup_tokens=writer.batch_lookup(),
                lookup_ngram=writer.lookup_ngram,
            )
        r.aggregate_tps[n] = n * new_tokens / (time.perf_counter() - started)
    if padded_baseline and batches:
        n = max(batches)
        enc = writer._encode([plans[i % len(plans)] for i in range(n)])
        started = time.perf_counter()
        with torch.inference_mode():
            writer.model.generate(
                **enc,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
                pad_token_id=writer.tokenizer.pad_token_id,
            )
        r.padded_tps = n * new_tokens / (time.perf_counter() - started)
    return r


DEFAULT_VARIANTS = ("fp32", "bf16", "int8-dynamic", "fp32+lookup", "bf16+lookup")


def run(
    variants: tuple[str, ...] = DEFAULT_VARIANTS,
    *,
    adapter: Any = None,
    new_tokens: int = 64,
    quality_plans: int = 12,
    quality_tokens: int = 256,
) -> list[VariantResult]:
    import torch

    from kefu.agents.generation import builtin_adapter
    from kefu.agents.generation.base_model import load_model
    from kefu.agents.generation.training.evaluate import held_out_pairs

    base, tok = load_model(adapter=adapter or builtin_adapter(), dtype="float32")
    plans = [p.plan for p in held_out_pairs(max(16, quality_plans))]
    # (held-out plans: the lookup settings were chosen on training plans)
    reference: list[list[int]] | None = None
    plain: dict[str, list[list[int]]] = {}
    results = []
    for name in variants:
        precision = name.removesuffix("+lookup")
        lookup = name != precision
        model = _variant(base, name)
        writer = ReplyWriter(model, tok, lookup_tokens=LOOKUP_TOKENS if lookup else 0)
        _greedy(writer, plans[:1], 4)  # warm-up (and compilation)
        timed = _greedy(writer, plans[:quality_plans], quality_tokens)
        outs = timed.outs
        r = measure(writer, plans, new_tokens=new_tokens, padded_baseline=not lookup)
        r.name = name
        started = time.perf_counter()
        together = _batched(writer, plans[:16], quality_tokens)
        r.whole_batch_tps = sum(len(row) for row in together) / (time.perf_counter() - started)
        r.batched_identical = _identical(together[:quality_plans], outs)
        r.single_tps = timed.tokens_after_first / timed.seconds_after_first
        r.first_token_ms = statistics.median(timed.first_token_ms)
        r.reply_tokens = sum(len(o) for o in outs)  # with the end token
        if reference is None:
            reference = outs
        if not lookup:
            plain[precision] = outs
        elif precision in plain:
            r.identical_plain = _identical(outs, plain[precision])
        r.identical = _identical(outs, reference)
        r.prefix_match = statistics.mean(_prefix(a, b) for a, b in zip(outs, reference, strict=True))
        r.sample = tok.decode(outs[0], skip_special_tokens=True)
        results.append(r)
        del model
    torch.set_num_threads(torch.get_num_threads())
    return results


def _batched(writer: ReplyWriter, plans: list[ReplyPlan], new_tokens: int) -> list[list[int]]:
    """Greedy replies of `plans` decoded as one micro-batch as the writer decodes it, with the end
    token kept (as `_greedy`'s)."""
    import torch

    with torch.inference_mode():
        rows = batched_decode(
            writer.model,
            [writer._prompt_ids(p) for p in plans],
            max_new_tokens=new_tokens,
            eos_ids=writer._eos_ids(),
            pad_id=writer.tokenizer.pad_token_id,
            prefix=writer._prefix,
            lookup_tokens=writer.batch_lookup(),
            lookup_ngram=writer.lookup_ngram,
        )
    eos = writer.tokenizer.eos_token_id
    return [row + [eos] if len(row) < new_tokens else row for row in rows]


def _identical(outs: list[list[int]], reference: list[list[int]]) -> float:
    return sum(a == b for a, b in zip(outs, reference, strict=True)) / len(outs)


def _prefix(a: list[int], b: list[int]) -> float:
    """Share of tokens before the first difference."""
    return common_prefix_length(a, b) / max(len(a), len(b), 1)


def markdown(results: list[VariantResult], *, new_tokens: int = 64, quality_tokens: int = 256) -> str:
    import torch

    from kefu.encoder import cpu_has_bf16

    fp32 = results[0]
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
        f"{torch.__version__}, {torch.get_num_threads()} threads, native bfloat16: {'yes' if cpu_has_bf16() else 'no'}; 1-minute load average {os.getloadavg()[0]:.1f} when the run "
        "ended (other work on the machine shows up here as lower numbers). SmolLM2-135M with the shipped "
        "adapter merged, greedy, KV cache on. **Single-stream**: held-out plans written one at a time, "
        f"each reply to its end token (at most {quality_tokens} tokens) as `write` does; tokens/s counts "
        "the tokens after the first over the time after the first token, summed over the plans; first "
        "token: median. The same replies are compared with fp32's. `forced` is the older measure: "
        f"{new_tokens} tokens with the end token suppressed, median of 5 plans (past a reply's end the "
        "model writes text nobody reads, where lookup finds nothing to copy). `+lookup`: prompt-lookup "
        f"decoding ({LOOKUP_TOKENS} guessed tokens per step from the longest matching {LOOKUP_NGRAM}-gram "
        "of the prompt, which holds the plan and its draft; the settings were picked on training plans), "
        "which the writer uses for single requests, and in micro-batches of several with "
        f"{BATCH_LOOKUP_TOKENS} guesses per request and step. **Concurrent**: {new_tokens} forced tokens per "
        "request, decoded as the writer's micro-batches are (`batched_decode`: each prompt prefilled alone "
        "on the cached system prompt, then one decoding batch), compared with fp32's forced single-stream "
        "rate; `padded generate` is the same 16 requests as one padded `generate` call, how the writer "
        "batched before. **16 concurrent, whole replies**: 16 held-out plans decoded as one micro-batch, "
        "each reply to its end token (a request that ends leaves the batch), all reply tokens over the "
        "wall time from the first prefill, compared with fp32's whole-reply single-stream rate; "
        "`batched identical` compares the first of them with the same plans written one at a time.",
        "",
        "| variant | first token (ms) | single-stream tok/s | ×fp32 | forced-length tok/s | 4 concurrent tok/s | 8 concurrent | 16 concurrent | 16 conc. ×fp32 forced single | 16 conc., padded generate | 16 conc., whole replies | ×fp32 single | identical replies vs fp32 | tokens before first difference | identical vs same precision without lookup | batched identical to one at a time |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.first_token_ms:.0f} | {r.single_tps:.1f} | {r.single_tps / fp32.single_tps:.2f} | "
            f"{r.forced_tps:.1f} | "
            f"{r.aggregate_tps.get(4, 0):.0f} | {r.aggregate_tps.get(8, 0):.0f} | {r.aggregate_tps.get(16, 0):.0f} | "
            f"{r.aggregate_tps.get(16, 0) / fp32.forced_tps:.1f} | {_opt(r.padded_tps, '.0f')} | "
            f"{r.whole_batch_tps:.0f} | {r.whole_batch_tps / fp32.single_tps:.1f} | "
            f"{r.identical:.2f} | {r.prefix_match:.2f} | {_opt(r.identical_plain, '.2f')} | "
            f"{_opt(r.batched_identical, '.2f')} |"
        )
    lines.append("")
    lines.append(f"Single-stream replies written by fp32: {fp32.reply_tokens} tokens in all.")
    return "\n".join(lines)


def _opt(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)
