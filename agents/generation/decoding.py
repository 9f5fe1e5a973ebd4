"""Batched decoding for the writer's micro-batches, without paying for padding or the shared prompt.

Concurrent requests carry reply plans of very different lengths (117 to 416 tokens in the benchmark's
16 plans). Padding them into one prompt tensor and prefilling it, as `generate` does, spent 8.5 s of
a 13 s batch on padding and on the same system prompt sixteen times. Here each prompt is prefilled on
its own, on top of a shared-prefix KV cache computed once (`PrefixCache`), and the per-prompt caches
are then stacked left-padded into one batch that decodes together, one token per sequence per step.

Causal attention makes this exact: a position's keys and values depend only on the tokens before it,
so the prefix's cache is the same whichever prompt follows, and a masked-out pad slot changes nothing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

MIN_PREFIX = 8
"""Shorter shared prefixes are not worth a cache."""


@dataclass
class PrefixCache:
    """Keys and values of the last shared prompt prefix (the system prompt and chat header), reused
    while the next prompts start with it; a shorter common start is served by slicing, exactly."""

    tokens: list[int] = field(default_factory=list)
    layers: list[tuple[Any, Any]] = field(default_factory=list)

    def prefix_for(self, model: Any, prompts: list[list[int]]) -> tuple[int, list[tuple[Any, Any]]]:
        """(length, per-layer keys and values) of a prefix all `prompts` share, leaving each at
        least one token of its own (decoding starts from a prompt's last token)."""
        import torch

        want = _common_prefix(prompts)
        want = want[: max(0, min(len(p) for p in prompts) - 1)]
        n = common_prefix_length(self.tokens, want)
        if len(want) < MIN_PREFIX:
            return 0, []
        if n < len(want):
            base = _slice(self.layers, n) if n else []
            cache = _cache(model, base)
            positions = torch.arange(n, len(want)).unsqueeze(0)
            model(
                input_ids=torch.tensor([want[n:]]),
                position_ids=positions,
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            )
            self.tokens = list(want)
            self.layers = [(layer.keys, layer.values) for layer in cache.layers]
        return len(want), _slice(self.layers, len(want))


def batched_decode(
    model: Any,
    prompts: list[list[int]],
    *,
    max_new_tokens: int,
    min_new_tokens: int = 0,
    eos_ids: set[int],
    pad_id: int,
    prefix: PrefixCache | None = None,
    sample: bool = False,
    temperature: float = 0.7,
    top_p: float = 0.9,
    generator: Any = None,
) -> list[list[int]]:
    """New tokens for each prompt (token ids, no padding), greedy unless `sample`; a sequence stops
    at its first end-of-sequence token (not included) or after `max_new_tokens`; `min_new_tokens`
    forbids stopping earlier (benchmarks use it to force a length)."""
    import torch

    prefix = prefix if prefix is not None else PrefixCache()
    n_prefix, shared = prefix.prefix_for(model, prompts)
    per_prompt = []
    for p in prompts:
        cache = _cache(model, shared)
        rest = p[n_prefix:-1]
        if rest:
            model(
                input_ids=torch.tensor([rest]),
                position_ids=torch.arange(n_prefix, len(p) - 1).unsqueeze(0),
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            )
        per_prompt.append([(layer.keys, layer.values) for layer in cache.layers])
    lengths = [len(p) - 1 for p in prompts]
    width = max(lengths)
    stacked = []
    for layer in range(len(per_prompt[0])):
        keys = torch.cat([_left_pad(kv[layer][0], width) for kv in per_prompt])
        values = torch.cat([_left_pad(kv[layer][1], width) for kv in per_prompt])
        stacked.append((keys, values))
    cache = _preallocated_cache(model, stacked, width + max_new_tokens)
    batch = len(prompts)
    mask = torch.zeros((batch, width + 1), dtype=torch.long)
    for i, n in enumerate(lengths):
        mask[i, width - n :] = 1
    current = torch.tensor([[p[-1]] for p in prompts])
    positions = torch.tensor([[n] for n in lengths])
    done = torch.zeros(batch, dtype=torch.bool)
    eos = torch.tensor(sorted(eos_ids)) if eos_ids else torch.tensor([pad_id])
    out: list[list[int]] = [[] for _ in prompts]
    for step in range(max_new_tokens):
        logits = model(
            input_ids=current, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True
        ).logits[:, -1, :]
        if step < min_new_tokens:
            logits[:, eos] = float("-inf")
        nxt = _sample(logits, temperature, top_p, generator) if sample else logits.argmax(-1)
        finished = torch.isin(nxt, eos)
        for i in torch.nonzero(~done & ~finished).flatten().tolist():
            out[i].append(int(nxt[i]))
        done |= finished
        if bool(done.all()):
            break
        nxt = torch.where(done, torch.full_like(nxt, pad_id), nxt)
        current = nxt.unsqueeze(1)
        positions = positions + 1
        mask = torch.cat([mask, torch.ones((batch, 1), dtype=torch.long)], dim=1)
    return out


def prefix_cache(model: Any, layers: list[tuple[Any, Any]]) -> Any:
    """A transformers cache holding `layers` (from `PrefixCache.prefix_for`), for `generate(cache=...)`."""
    return _cache(model, layers)


def _sample(logits: Any, temperature: float, top_p: float, generator: Any) -> Any:
    """Nucleus sampling as `generate(do_sample=True, temperature, top_p)` does it."""
    import torch

    probs = torch.softmax(logits.float() / temperature, dim=-1)
    sorted_p, order = probs.sort(dim=-1, descending=True)
    keep = sorted_p.cumsum(-1) - sorted_p < top_p  # always keeps the most likely token
    sorted_p = sorted_p * keep
    choice = torch.multinomial(sorted_p / sorted_p.sum(-1, keepdim=True), 1, generator=generator)
    return order.gather(-1, choice).squeeze(-1)


def _cache(model: Any, layers: list[tuple[Any, Any]]) -> Any:
    from transformers import DynamicCache

    return DynamicCache(ddp_cache_data=layers or None, config=model.config)


def _preallocated_cache(model: Any, layers: list[tuple[Any, Any]], capacity: int) -> Any:
    """A cache whose layers write each step's keys and values into room reserved up front.

    transformers' dynamic layers concatenate every step, copying the whole batch's cache (16 requests
    × 30 layers × a few hundred positions) once per token; here a step writes one column.
    """
    cache = _cache(model, [])
    cache.layers = [_reserved_layer_class()(k, v, capacity) for k, v in layers]
    return cache


def _slice(layers: list[tuple[Any, Any]], n: int) -> list[tuple[Any, Any]]:
    return [(k[:, :, :n], v[:, :, :n]) for k, v in layers]


def _left_pad(t: Any, width: int) -> Any:
    import torch

    missing = width - t.shape[2]
    if missing == 0:
        return t
    pad = torch.zeros((*t.shape[:2], missing, t.shape[3]), dtype=t.dtype)
    return torch.cat([pad, t], dim=2)


def _common_prefix(prompts: list[list[int]]) -> list[int]:
    first = prompts[0]
    n = len(first)
    for p in prompts[1:]:
        n = min(n, common_prefix_length(first, p))
    return first[:n]


def common_prefix_length(a: list[int], b: list[int]) -> int:
    """How many leading tokens `a` and `b` share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@functools.cache
def _reserved_layer_class() -> type:
    """Made on first use, so importing kefu does not import transformers."""
    from transformers.cache_utils import DynamicLayer

    class ReservedLayer(DynamicLayer):  # type: ignore[misc]
        """A `DynamicLayer` over preallocated storage: `keys`/`values` are views of the filled part."""

        def __init__(self, keys: Any, values: Any, capacity: int) -> None:
            import torch

            super().__init__()
            b, h, n, d = keys.shape
            self._k = torch.empty((b, h, max(capacity, n), d), dtype=keys.dtype, device=keys.device)
            self._v = torch.empty_like(self._k)
            self._n = 0
            self.device = keys.device
            self.is_initialized = True
            self.update(keys, values)

        def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
            import torch

            n, k = self._n, key_states.shape[2]
            if n + k > self._k.shape[2]:  # out of room: grow like a plain dynamic layer
                self._k = torch.cat([self._k[:, :, :n], key_states], dim=2)
                self._v = torch.cat([self._v[:, :, :n], value_states], dim=2)
            else:
                self._k[:, :, n : n + k] = key_states
                self._v[:, :, n : n + k] = value_states
            self._n = n + k
            self.keys, self.values = self._k[:, :, : self._n], self._v[:, :, : self._n]
            return self.keys, self.values

    return ReservedLayer
