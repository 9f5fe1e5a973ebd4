"""The shipped LoRA adapter: relative base reference, a model card, and weights that change the model."""

from __future__ import annotations

import json

import torch

from kefu.agents.generation import builtin_adapter, load_model


def test_the_shipped_adapter_names_its_base_relatively_and_has_a_card() -> None:
    folder = builtin_adapter()
    config = json.loads((folder / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "smollm2-135m-instruct"  # no hub id, no absolute path
    assert set(config["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj"}
    assert (folder / "adapter_model.safetensors").stat().st_size < 20_000_000
    card = (folder / "README.md").read_text()
    assert "MIT" in card and "Reproduce" in card


def test_loading_the_adapter_merges_it_into_the_base_weights() -> None:
    base, _ = load_model(dtype="float32")
    tuned, _ = load_model(adapter=builtin_adapter(), dtype="float32")
    name = "model.layers.0.self_attn.q_proj.weight"
    b, t = dict(base.named_parameters())[name], dict(tuned.named_parameters())[name]
    assert b.shape == t.shape and not torch.equal(b, t)
    assert not any("lora" in n for n, _ in tuned.named_parameters())  # merged: a plain model again
    assert torch.equal(
        dict(base.named_parameters())["model.norm.weight"],
        dict(tuned.named_parameters())["model.norm.weight"],
    )


def test_an_adapter_path_that_is_not_a_local_folder_fails_at_once_without_asking_the_hub(
    tmp_path, monkeypatch
) -> None:
    """A typo in `generator.adapter` ('builtin' passed on unresolved, a missing folder) made peft ask the
    hub for it, with five retries over about 25 s, before failing."""
    import socket

    import pytest

    def no_network(*args, **kwargs):
        raise AssertionError("tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for wrong in ("builtin", tmp_path / "no-such-adapter"):
        with pytest.raises(FileNotFoundError, match="not a local LoRA adapter folder"):
            load_model(adapter=wrong)
