"""A killed run leaves no workers behind: loky workers, their resource trackers, a local Dask cluster.

``kill -9`` of the main process (what the out-of-memory killer or a crashed terminal does)
runs no cleanup code there; every process the run started must end by itself within seconds.
The CLI is started as a session leader, so its processes are found by their session id even
after they are reparented.
"""
import os
import signal
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import ROOT, TINY, entries, start, wait_for
from tests.test_reliability import session

pytestmark = pytest.mark.signals

PARALLEL = [*[a for a in TINY if not a.startswith("search.n_jobs")], "search.n_jobs=2", "search.engine=gridsearchcv",
            "dataset=breast_cancer",
            "model.epochs=15", "order.stages=[optimizer,neurons,depth]", "stages.neurons.grid.model__neurons=[4,8,16,32]"]  # fmt: skip


def kill_9_mid_stage_then_resume(tmp_path, args: list[str], workers: int) -> None:
    proc = start(*args, f"hydra.run.dir={tmp_path / 'killed'}", cwd=tmp_path)
    wait_for(lambda: len(entries(tmp_path)) == 1)  # stage 1 stored: stage 2 is running on the workers
    wait_for(lambda: len(session(proc.pid)) >= 1 + workers)
    assert set(session(proc.pid)) - {proc.pid}  # workers (and their resource tracker) are running
    os.kill(proc.pid, signal.SIGKILL)  # the main process only, as the out-of-memory killer does
    proc.wait()
    wait_for(lambda: not session(proc.pid), seconds=10)  # nothing it started is left, reparented or not
    assert len(entries(tmp_path)) == 1 and not list((tmp_path / "stages").glob(".tmp-*"))  # nothing half-written

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    resumed = subprocess.run([sys.executable, "-m", "pipeline", *args, f"hydra.run.dir={tmp_path / 'resumed'}"],
                             cwd=tmp_path, capture_output=True, text=True, env=env)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    summary = pd.read_csv(tmp_path / "resumed" / "summary.csv")
    assert list(summary["reused"]) == [True, False, False]
    fresh = subprocess.run([sys.executable, "-m", "pipeline", *args, "store.mode=off", f"hydra.run.dir={tmp_path / 'fresh'}"],
                           cwd=tmp_path, capture_output=True, text=True, env=env)  # fmt: skip
    assert fresh.returncode == 0, fresh.stderr
    assert list(summary["winner"]) == list(pd.read_csv(tmp_path / "fresh" / "summary.csv")["winner"])


def test_kill_9_leaves_no_loky_workers_and_the_rerun_resumes_with_the_same_winners(tmp_path):
    kill_9_mid_stage_then_resume(tmp_path, PARALLEL, workers=2)


@pytest.mark.slow
@pytest.mark.dask
def test_kill_9_leaves_no_local_dask_cluster_and_the_rerun_resumes(tmp_path):
    pytest.importorskip("distributed")
    args = [*PARALLEL, "execution=dask", "execution.workers=2", "model.epochs=40"]
    kill_9_mid_stage_then_resume(tmp_path, args, workers=2)  # worker processes (their nannies live in the main one)
