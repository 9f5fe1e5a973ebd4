"""Attention for a few new positions over a masked cache, without copying the keys and values.

SmolLM2 shares each key/value head among three query heads. transformers' SDPA path serves one new
position per sequence by regrouping the queries, but several new positions with a mask (a batch that
checks guessed tokens, `decoding.batched_decode` with prompt lookup; left-padded prompts) make it
repeat the whole cache three times over in every layer and step first. Here the query heads of a
group and their positions form one matrix against their shared keys: two batched matrix products and
a softmax, no repeated cache. Everything else (prefills without a mask, training, one new position)
goes to transformers' SDPA unchanged.
"""

from __future__ import annotations

import functools
from typing import Any

NAME = "kefu_grouped_sdpa"
MAX_QUERY = 32
"""Longer query blocks (prefills) keep transformers' SDPA, whose kernels pay off there."""


def use_grouped_attention(model: Any) -> None:
    """Switch `model` (a transformers model with grouped key/value heads) to this attention."""
    _register()
    heads = int(getattr(model.config, "num_attention_heads", 0) or 0)
    groups = heads // int(getattr(model.config, "num_key_value_heads", 0) or heads or 1)
    if groups > 1 and getattr(model.config, "_attn_implementation", None) == "sdpa":
        model.set_attn_implementation(NAME)


@functools.cache
def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, grouped_attention_forward)
    AttentionMaskInterface.register(NAME, sdpa_mask)


def grouped_attention_forward(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[Any, None]:
    """transformers' attention signature: query (b, heads, q, d), key/value (b, kv_heads, k, d), a
    boolean mask (b, 1, q, k) where True attends; returns (b, q, heads, d)."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    b, heads, q, d = query.shape
    kv_heads = key.shape[1]
    if (
        attention_mask is None
        or attention_mask.dtype != torch.bool
        or q == 1
        or q > MAX_QUERY
        or heads == kv_heads
        or torch.is_grad_enabled()
        or kwargs.get("position_bias") is not None
    ):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout, scaling, **kwargs)
    group = heads // kv_heads
    scale = scaling if scaling is not None else d**-0.5
    grouped = query.reshape(b, kv_heads, group * q, d)  # head h = kv head h // group, as repeat_kv pairs them
    scores = torch.matmul(grouped, key.transpose(-1, -2)).float() * scale
    mask = attention_mask.expand(b, group, q, key.shape[2]).reshape(b, 1, group * q, key.shape[2])
    weights = scores.masked_fill(~mask, float("-inf")).softmax(-1).to(value.dtype)
    out = torch.matmul(weights, value).reshape(b, heads, q, d)
    return out.transpose(1, 2).contiguous(), None
