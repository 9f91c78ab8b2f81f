"""Workers end with the run: a thread that exits this process within a second of the run's main process ending.

Whatever ended it, ``kill -9`` and the out-of-memory killer included (no cleanup code of the
main process runs then). Loky workers start it as their initializer; a local Dask cluster's
nannies and workers load this module at start-up (Dask's ``preload``), the run's process id
in ``STAGED_KERAS_SEARCH_RUN``. Only the main process writes the stage store, so a worker
that ends this way leaves nothing half-written.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any

RUN = "STAGED_KERAS_SEARCH_RUN"  # environment: the main process a local cluster's processes end with
_watching: set[int] = set()


def end_with(pid: int, every: float = 0.5) -> None:
    """Watch process ``pid`` from a daemon thread; ``os._exit`` when it is gone (or a zombie)."""
    if pid in _watching:
        return
    _watching.add(pid)

    def watch() -> None:
        while alive(pid):
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name=f"end-with-{pid}", daemon=True).start()


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (not Linux): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True


def dask_setup(server: Any) -> None:
    """Dask preload hook, in a local cluster's worker processes."""
    if os.environ.get(RUN):
        end_with(int(os.environ[RUN]))
