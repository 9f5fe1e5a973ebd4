"""Grouped attention for short masked query blocks computes what transformers' SDPA computes."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from kefu.agents.generation.attention import NAME, grouped_attention_forward  # noqa: E402
from kefu.agents.generation.base_model import load_model  # noqa: E402


class _Layer(torch.nn.Module):
    num_key_value_groups = 3
    is_causal = True


def test_a_masked_block_of_new_positions_matches_sdpa_with_repeated_keys() -> None:
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    g = torch.Generator().manual_seed(0)
    b, heads, kv_heads, q, k, d = 4, 9, 3, 7, 50, 64
    query = torch.randn(b, heads, q, d, generator=g)
    key = torch.randn(b, kv_heads, k, d, generator=g)
    value = torch.randn(b, kv_heads, k, d, generator=g)
    mask = torch.rand(b, 1, q, k, generator=g) > 0.3  # holes, as rejected guesses and padding leave
    mask[..., -1] = True
    with torch.inference_mode():
        ours, _ = grouped_attention_forward(_Layer(), query, key, value, mask, scaling=0.125)
        theirs, _ = sdpa_attention_forward(_Layer(), query, key, value, mask, scaling=0.125)
    assert ours.shape == theirs.shape == (b, q, heads, d)
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_the_loaded_model_uses_it() -> None:
    model, _ = load_model(dtype="float32")
    assert model.config._attn_implementation == NAME
