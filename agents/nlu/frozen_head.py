"""A softmax (multinomial logistic-regression) head over frozen MiniLM vectors: the fast training method.

The encoder is the one the whole process shares (`kefu.encoder.shared_encoder`), so an intent head and a
sentiment head read the same vector of a message: one encoder forward pays for both. Training is a
logistic regression on a few thousand 384-d rows (seconds); the result is two plain arrays, no pickle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["LinearHead", "fit_linear_head"]


@dataclass(frozen=True)
class LinearHead:
    """Softmax over `labels` of `vectors @ coef.T + intercept`."""

    labels: tuple[str, ...]
    coef: np.ndarray
    """Shape (len(labels), 384)."""
    intercept: np.ndarray
    """Shape (len(labels),)."""

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        return np.asarray(vectors, dtype=np.float32) @ self.coef.T + self.intercept

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        z = self.logits(vectors)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def fit_linear_head(
    vectors: np.ndarray,
    labels: Sequence[str],
    *,
    label_names: Sequence[str] | None = None,
    c: float = 20.0,
    class_weight: str | None = None,
    sample_weight: np.ndarray | None = None,
    max_iter: int = 3000,
) -> LinearHead:
    """Fit the head; rows come out in `label_names` order (default: sorted labels).

    `c` is the inverse L2 strength; on unit-length MiniLM vectors the measured sweet spot is 10–50
    (weaker regularisation than sklearn's default 1.0, which underfits unit vectors).
    """
    from sklearn.linear_model import LogisticRegression

    names = list(label_names) if label_names is not None else sorted(set(labels))
    clf = LogisticRegression(C=c, max_iter=max_iter, class_weight=class_weight)
    clf.fit(np.asarray(vectors, dtype=np.float32), list(labels), sample_weight=sample_weight)
    position = {str(lab): i for i, lab in enumerate(clf.classes_)}
    coef = np.zeros((len(names), clf.coef_.shape[1]), dtype=np.float32)
    intercept = np.full(len(names), -1e4, dtype=np.float32)  # a label absent from training is never chosen
    if len(clf.classes_) == 2:  # sklearn keeps one row for two classes: spread it over both
        half_coef, half_b = clf.coef_[0] / 2, clf.intercept_[0] / 2
        rows = {str(clf.classes_[0]): (-half_coef, -half_b), str(clf.classes_[1]): (half_coef, half_b)}
        for i, name in enumerate(names):
            if name in rows:
                coef[i], intercept[i] = rows[name]
    else:
        for i, name in enumerate(names):
            if name in position:
                coef[i] = clf.coef_[position[name]]
                intercept[i] = clf.intercept_[position[name]]
    return LinearHead(tuple(names), coef, intercept)
