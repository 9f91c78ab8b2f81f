"""Dask for ``execution=dask``: a scheduler checked before Dask is asked, a local cluster, workers prepared for Keras."""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from pipeline.common.errors import UserError
from pipeline.engines import watchdog
from pipeline.engines.execution import worker_env


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
