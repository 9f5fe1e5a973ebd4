"""What the validators of one guard run share: the readings of the text, their embeddings computed once,
the models, the config and the list the verdicts are collected in.

A `CheckContext` travels to each guardrails validator in the guard's metadata under the key `kefu`. The
validators run in parallel threads; the first one that needs the MiniLM vectors computes them (a single
batched forward pass for all readings) while the others wait on the same lock, so a message is encoded
once however many checks read it. Recent texts' vectors are kept in the process-wide cache of
`kefu.encoder`, so a document that tools return again and again is encoded once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kefu.encoder import encode_cached as _kernel_encode_cached
from kefu.safety.config import CheckConfig, SafetyConfig
from kefu.safety.encoder import Encoder, max_by_owner, shared_encoder, window_pieces
from kefu.safety.heads import Models
from kefu.safety.verdicts import Action, Verdict


def encode_cached(texts: Sequence[str], encoder: Encoder) -> tuple[np.ndarray, np.ndarray]:
    """Window vectors for `texts` (see `embed_windows`), reusing vectors of texts seen recently.

    The vectors come from the process-wide cache in `kefu.encoder`, so a message the safety layer has
    read is not encoded again by the sentiment head (a short message is its own single window).
    """
    pieces, owner = window_pieces(texts)
    return _kernel_encode_cached(pieces, encoder), owner


@dataclass
class CheckContext:
    """Everything the validators of one guard call read and write."""

    readings: tuple[str, ...]
    """The text as read by the checks: the cleaned text first, then hidden readings (decoded, de-leeted)."""
    models: Models
    config: SafetyConfig
    parts: tuple[str, ...] = ()
    """Pieces of the cleaned text the classifier heads also score on their own (see
    `segments.request_parts`); rules read only `readings`."""
    encoder: Encoder | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Stage-specific inputs: customer facts, protected texts, grounding result, tool name."""
    verdicts: list[Verdict] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _vectors: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _toxicity: np.ndarray | None = field(default=None, repr=False)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """MiniLM window vectors of every scored text and the text each row belongs to (computed once)."""
        with self._lock:
            if self._vectors is None:
                self._vectors = encode_cached(list(self.scored_texts), self.encoder or shared_encoder())
            return self._vectors

    @property
    def scored_texts(self) -> tuple[str, ...]:
        """What the heads score: every reading, then every part."""
        return (*self.readings, *self.parts)

    def head_scores(self, head: str) -> np.ndarray:
        """One probability per scored text (`scored_texts`): the highest over its windows."""
        vectors, owner = self.vectors()
        probs = self.models.heads[head].probability(vectors)
        return max_by_owner(probs, owner, len(self.scored_texts))

    def toxicity(self) -> np.ndarray:
        """Toxicity probability of each reading (hashed n-gram model, no encoder)."""
        if self._toxicity is None:
            self._toxicity = self.models.toxicity.probability(list(self.readings))
        return self._toxicity

    def check_config(self, check: str) -> CheckConfig:
        return getattr(self.config, check)

    def threshold(self, check: str, default: float) -> float:
        configured = self.check_config(check).threshold
        return default if configured is None else configured

    def verdict(
        self, check: str, score: float, tripped: bool, detail: str = "", *, can_fix: bool = False
    ) -> Verdict:
        """Record a verdict with the check's configured action ('fix' becomes 'refuse' where nothing can be fixed)."""
        configured: Action = self.check_config(check).action
        if configured == "fix" and not can_fix:
            configured = "refuse"
        verdict = Verdict(
            check, float(min(1.0, max(0.0, score))), tripped, configured if tripped else "pass", detail
        )
        self.verdicts.append(verdict)  # list.append is atomic: safe from the validator threads
        return verdict
