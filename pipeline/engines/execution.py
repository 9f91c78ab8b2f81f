"""Where fits run: Keras backend, per-worker thread caps, joblib backends that report finished fits.

Everything here must happen before Keras is imported, in the main process and in
every worker: loky workers receive the environment built by ``worker_env``.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Any

from joblib import parallel_config
from joblib._parallel_backends import LokyBackend

from pipeline.engines import watchdog
from pipeline.errors import UserError

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
    if "keras" in sys.modules and os.environ.get("KERAS_BACKEND") != name:
        raise UserError(
            f"execution.keras_backend={name}: Keras was already imported with "
            f"{os.environ.get('KERAS_BACKEND', 'tensorflow')}; start a fresh process"
        )
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


def library_versions(backend: str) -> dict[str, str]:
    """Versions that can change a stage's numbers (read without importing them)."""
    names = ["scikit-learn", "keras", "scikeras", "numpy", {"jax": "jaxlib", "tensorflow": "tensorflow"}[backend]]
    return {"backend": backend, **{name: metadata.version(name) for name in names}}


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


class _PrepareWorker:
    """Dask worker plugin: backend, quiet logs and thread caps before the worker imports Keras.

    A plugin (not a one-off call) so that workers that join or restart later get it too.
    """

    def __init__(self, env: dict[str, str]):
        self.env = env

    def setup(self, worker: Any = None) -> None:
        if "keras" in sys.modules and os.environ.get("KERAS_BACKEND") != self.env["KERAS_BACKEND"]:
            raise RuntimeError(f"this worker already imported Keras with backend {os.environ.get('KERAS_BACKEND')}")
        os.environ.update(self.env)


def answers_as_dask(address: str, timeout: float) -> None:
    """``UserError`` within ``timeout`` unless a Dask scheduler answers at a ``tcp://`` address.

    A scheduler sends its handshake as soon as a connection opens: 8 bytes of message length, then the message.
    Dask's own client would wait on a server that says nothing (an HTTP server) or read any 8 bytes as a length
    (and try to allocate exabytes); a look at the first bytes tells either apart from a scheduler at once.
    """
    import socket
    import struct
    from urllib.parse import urlsplit

    if "://" in address and not address.startswith("tcp://"):
        return  # tls, ws, ucx: their own handshakes come first; Dask's client checks those
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    where = f"execution.address={address}"
    not_dask = (f"{where}: something answers there, but not a Dask scheduler ({{}}); check the host and port (a "
                "scheduler listens on 8786 by default)")  # fmt: skip
    try:
        sock = socket.create_connection((parts.hostname, parts.port or 8786), timeout=timeout)
    except OSError as exc:
        reason = f"no answer within {timeout:g} s" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
        raise UserError(f"{where}: cannot reach a Dask scheduler there ({reason})") from None
    first = b""
    with sock:
        sock.settimeout(timeout)
        try:
            while len(first) < 8 and (chunk := sock.recv(8 - len(first))):
                first += chunk
        except TimeoutError:
            raise UserError(not_dask.format(f"no Dask handshake within {timeout:g} s")) from None
        except OSError as exc:
            raise UserError(not_dask.format(exc.strerror or exc)) from None
    if len(first) < 8 or not 0 < struct.unpack("<Q", first)[0] < 2**20:
        raise UserError(not_dask.format("its first bytes are not Dask's protocol"))


@contextlib.contextmanager
def dask_cluster(address: str | None, workers: int) -> Iterator[object]:
    """A Dask client: of the scheduler at ``address``, or of a local cluster started (and ended) here."""
    try:
        from distributed import Client, LocalCluster
        from distributed.diagnostics.plugin import WorkerPlugin
    except ImportError:
        raise UserError(
            "execution=dask needs Dask: pip install 'staged-keras-search[dask]' (or pip install 'dask[distributed]')"
        ) from None

    env = worker_env(None)
    cluster = None
    try:
        if address:
            answers_as_dask(address, timeout=10)
            client = Client(address, timeout=10)
        else:  # the cluster's worker processes end with this process, however it ends (its nannies live here)
            os.environ[watchdog.RUN] = str(os.getpid())
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=40, env=env, preload=[watchdog.__name__])  # fmt: skip
            client = Client(cluster)
    except (OSError, ValueError, TypeError) as exc:  # unreachable, or an address Dask cannot parse
        raise UserError(f"execution.address={address}: cannot reach a Dask scheduler there ({exc})") from None
    plugin = type("PrepareWorker", (_PrepareWorker, WorkerPlugin), {})(env)
    client.register_plugin(plugin, name="staged-keras-search")
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
