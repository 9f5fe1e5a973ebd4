"""Single-threaded BLAS around implicit's solvers.

implicit runs its own thread pool over users and items; when OpenBLAS or MKL also spawn threads the
two pools fight for the same cores and fitting gets up to ten times slower (implicit warns about it
at model construction). We set ``OPENBLAS_NUM_THREADS=1`` before numpy is first imported when we
can (the variable is read once, at library load), and otherwise limit BLAS with threadpoolctl for
the duration of a fit only, so the rest of an embedding process keeps its BLAS threads.
"""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager

_BLAS_ENV_VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_blas_threads_early() -> bool:
    """Set the BLAS thread variables to 1 if numpy is not loaded yet; return whether they apply.

    A value the operator already set is kept: this is a default, not an override.
    """
    if "numpy" in sys.modules:
        return False
    for name in _BLAS_ENV_VARS:
        os.environ.setdefault(name, "1")
    return True


def single_threaded_blas() -> AbstractContextManager[object]:
    """A context in which BLAS uses one thread (implicit's own ``num_threads`` is unaffected)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
