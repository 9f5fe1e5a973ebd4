"""The trained classifiers shipped in `safety/models/`, and how they score text.

Two kinds, both small and both plain arrays (no pickles):

- `EmbeddingHead`: a one-hidden-layer network (256 ReLU units) over frozen MiniLM vectors (`heads.npz` + `heads.json`): the
  jailbreak, harmful-request and embedded-instruction checks.
- `HashedTextModel`: logistic regression over hashed character and word n-grams (`toxicity.npz` +
  `toxicity.json`): toxicity of replies and of customer messages. It needs no encoder, so it costs well
  under a millisecond.

Each head carries the decision threshold chosen at training time; the config may override it.
`python -m kefu.safety train` writes these files.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

MODELS_DIR = Path(__file__).resolve().parent / "models"
EMBEDDING_HEADS = ("jailbreak", "harmful", "injection")
BLOCK = 256
"""Columns per matrix product when a head is scored. A 384 x 1280 product (a five-fold head) makes OpenBLAS
wake its thread pool, which on a busy 2-core machine costs tens of milliseconds per message while the
encoder's threads run; products of 256 columns stay on the calling thread and take microseconds."""


class ModelsMissing(FileNotFoundError):
    """The trained heads are not in the package (run `python -m kefu.safety train`)."""


@dataclass(frozen=True)
class EmbeddingHead:
    """A small feed-forward classifier over a 384-d MiniLM vector: ReLU hidden layers, sigmoid output
    (one layer = logistic regression)."""

    name: str
    weights: tuple[np.ndarray, ...]
    """One matrix per layer, the last of shape (n, 1)."""
    biases: tuple[np.ndarray, ...]
    threshold: float
    """Probability at or above which the check trips."""

    @cached_property
    def _blocks(self) -> tuple[tuple[np.ndarray, ...], ...]:
        """Each weight matrix as contiguous blocks of at most `BLOCK` columns (see `BLOCK`)."""
        return tuple(
            tuple(np.ascontiguousarray(w[:, i : i + BLOCK]) for i in range(0, w.shape[1], BLOCK))
            for w in self.weights
        )

    def probability(self, vectors: np.ndarray) -> np.ndarray:
        h = vectors.astype(np.float32)
        for i, (blocks, b) in enumerate(zip(self._blocks, self.biases, strict=True)):
            h = (h @ blocks[0] if len(blocks) == 1 else np.concatenate([h @ w for w in blocks], axis=1)) + b
            if i < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
        logits = h.reshape(-1).astype(np.float64)
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))


def _hashing_vectorizers(params: dict[str, Any]) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import HashingVectorizer

    common = {"alternate_sign": False, "norm": "l2", "lowercase": True, "dtype": np.float32}
    char = HashingVectorizer(
        analyzer="char_wb",
        ngram_range=tuple(params["char_ngrams"]),
        n_features=params["char_features"],
        **common,
    )
    word = HashingVectorizer(
        analyzer="word",
        ngram_range=tuple(params["word_ngrams"]),
        n_features=params["word_features"],
        token_pattern=r"(?u)\b\w+\b|[!?*@#$]+",
        **common,
    )
    return char, word


@dataclass(frozen=True)
class HashedTextModel:
    """Logistic regression over hashed character (2–5) and word (1–2) n-grams; no vocabulary to ship."""

    name: str
    params: dict[str, Any]
    char_coef: np.ndarray
    word_coef: np.ndarray
    intercept: float
    threshold: float

    @cached_property
    def _vectorizers(self) -> tuple[Any, Any]:
        return _hashing_vectorizers(self.params)

    def features(self, texts: list[str]) -> Any:
        from scipy.sparse import hstack

        char, word = self._vectorizers
        return hstack([char.transform(texts), word.transform(texts)]).tocsr()

    def probability(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        coef = np.concatenate([self.char_coef, self.word_coef]).astype(np.float64)
        logits = self.features(texts) @ coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.asarray(logits).ravel()))


@dataclass(frozen=True)
class Models:
    """Everything under `safety/models/`, loaded once per process (`load_models`)."""

    heads: dict[str, EmbeddingHead]
    toxicity: HashedTextModel
    card: dict[str, Any]
    """`heads.json`: thresholds, training sizes, data and licences."""


_cache: dict[Path, Models] = {}
_lock = threading.Lock()


def load_models(directory: str | Path | None = None) -> Models:
    """The shipped heads (or those in `directory`), read once per process and shared."""
    path = Path(directory) if directory is not None else MODELS_DIR
    cached = _cache.get(path)
    if cached is not None:
        return cached
    with _lock:
        if path in _cache:
            return _cache[path]
        meta_file, arrays_file = path / "heads.json", path / "heads.npz"
        tox_meta_file, tox_file = path / "toxicity.json", path / "toxicity.npz"
        missing = [f.name for f in (meta_file, arrays_file, tox_meta_file, tox_file) if not f.is_file()]
        if missing:
            raise ModelsMissing(
                f"{', '.join(missing)} missing under {path}: run `python -m kefu.safety train`"
            )
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        with np.load(arrays_file) as arrays:
            heads = {}
            for name in EMBEDDING_HEADS:
                layers = int(meta["heads"][name].get("layers", 1))
                heads[name] = EmbeddingHead(
                    name=name,
                    weights=tuple(arrays[f"{name}_w{i}"].astype(np.float32) for i in range(layers)),
                    biases=tuple(arrays[f"{name}_b{i}"].astype(np.float32) for i in range(layers)),
                    threshold=float(meta["heads"][name]["threshold"]),
                )
        tox_meta = json.loads(tox_meta_file.read_text(encoding="utf-8"))
        with np.load(tox_file) as arrays:
            toxicity = HashedTextModel(
                name="toxicity",
                params=tox_meta["params"],
                char_coef=arrays["char_coef"].astype(np.float32),
                word_coef=arrays["word_coef"].astype(np.float32),
                intercept=float(arrays["intercept"]),
                threshold=float(tox_meta["threshold"]),
            )
        models = Models(heads=heads, toxicity=toxicity, card=meta)
        _cache[path] = models
        return models


def save_embedding_heads(directory: Path, heads: dict[str, EmbeddingHead], card: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for name, head in heads.items():
        for i, (w, b) in enumerate(zip(head.weights, head.biases, strict=True)):
            arrays[f"{name}_w{i}"] = w.astype(np.float16 if w.size > 10_000 else np.float32)
            arrays[f"{name}_b{i}"] = b.astype(np.float32)
        card["heads"].setdefault(name, {})["threshold"] = round(float(head.threshold), 6)
        card["heads"][name]["layers"] = len(head.weights)
    np.savez_compressed(directory / "heads.npz", **arrays)  # type: ignore[arg-type]
    (directory / "heads.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def save_hashed_model(directory: Path, model: HashedTextModel, card: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        directory / "toxicity.npz",
        char_coef=model.char_coef.astype(np.float16),
        word_coef=model.word_coef.astype(np.float16),
        intercept=np.asarray(model.intercept, dtype=np.float64),
    )
    meta = {"params": model.params, "threshold": round(float(model.threshold), 6), **card}
    (directory / "toxicity.json").write_text(
        json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
