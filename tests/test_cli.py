"""``python -m pipeline`` in a fresh process, as a user types it."""
import json

import pytest
from joblib import Parallel, delayed, parallel_config

from pipeline.engines.workers import TrackedLokyBackend
from tests.conftest import ROOT, TINY, run_cli

NOISE = ("I0000", "W0000", "absl::", "oneDNN", "cudart", "DeprecationWarning", "Traceback")


@pytest.mark.workers
def test_cli_runs_with_overrides_in_parallel_workers_and_keeps_the_terminal_clean(tmp_path):
    out = tmp_path / "run"
    tiny = [t for t in TINY if not t.startswith("search.n_jobs")]
    plant = tmp_path / "plant"  # a framework that warns and prints to stderr in the middle of a stage
    plant.mkdir()
    (plant / "sitecustomize.py").write_text(
        "import sys, warnings\nimport pipeline.search.stage\nrun = pipeline.search.stage.run_stage\n"
        "def noisy(*args, **kwargs):\n"
        "    warnings.warn('planted: a framework warning', DeprecationWarning)\n"
        "    print(\"planted: a framework's print to stderr\", file=sys.stderr)\n"
        "    return run(*args, **kwargs)\n"
        "pipeline.search.stage.run_stage = noisy\nimport pipeline.search.runner\npipeline.search.runner.run_stage = noisy\n")  # fmt: skip
    proc = run_cli(*tiny, "search.n_jobs=2", "search.engine=gridsearchcv", "dataset=iris", "order.stages=[optimizer,depth]", f"hydra.run.dir={out}",
                   cwd=tmp_path, env={"PYTHONPATH": f"{plant}:{ROOT}", "PYTHONWARNINGS": "always"})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "stage 2/2 depth" in proc.stdout and f"run folder: {out}" in proc.stdout
    for noise in NOISE:
        assert noise not in proc.stdout and noise not in proc.stderr
    assert proc.stderr.strip() == ""
    for name in ("summary.csv", "best_params.json", "test_score.json", "model.keras", "pipeline.log"):
        assert (out / name).is_file(), name
    assert (out / "cv_results" / "02_depth.csv").is_file()
    log = (out / "pipeline.log").read_text()
    assert "planted: a framework warning" in log and "planted: a framework's print to stderr" in log  # routed, kept


def test_config_error_is_one_line_with_exit_code_2(tmp_path):
    proc = run_cli("order.stages=[optimizer,widht]", cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: order.stages: unknown stage 'widht'")
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("outputs/*/*")), "a config error leaves no run folder behind"


def test_full_traceback_on_request(tmp_path):
    proc = run_cli("search.cv=1", cwd=tmp_path, env={"HYDRA_FULL_ERROR": "1"})
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "search.cv=1" in proc.stderr


def test_help_does_not_import_keras(tmp_path):
    proc = run_cli("--help", cwd=tmp_path, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert proc.returncode == 0 and "dataset: breast_cancer" in proc.stdout
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "keras" not in imported and "tensorflow" not in imported and "jax" not in imported


def _backend_in_worker() -> tuple[str, str, str]:
    import os

    import keras

    return keras.backend.backend(), os.environ["TF_NUM_INTRAOP_THREADS"], os.environ.get("XLA_FLAGS", "")


def test_workers_get_the_backend_and_thread_caps_before_keras_is_imported(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    with parallel_config(backend=TrackedLokyBackend(), n_jobs=2):
        results = Parallel()(delayed(_backend_in_worker)() for _ in range(2))
    import os

    threads = str(max(1, (os.cpu_count() or 1) // 2))
    for backend, intra, xla in results:
        assert backend == "jax" and intra == threads
        assert ("--xla_cpu_multi_thread_eigen=false" in xla) == (threads == "1")


@pytest.mark.tensorflow
@pytest.mark.parametrize("backend", ["tensorflow"])
def test_tensorflow_backend_from_the_command_line(tmp_path, backend):
    out = tmp_path / "run"
    proc = run_cli(*TINY, "dataset=iris", "order.stages=[depth]", f"execution.keras_backend={backend}",
                   f"hydra.run.dir={out}", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "test_score.json").read_text())["metric"] == "accuracy"
