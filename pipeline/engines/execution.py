"""Where fits run: the Keras backend, the compile cache, per-worker thread caps and the library versions.

Everything here must happen before Keras is imported, in the main process and in
every worker: loky workers (``workers``) and Dask workers (``cluster``) receive the environment built by
``worker_env``.
"""
from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from importlib import metadata

from pipeline.common.errors import UserError

QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "GRPC_VERBOSITY": "ERROR", "ABSL_MIN_LOG_LEVEL": "3"}
Progress = Callable[[int], None]


def select_backend(name: str, compile_cache: str | None = None, host_devices: bool = False) -> str | None:
    """Set ``KERAS_BACKEND`` (and JAX's compile cache) for this process and its workers.

    Every fit builds a fresh model, so JAX would recompile the same train step for every
    fold; the persistent cache turns that ~1 s per fit into a disk read (measured 1.4 s ->
    0.3 s per fit on breast_cancer). ``host_devices`` shows JAX one CPU device per core, so
    that the fused engine can spread its models over the cores (GPUs are unaffected).
    Returns a line to show when the compile cache cannot be used (the run goes on without it).
    """
    running = imported_backend()
    if running is not None and running != name:  # what Keras runs, not what the environment says it should
        raise UserError(f"execution.keras_backend={name}: this process already runs Keras on {running}; set "
                        f"execution.keras_backend={running}")  # fmt: skip
    os.environ["KERAS_BACKEND"] = name
    os.environ.update(QUIET_ENV)
    if host_devices and "jax" not in sys.modules and "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
        flag = f"--xla_force_host_platform_device_count={cores()}"
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flag).strip()
    if compile_cache and name == "jax":
        path = os.path.expanduser(compile_cache)
        try:
            os.makedirs(path, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path):
                pass
        except OSError as exc:
            return (f"execution.compile_cache={compile_cache}: cannot write there ({exc.strerror}); compiling without "
                    "the cache (set execution.compile_cache=null, or a writable folder, to silence this)")  # fmt: skip
        os.environ.update(
            JAX_COMPILATION_CACHE_DIR=path,
            JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
            JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
        )
    return None


def imported_backend() -> str | None:
    """The backend of a Keras this process has already imported (a notebook's), or None if none is."""
    keras = sys.modules.get("keras")
    return str(keras.backend.backend()) if keras is not None else None


def library_versions(backend: str) -> dict[str, str]:
    """Versions that can change a stage's numbers (read without importing them)."""
    names = ["scikit-learn", "keras", "scikeras", "numpy", {"jax": "jaxlib"}.get(backend, backend)]
    return {"backend": backend, **{name: metadata.version(name) for name in names}}


def versions_of(estimator: object) -> dict[str, str]:
    """The installed versions of the libraries a user's estimator (and every estimator inside it) comes from: a new
    release of any of them may change its numbers, so the stage store keys them."""
    params = estimator.get_params(deep=True) if hasattr(estimator, "get_params") else {}  # nested estimators too
    inner = [v for v in params.values() if hasattr(v, "get_params") and not isinstance(v, type)]
    found = {type(thing).__module__.split(".")[0] for thing in (estimator, *inner)}
    distributions = _packages_distributions()
    return {name: metadata.version(name) for root in sorted(found) for name in distributions.get(root, [])[:1]}


@functools.cache
def _packages_distributions() -> Mapping[str, list[str]]:
    """Which installed distribution provides each top-level package: read once per process (it walks every installed
    package's file list, 0.85 s a call: most of a small StagedSearchCV fit's time before it was kept)."""
    return metadata.packages_distributions()


def free_memory() -> int | None:
    """Bytes of memory available to a new allocation now (Linux' MemAvailable), or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def devices() -> int:
    """The devices JAX trains on in this process (each holds its own copy of a stage's rows)."""
    import jax

    return len(jax.devices())


def cores() -> int:
    """The cores this process may use (its CPU affinity, which a container may narrow)."""
    return len(os.sched_getaffinity(0))


def thread_cap_env(threads: int) -> dict[str, str]:
    """Environment that limits TensorFlow, XLA (JAX) and OpenMP/BLAS to ``threads`` each."""
    xla = "--xla_cpu_multi_thread_eigen=false" if threads == 1 else ""  # XLA stops on a flag it does not know
    env = {
        "TF_NUM_INTRAOP_THREADS": str(threads),
        "TF_NUM_INTEROP_THREADS": str(min(threads, 2)),
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
    }
    if xla:
        env["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + xla).strip()
    return env


def worker_env(n_workers: int | None) -> dict[str, str]:
    """What a worker needs before it imports Keras: backend, quiet logs, a fair share of cores.

    ``n_workers=None`` (a Dask worker, whose neighbours we cannot see) means one thread per fit.
    """
    threads = 1 if n_workers is None else max(1, cores() // max(1, n_workers))
    return {"KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "jax"), **QUIET_ENV, **thread_cap_env(threads)}
