"""joblib backends that report each finished fit and start workers ready for Keras (loky, or a Dask cluster's)."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from joblib import parallel_config
from joblib._parallel_backends import LokyBackend

from pipeline.engines import watchdog
from pipeline.engines.execution import Progress, worker_env


class _Tracked:
    """Mixin for a joblib backend: report each finished batch of fits to ``progress``."""

    def __init__(self, *args: Any, progress: Progress = lambda n: None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.progress = progress

    def submit(self, func: Any, callback: Callable[[Any], None] | None = None) -> Any:
        size = len(func) if hasattr(func, "__len__") else 1

        def done(result: Any) -> None:
            self.progress(size)
            if callback is not None:
                callback(result)

        return super().submit(func, callback=done)  # type: ignore[misc]  # a mixin: the joblib backend's method


class TrackedLokyBackend(_Tracked, LokyBackend):
    """joblib's loky backend with capped worker threads, a callback per finished fit, and workers
    that end within a second of this process ending, however it ended (``watchdog``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, initializer=watchdog.end_with, initargs=(os.getpid(),), **kwargs)

    def _prepare_worker_env(self, n_jobs: int) -> dict[str, str]:
        env: dict[str, str] = super()._prepare_worker_env(n_jobs)
        return env | worker_env(n_jobs)


@contextlib.contextmanager
def fits_running(n_jobs: int, progress: Progress, dask_client: Any = None) -> Iterator[None]:
    """Run the joblib calls inside on ``n_jobs`` workers (or the Dask cluster), reporting each fit.

    Workers report through the backend's completion callback. With ``n_jobs == 1`` joblib
    runs the fits here and bypasses backends; the scorer then reports (see ``FitScore``).
    """
    if dask_client is not None:
        from joblib._dask import DaskDistributedBackend

        tracked = type("TrackedDaskBackend", (_Tracked, DaskDistributedBackend), {})
        backend, jobs = tracked(client=dask_client, progress=progress), -1
    else:
        backend, jobs = TrackedLokyBackend(progress=progress), n_jobs
    with parallel_config(backend=backend, n_jobs=jobs):
        yield
