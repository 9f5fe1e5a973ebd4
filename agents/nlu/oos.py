"""Out-of-scope abstention: when no intent fits a message, say so instead of guessing.

A classifier always names its most likely intent; the abstention rule is a threshold on that intent's
probability, chosen on validation data, never on the test set:

- with out-of-scope examples in the validation data (CLINC150's `oos` queries, or a team's own "other"
  label), the threshold maximises in-scope accuracy + out-of-scope recall, among thresholds that cost at
  most `max_accuracy_drop` of in-scope accuracy;
- without them, it is the highest threshold that abstains on at most `max_abstain` of in-scope messages.

Below the threshold the caller routes to its fallback: ask to rephrase, or offer a person.

The top probability alone is a weak out-of-scope signal: a softmax spreads its mass over the known
intents, so an off-topic message can still look confident. `NeighbourScore` adds a second, independent
signal: how close the message's MiniLM vector lies to the nearest training messages (mean cosine similarity
of the `k` nearest). Both are z-scored on the in-scope validation messages and summed. On CLINC150 (frozen
vectors, threshold from val) it lifted out-of-scope recall from 0.73 to 0.83 at the same in-scope accuracy
(docs/benchmarks_nlu.md); training picks it only where out-of-scope validation examples show it helps.

`MahalanobisScore` is a third signal (Lee et al. 2018; Podolskiy et al. 2021): the distance to the nearest
intent's mean training vector, measured with one covariance shared by all intents (Ledoit-Wolf shrinkage,
as a few thousand rows cannot pin down a 384-d covariance). Where cosine closeness treats every direction
alike, it discounts the directions in which phrasings of one intent vary anyway. Its z-score is added to
the neighbour score; training keeps it only where out-of-scope validation examples show the sum abstains
better. On frozen MiniLM vectors it is a weak signal alone (docs/benchmarks_nlu.md): it is known to shine on
fine-tuned vectors, whose intents form tight clusters.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Abstention", "MahalanobisScore", "NeighbourScore", "OOS_CLASS", "OOS_LABELS", "choose_threshold"]

OOS_LABELS = frozenset({"oos", "out_of_scope", "other", "none"})
"""Labels read as "fits no intent" in training files: never an intent; they set the threshold, and with a
separate validation file the training file's ones also train the `OOS_CLASS` row of the head."""

OOS_CLASS = "__out_of_scope__"
"""The head's extra row trained on out-of-scope examples: it soaks up probability, never becomes an intent."""


@dataclass(frozen=True)
class NeighbourScore:
    """In-scope score = z(top probability) + z(mean cosine similarity to the `k` nearest training vectors)."""

    vectors: np.ndarray
    """The training messages' unit-length MiniLM vectors (stored as float16)."""
    k: int
    prob_mean: float
    prob_std: float
    near_mean: float
    near_std: float

    @functools.cached_property
    def _train32(self) -> np.ndarray:
        """The training vectors in float32, converted once (not on every message)."""
        return np.asarray(self.vectors, dtype=np.float32)

    def similarity(self, vectors: np.ndarray, chunk: int = 1024) -> np.ndarray:
        """Mean cosine similarity of each row to its `k` nearest training vectors."""
        train = self._train32
        k = min(self.k, len(train))
        rows = np.asarray(vectors, dtype=np.float32)
        out = np.empty(len(rows), dtype=np.float64)
        for start in range(0, len(rows), chunk):
            sims = rows[start : start + chunk] @ train.T
            out[start : start + chunk] = np.partition(sims, -k, axis=1)[:, -k:].mean(axis=1)
        return out

    def score(self, top_probability: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """Higher = more in scope; compare with the threshold chosen on the same score."""
        p = (np.asarray(top_probability, dtype=np.float64) - self.prob_mean) / self.prob_std
        return p + (self.similarity(vectors) - self.near_mean) / self.near_std

    @classmethod
    def calibrate(
        cls,
        train_vectors: np.ndarray,
        val_top_probability: np.ndarray,
        val_vectors: np.ndarray,
        *,
        k: int = 5,
    ) -> NeighbourScore:
        """Fit the z-scores on in-scope validation messages (never on the training rows, which are their
        own nearest neighbours)."""
        raw = cls(np.asarray(train_vectors, dtype=np.float16), k, 0.0, 1.0, 0.0, 1.0)
        near = raw.similarity(val_vectors)
        prob = np.asarray(val_top_probability, dtype=np.float64)
        return cls(
            raw.vectors,
            k,
            float(prob.mean()),
            float(prob.std()) or 1.0,
            float(near.mean()),
            float(near.std()) or 1.0,
        )

    def stats(self) -> dict[str, float]:
        return {
            "k": self.k,
            "prob_mean": self.prob_mean,
            "prob_std": self.prob_std,
            "near_mean": self.near_mean,
            "near_std": self.near_std,
        }


@dataclass(frozen=True)
class MahalanobisScore:
    """In-scope term = -z(Mahalanobis distance to the nearest intent mean), tied covariance with shrinkage.

    Stored whitened: `x @ whitening` maps a vector to a space where the shared covariance is the identity,
    so the distance to an intent is a plain Euclidean one to its whitened mean (`means`).
    """

    whitening: np.ndarray
    """(d, d): the inverse square root of the shrunk within-intent covariance (float32)."""
    means: np.ndarray
    """(intents, d): each intent's mean training vector, whitened (float32)."""
    dist_mean: float
    dist_std: float

    def distance(self, vectors: np.ndarray, chunk: int = 1024) -> np.ndarray:
        """Mahalanobis distance of each row to the nearest intent mean."""
        rows = np.asarray(vectors, dtype=np.float32)
        means_sq = (self.means**2).sum(axis=1)
        out = np.empty(len(rows), dtype=np.float64)
        for start in range(0, len(rows), chunk):
            z = rows[start : start + chunk] @ self.whitening
            sq = (z**2).sum(axis=1, keepdims=True) - 2 * z @ self.means.T + means_sq
            out[start : start + chunk] = np.sqrt(np.maximum(sq.min(axis=1), 0.0))
        return out

    def term(self, vectors: np.ndarray) -> np.ndarray:
        """Higher = more in scope (z-scored on the in-scope validation messages, like the other terms)."""
        return -(self.distance(vectors) - self.dist_mean) / self.dist_std

    @classmethod
    def fit(
        cls, train_vectors: np.ndarray, train_labels: Sequence[str], val_vectors: np.ndarray
    ) -> MahalanobisScore:
        """Intent means and one shared covariance from the training rows; z-scores from validation rows."""
        from sklearn.covariance import LedoitWolf

        x = np.asarray(train_vectors, dtype=np.float64)
        names, index = np.unique(np.asarray(train_labels), return_inverse=True)
        means = np.zeros((len(names), x.shape[1]))
        np.add.at(means, index, x)
        means /= np.bincount(index, minlength=len(names))[:, None]
        cov = LedoitWolf(assume_centered=True).fit(x - means[index]).covariance_
        values, basis = np.linalg.eigh(cov)
        # Shrinkage keeps every eigenvalue positive; the floor only guards rounding on degenerate data.
        values = np.maximum(values, 1e-6 * max(float(values.mean()), 1e-12))
        whitening = (basis / np.sqrt(values)).astype(np.float32)
        raw = cls(whitening, (means @ whitening).astype(np.float32), 0.0, 1.0)
        dist = raw.distance(val_vectors)
        return cls(raw.whitening, raw.means, float(dist.mean()), float(dist.std()) or 1.0)

    def stats(self) -> dict[str, float]:
        return {"dist_mean": self.dist_mean, "dist_std": self.dist_std}


@dataclass(frozen=True)
class Abstention:
    """The chosen threshold and what it does on the validation data."""

    threshold: float
    """Abstain when the in-scope score (the top intent's probability, or a `NeighbourScore`) is below this."""
    in_scope_accuracy: float
    """In-scope validation messages given the right intent (abstaining counts as wrong)."""
    abstain_rate: float
    """In-scope validation messages abstained on."""
    oos_recall: float | None
    """Out-of-scope validation messages abstained on (None without such messages)."""


def _summary(t: float, conf_in: np.ndarray, correct: np.ndarray, conf_oos: np.ndarray | None) -> Abstention:
    kept = conf_in >= t
    return Abstention(
        threshold=round(float(t), 4),
        in_scope_accuracy=round(float(np.mean(correct & kept)), 4),
        abstain_rate=round(float(np.mean(~kept)), 4),
        oos_recall=None if conf_oos is None or not len(conf_oos) else round(float(np.mean(conf_oos < t)), 4),
    )


def choose_threshold(
    confidence_in_scope: np.ndarray,
    correct_in_scope: np.ndarray,
    confidence_oos: np.ndarray | None = None,
    *,
    max_accuracy_drop: float = 0.02,
    max_abstain: float = 0.05,
) -> Abstention:
    """Pick the abstention threshold from validation confidences (see the module docstring)."""
    conf_in = np.asarray(confidence_in_scope, dtype=np.float64)
    correct = np.asarray(correct_in_scope, dtype=bool)
    if not len(conf_in):
        return Abstention(0.0, 0.0, 0.0, None)
    if confidence_oos is None or not len(confidence_oos):
        t = float(np.quantile(conf_in, max_abstain, method="lower"))
        return _summary(t, conf_in, correct, None)
    conf_oos = np.asarray(confidence_oos, dtype=np.float64)
    base = float(np.mean(correct))
    # "Never abstain" is a candidate too: 0 for probabilities, below every score for z-scores.
    lowest = float(min(conf_in.min(), conf_oos.min()))
    floor = 0.0 if lowest >= 0 else lowest - 1.0
    candidates = np.unique(np.concatenate([[floor], conf_in, conf_oos]))
    best_i, best_score = 0, -1.0
    for i, t in enumerate(candidates):
        acc = float(np.mean(correct & (conf_in >= t)))
        if acc < base - max_accuracy_drop:
            continue
        score = acc + float(np.mean(conf_oos < t))
        if score > best_score:
            best_i, best_score = i, score
    # The lowest threshold with the best score sits on a validation confidence; halfway down to the next
    # one below scores the same on validation and leaves a margin on both sides for unseen messages.
    t = float(candidates[best_i])
    if best_i > 0:
        t = (t + float(candidates[best_i - 1])) / 2
    return _summary(t, conf_in, correct, conf_oos)
