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
    lookup_tokens: int = 0,
    lookup_ngram: int = 2,
) -> list[list[int]]:
    """New tokens for each prompt (token ids, no padding), greedy unless `sample`; a sequence stops
    at its first end-of-sequence token (not included) or after `max_new_tokens`; `min_new_tokens`
    forbids stopping earlier (benchmarks use it to force a length).

    With `lookup_tokens` (greedy only) each step also checks up to that many guessed tokens per
    sequence, copied from where its last `lookup_ngram` tokens (or fewer) occurred before in its
    prompt or reply, and keeps the guesses the model agrees with: prompt-lookup decoding, batched.
    Sequences accept different numbers of guesses; the cache slots of rejected guesses stay as
    masked holes and each sequence keeps its own positions, so the result is greedy decoding's.
    A sequence that has finished leaves the batch, so the others stop paying for it.
    """
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
    del per_prompt
    guesses_on = lookup_tokens > 0 and not sample
    cache = _preallocated_cache(model, stacked, width + max_new_tokens * (2 if guesses_on else 1))
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, n in enumerate(lengths):
        mask[i, width - n :] = 1
    eos = torch.tensor(sorted(eos_ids)) if eos_ids else torch.tensor([pad_id])
    eos_set = set(eos.tolist())
    rows = list(range(len(prompts)))  # the prompts still decoding, in batch order
    current = [p[-1] for p in prompts]  # each sequence's newest token, not in the cache yet
    positions = list(lengths)
    out: list[list[int]] = [[] for _ in prompts]
    lookups = [_Lookup(p, lookup_ngram) for p in prompts] if guesses_on else []
    while rows:
        guesses = [
            lookups[i].guess(min(lookup_tokens, max_new_tokens - len(out[i]) - 1)) if guesses_on else []
            for i in rows
        ]
        if guesses_on:
            guesses = _worth_checking(guesses, [lookups[i].acceptance for i in rows])
        step = 1 + max(len(g) for g in guesses)
        ids = torch.full((len(rows), step), pad_id, dtype=torch.long)
        new_mask = torch.zeros((len(rows), step), dtype=torch.long)
        for b, i in enumerate(rows):
            ids[b, : 1 + len(guesses[b])] = torch.tensor([current[i], *guesses[b]])
            new_mask[b, : 1 + len(guesses[b])] = 1
        mask = torch.cat([mask, new_mask], dim=1)
        pos = torch.tensor(positions)[rows].unsqueeze(1) + torch.arange(step).unsqueeze(0)
        logits = model(
            input_ids=ids, attention_mask=mask, position_ids=pos, cache=cache, use_cache=True
        ).logits
        if min_new_tokens:
            written = torch.tensor([len(out[i]) for i in rows]).unsqueeze(1) + torch.arange(step)
            early = (written < min_new_tokens).unsqueeze(-1) & torch.isin(torch.arange(logits.shape[-1]), eos)
            logits = logits.masked_fill(early, float("-inf"))
        if sample:
            picked = _sample(logits[:, -1, :], temperature, top_p, generator).unsqueeze(1).tolist()
        else:
            picked = logits.argmax(-1).tolist()
        finished = []
        for b, i in enumerate(rows):
            g = guesses[b]
            kept = 0
            while kept < len(g) and picked[b][kept] == g[kept]:
                kept += 1
            if g:
                lookups[i].judged(kept, len(g))
            mask[b, mask.shape[1] - step + 1 + kept :] = 0  # rejected guesses: holes
            positions[i] += 1 + kept
            for t in [*g[:kept], picked[b][kept]]:
                if t in eos_set or len(out[i]) >= max_new_tokens:
                    finished.append(b)
                    break
                out[i].append(t)
                if guesses_on:
                    lookups[i].add(t)
            else:
                current[i] = picked[b][kept]
                if len(out[i]) >= max_new_tokens:
                    finished.append(b)
        if finished:
            keep = [b for b in range(len(rows)) if b not in finished]
            rows = [rows[b] for b in keep]
            if rows:
                index = torch.tensor(keep)
                mask = mask[index]
                for layer in cache.layers:
                    layer.keep_rows(index)
    return out


WIDTH_COST = 0.35
"""A decoding step with w positions per sequence costs about 1 + WIDTH_COST·(w − 1) single steps:
measured inside a 16-request bfloat16 batch, 85 ms at w = 1, 115 at 2, 148 at 3, 184 at 4 (a bare
forward over 450 cached positions: 70, 93, 110, 144 at 5)."""


def _worth_checking(guesses: list[list[int]], acceptance: list[float]) -> list[list[int]]:
    """The guesses cut to the step width that maximises expected tokens per unit of cost.

    Every sequence pays for the widest row, so a guess is only worth it when the whole batch is
    expected to keep enough tokens: a sequence whose guesses the model has been turning down
    (text that copies nothing from the prompt) would otherwise slow every step for everyone.
    A sequence keeps its j-th guess with probability p^j (p: its acceptance so far).
    """
    longest = max(len(g) for g in guesses)
    best_width, best_rate = 0, len(guesses) / 1.0
    for width in range(1, longest + 1):
        expected = sum(
            sum(p**j for j in range(1, min(width, len(g)) + 1))
            for g, p in zip(guesses, acceptance, strict=True)
        )
        rate = (len(guesses) + expected) / (1 + WIDTH_COST * width)
        if rate > best_rate:
            best_width, best_rate = width, rate
    return [g[:best_width] for g in guesses]


class _Lookup:
    """Where each recent n-gram of a sequence first occurred, so a guess of what follows the
    sequence's end is a dictionary lookup instead of a scan of the whole prompt; and how often the
    model has agreed with this sequence's guesses lately."""

    def __init__(self, tokens: list[int], ngram: int) -> None:
        self.tokens: list[int] = []
        self.ngram = ngram
        self.first: dict[tuple[int, ...], int] = {}
        self._kept = 0.0
        self._missed = 0.0
        for t in tokens:
            self.add(t)

    @property
    def acceptance(self) -> float:
        """Chance that the next guessed token is kept: recent agreement, starting from 0.8 (replies
        that restate their plan keep most guesses)."""
        return (self._kept + 4.0) / (self._kept + self._missed + 5.0)

    def judged(self, kept: int, guessed: int) -> None:
        """The model kept the first `kept` of `guessed` tokens (older outcomes fade)."""
        self._kept = 0.7 * self._kept + kept
        self._missed = 0.7 * self._missed + (1.0 if kept < guessed else 0.0)

    def add(self, token: int) -> None:
        self.tokens.append(token)
        end = len(self.tokens)
        for n in range(1, self.ngram + 1):
            if end >= n:
                self.first.setdefault(tuple(self.tokens[end - n :]), end)

    def guess(self, k: int) -> list[int]:
        """Up to `k` tokens that followed the first earlier occurrence of the longest matching end."""
        if k <= 0:
            return []
        end = len(self.tokens)
        for n in range(min(self.ngram, end), 0, -1):
            at = self.first.get(tuple(self.tokens[end - n :]))
            if at is not None and at < end:
                return self.tokens[at : at + k]
        return []


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

        def keep_rows(self, index: Any) -> None:
            """Only the batch rows at `index` from now on (finished sequences leave the batch)."""
            self._k, self._v = self._k[index], self._v[index]
            self.keys, self.values = self._k[:, :, : self._n], self._v[:, :, : self._n]

    return ReservedLayer
