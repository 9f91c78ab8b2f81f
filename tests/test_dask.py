"""execution=dask: fits on a real Dask cluster (a scheduler and two worker processes on 127.0.0.1)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT, TINY, run_cli

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.dask

DASK = shutil.which("dask", path=str(Path(sys.executable).parent)) or "dask"
ARGS = [a for a in TINY if not a.startswith("search.n_jobs")] + [
    "search.engine=gridsearchcv", "dataset=wine", "order.stages=[optimizer,neurons]", "stages.neurons.grid.model__neurons=[2,32]",
    "model.epochs=4", "store.mode=off",
]  # fmt: skip


@pytest.fixture
def cluster(tmp_path):
    """`dask scheduler` and two `dask worker` processes (no nanny: a killed worker stays dead)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("KERAS_BACKEND", None)
    file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(file)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]  # fmt: skip
    deadline = time.time() + 60
    while not file.exists() and time.time() < deadline:
        time.sleep(0.2)
    address = json.loads(file.read_text())["address"]
    for _ in range(2):
        procs.append(subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
    client = distributed.Client(address, timeout=60)
    client.wait_for_workers(2, timeout=120)
    yield address, client, procs[1:]
    client.close()
    for proc in procs:
        proc.kill()
        proc.wait()


def tasks_done_per_worker(client) -> list[int]:
    return list(client.run(lambda dask_worker: len(dask_worker.state.log)).values())


def test_fits_run_on_the_workers_and_winners_equal_a_local_run(cluster, tmp_path):
    address, client, _ = cluster
    before = tasks_done_per_worker(client)
    on_dask = run_cli(*ARGS, "execution=dask", f"execution.address={address}", f"hydra.run.dir={tmp_path / 'dask'}",
                      cwd=tmp_path)  # fmt: skip
    assert on_dask.returncode == 0, on_dask.stderr
    after = tasks_done_per_worker(client)
    assert all(a > b for a, b in zip(after, before)), "both workers ran fits"
    backends = client.run(lambda: os.environ.get("KERAS_BACKEND"))
    assert set(backends.values()) == {"jax"}
    local = run_cli(*ARGS, "search.n_jobs=-1", f"hydra.run.dir={tmp_path / 'local'}", cwd=tmp_path)  # 1 thread per fit
    assert local.returncode == 0, local.stderr
    dask_summary = pd.read_csv(tmp_path / "dask" / "summary.csv")
    local_summary = pd.read_csv(tmp_path / "local" / "summary.csv")
    assert list(dask_summary["winner"]) == list(local_summary["winner"])
    assert (abs(dask_summary["mean_score"] - local_summary["mean_score"]) < 1e-6).all()


@pytest.mark.slow
def test_a_worker_lost_mid_stage_the_stage_completes_on_the_other(cluster, tmp_path):
    address, client, workers = cluster
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("KERAS_BACKEND", None)
    slow = [*ARGS[:-1], "store.mode=readwrite", "model.epochs=60", "stages.neurons.grid.model__neurons=[2,8,16,32]"]
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", *slow, "execution=dask", f"execution.address={address}",
                             f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    store = tmp_path / "stages"
    deadline = time.time() + 240
    while not (store.is_dir() and any(not p.name.startswith(".") for p in store.iterdir())) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # inside the depth stage
    workers[0].send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    summary = pd.read_csv(tmp_path / "run" / "summary.csv")
    assert list(summary["stage"]) == ["optimizer", "neurons"] and summary["failed_fits"].sum() == 0
    assert summary["fits"].tolist() == [4, 8]  # every fit of the stage came back


@pytest.mark.slow
def test_local_dask_cluster_started_by_the_run(tmp_path):
    proc = run_cli(*ARGS, "order.stages=[neurons]", "execution=dask", "execution.workers=2",
                   f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "run" / "summary.csv").is_file()


def test_unreachable_scheduler_is_one_line(tmp_path):
    proc = run_cli(*ARGS, "execution=dask", "execution.address=tcp://127.0.0.1:1", cwd=tmp_path)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "execution.address=tcp://127.0.0.1:1: cannot reach a Dask scheduler" in lines[0]


def test_without_dask_installed_the_error_says_how_to_install_it(tmp_path):
    hide = tmp_path / "no_dask"
    hide.mkdir()
    (hide / "distributed.py").write_text("raise ImportError('No module named distributed')\n")
    env = {**os.environ, "PYTHONPATH": f"{hide}{os.pathsep}{ROOT}"}
    env.pop("KERAS_BACKEND", None)
    proc = subprocess.run([sys.executable, "-m", "pipeline", *ARGS, "execution=dask"], cwd=tmp_path, env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "pip install 'staged-keras-search[dask]'" in lines[0]


# --- an address that answers, but not as a scheduler ------------------------------------------------


def _serve(reply: bytes | None):
    """A TCP server on 127.0.0.1 that sends ``reply`` on connecting and hangs up (None: waits silently, as an HTTP
    server does for a request)."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))

    def accept():
        with server:
            conn, _ = server.accept()
            with conn:
                if reply is None:
                    time.sleep(3)
                else:
                    conn.sendall(reply)

    threading.Thread(target=accept, daemon=True).start()
    return f"tcp://127.0.0.1:{server.getsockname()[1]}"


@pytest.mark.parametrize("reply, reason", [
    (None, "no Dask handshake within 1 s"),
    (b"HTTP/1.1 400 Bad Request\r\n\r\n", "its first bytes are not Dask's protocol"),
    (b"", "its first bytes are not Dask's protocol"),
])  # fmt: skip
def test_an_address_that_is_not_a_scheduler_is_one_line_within_the_timeout(reply, reason):
    from pipeline.common.errors import UserError
    from pipeline.engines.cluster import answers_as_dask

    address = _serve(reply)
    started = time.monotonic()
    with pytest.raises(UserError, match=f"something answers there, but not a Dask scheduler \\({reason}\\)"):
        answers_as_dask(address, timeout=1)
    assert time.monotonic() - started < 5


def test_an_out_of_range_port_is_refused_before_anything_starts():
    from pipeline.common.errors import UserError
    from tests.conftest import spec_for

    with pytest.raises(UserError, match=r"execution.address=tcp://127.0.0.1:70000: the port must be from 1 to 65535"):
        spec_for("execution=dask", "execution.address=tcp://127.0.0.1:70000")
