"""The writer's precision: `auto` takes bfloat16 only where the hardware computes it natively.

On a CPU without AVX512-BF16 or AMX, torch emulates bfloat16, and prefill, batched decoding and
single replies all ran slower than in float32: a fixed bfloat16 default made the writer slower
exactly where it was meant to make it faster.
"""

from __future__ import annotations

import pytest
import torch

import kefu.encoder
from kefu.agents.generation import load_model
from kefu.agents.generation.base_model import fast_precision, resolve_precision
from kefu.agents.generation.training.train import pick_device
from kefu.config import Config


@pytest.mark.parametrize(("native", "expected"), [(True, "bfloat16"), (False, "float32")])
def test_auto_is_bfloat16_only_on_a_cpu_that_computes_it_natively(
    monkeypatch: pytest.MonkeyPatch, native: bool, expected: str
) -> None:
    monkeypatch.setattr(kefu.encoder, "cpu_has_bf16", lambda: native)
    assert fast_precision("cpu") == expected
    assert resolve_precision("auto") == expected
    # an explicit choice is kept whatever the hardware
    assert resolve_precision("bfloat16") == "bfloat16"
    assert resolve_precision("float32") == "float32"


def test_the_config_default_is_auto_and_an_unknown_precision_is_refused() -> None:
    assert Config().generator.precision == "auto"
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("fp8")


def test_training_autocasts_only_where_bfloat16_is_native(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kefu.encoder, "cpu_has_bf16", lambda: False)
    assert pick_device("cpu") == ("cpu", None)
    monkeypatch.setattr(kefu.encoder, "cpu_has_bf16", lambda: True)
    assert pick_device("cpu") == ("cpu", torch.bfloat16)


def test_a_model_loaded_with_auto_precision_on_a_cpu_without_bfloat16_runs_in_float32(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kefu.encoder, "cpu_has_bf16", lambda: False)
    model, _ = load_model(dtype="auto")
    assert {p.dtype for p in model.parameters()} == {torch.float32}
