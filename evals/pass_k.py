"""pass^k: the chance that k independent runs of a task all succeed, as τ-bench reports it.

With n runs of a task of which c succeeded, the unbiased estimate is C(c, k) / C(n, k); the suite's
pass^k is its mean over tasks. pass^1 is the plain success rate; pass^k falls with k for an agent
that succeeds only sometimes, which is what a customer who comes back k times experiences.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from math import comb


def pass_hat_k(outcomes: Mapping[str, Iterable[bool]], k: int) -> float:
    """Mean over tasks of C(successes, k) / C(runs, k); `outcomes` maps task id → run outcomes."""
    if k < 1:
        raise ValueError("k must be at least 1")
    values = []
    for task, runs in outcomes.items():
        runs = list(runs)
        if len(runs) < k:
            raise ValueError(f"{task}: {len(runs)} runs, cannot estimate pass^{k}")
        values.append(comb(sum(runs), k) / comb(len(runs), k))
    return sum(values) / len(values) if values else 0.0


def pass_hat_curve(outcomes: Mapping[str, Iterable[bool]]) -> dict[int, float]:
    """pass^k for every k from 1 to the smallest number of runs of any task."""
    lists = {t: list(r) for t, r in outcomes.items()}
    if not lists:
        return {}
    return {k: pass_hat_k(lists, k) for k in range(1, min(len(r) for r in lists.values()) + 1)}
