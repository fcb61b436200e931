"""Process-wide runtime settings that the latency budget depends on."""

from __future__ import annotations

import functools
import logging

_LOGGER = logging.getLogger(__name__)


@functools.cache
def single_threaded_blas() -> None:
    """Pin BLAS (OpenBLAS/MKL under numpy, scipy, scikit-learn) to one thread, once.

    The assistant's parallelism is across calls, not inside one small matrix product.
    Measured here: a routing query takes ~3 ms with one BLAS thread and ~13 ms with
    two, because OpenBLAS worker threads spin against the other busy core.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        _LOGGER.warning("threadpoolctl missing: BLAS may use several threads per query")
        return
    threadpool_limits(limits=1, user_api="blas")
