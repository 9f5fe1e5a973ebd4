"""Out-of-scope abstention: when no intent fits a message, say so instead of guessing.

A classifier always names its most likely intent; the abstention rule is a threshold on that intent's
probability, chosen on validation data, never on the test set:

- with out-of-scope examples in the validation data (CLINC150's `oos` queries, or a team's own "other"
  label), the threshold maximises in-scope accuracy + out-of-scope recall, among thresholds that cost at
  most `max_accuracy_drop` of in-scope accuracy;
- without them, it is the highest threshold that abstains on at most `max_abstain` of in-scope messages.

Below the threshold the caller routes to its fallback: ask to rephrase, or offer a person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Abstention", "choose_threshold", "OOS_LABELS"]

OOS_LABELS = frozenset({"oos", "out_of_scope", "other", "none"})
"""Labels read as "fits no intent" in training files: kept out of the classes, used to set the threshold."""


@dataclass(frozen=True)
class Abstention:
    """The chosen threshold and what it does on the validation data."""

    threshold: float
    """Abstain when the top intent's probability is below this."""
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
    candidates = np.unique(np.concatenate([[0.0], conf_in, conf_oos]))
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
