"""tracking=mlflow through the real CLI into a local store, read back with MLflow's own client."""
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, TINY, run_cli

mlflow = pytest.importorskip("mlflow")

STAGES = [*TINY, "dataset=iris", "order.stages=[optimizer,depth]", "model.epochs=1", "search.engine=fused"]


def client_in(folder):
    return mlflow.MlflowClient(f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}")


def runs_of(client, experiment):
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id], order_by=["attributes.start_time ASC"])


def test_a_run_its_stages_and_its_model_are_in_mlflow_and_reused_stages_say_so(tmp_path):
    proc = run_cli(*STAGES, "tracking=mlflow", "hydra.run.dir=run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    client = client_in(tmp_path)
    runs = runs_of(client, "iris")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1
    parent = parents[0]
    stages = sorted((r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id),
                    key=lambda r: r.info.run_name)  # fmt: skip
    assert [r.info.run_name for r in stages] == ["01 optimizer", "02 depth"]
    summary = (tmp_path / "run" / "summary.csv").read_text().splitlines()
    assert len(summary) == 3
    best = json.loads((tmp_path / "run" / "best_params.json").read_text())
    assert parent.data.params["best.optimizer"] == best["optimizer"] and parent.data.params["order"] == "optimizer,depth"
    test = json.loads((tmp_path / "run" / "test_score.json").read_text())["value"]
    assert parent.data.metrics["test_accuracy"] == pytest.approx(test)
    optimizer = stages[0]
    assert optimizer.data.params["winner.optimizer"] == best["optimizer"] and optimizer.data.tags["reused"] == "false"
    assert optimizer.data.metrics["fits"] == 4 and len(optimizer.data.tags["store_key"]) == 64
    assert {a.path for a in client.list_artifacts(optimizer.info.run_id)} == {"chart.png", "cv_results.csv"}
    assert {"report.md", "summary.csv", "charts"} <= {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert all(r.info.status == "FINISHED" for r in runs)
    mlflow.set_tracking_uri(client.tracking_uri)
    model = mlflow.pyfunc.load_model(f"runs:/{parent.info.run_id}/model")
    predictions = np.asarray(model.predict(np.zeros((3, 4), dtype="float32")))
    assert predictions.shape == (3, 3)  # iris: three class probabilities per row

    # The same command again: its stages come from the stage store, and are logged as such.
    assert run_cli(*STAGES, "tracking=mlflow", "hydra.run.dir=again", cwd=tmp_path).returncode == 0
    second = [r for r in runs_of(client, "iris") if "mlflow.parentRunId" not in r.data.tags and r.info.run_name == "again"][0]
    again = [r for r in runs_of(client, "iris") if r.data.tags.get("mlflow.parentRunId") == second.info.run_id]
    assert len(again) == 2 and {r.data.tags["reused"] for r in again} == {"true"}
    assert all("fits" not in r.data.metrics and len(r.data.tags["store_key"]) == 64 for r in again)


def test_a_multirun_nests_its_jobs_under_a_sweep_run_with_the_comparison(tmp_path):
    proc = run_cli("-m", *STAGES, "tracking=mlflow", "search.seed=0,1", "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    client = client_in(tmp_path)
    runs = runs_of(client, "iris")
    sweeps = [r for r in runs if "sweep" in r.data.tags]
    assert len(sweeps) == 1 and sweeps[0].info.status == "FINISHED"
    jobs = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == sweeps[0].info.run_id]
    assert len(jobs) == 2 and {r.data.params["seed"] for r in jobs} == {"0", "1"}
    assert "comparison.md" in {a.path for a in client.list_artifacts(sweeps[0].info.run_id)}


def test_a_tracking_server_that_is_down_costs_one_line_and_nothing_else(tmp_path):
    proc = run_cli(*STAGES, "tracking=mlflow", "tracking.uri=http://127.0.0.1:9", "hydra.run.dir=run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stdout.splitlines() if "tracking=mlflow" in line]
    assert len(said) == 1 and "the run goes on without tracking" in said[0]
    assert (tmp_path / "run" / "model.keras").is_file() and (tmp_path / "run" / "report.md").is_file()


def test_tracking_off_never_imports_mlflow(tmp_path):
    code = ("import sys, runpy; sys.argv = ['pipeline', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('pipeline', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('mlflow' in sys.modules)")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code, *STAGES], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=600)  # fmt: skip
    assert proc.stdout.strip().splitlines()[-1] == "False", proc.stderr[-2000:]


def test_without_mlflow_installed_the_hint_is_one_line(tmp_path):
    code = ("import runpy, sys; sys.modules['mlflow'] = None; sys.argv = ['pipeline', *sys.argv[1:]]\n"
            "runpy.run_module('pipeline', run_name='__main__')")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code, "tracking=mlflow"], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=300)  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: tracking=mlflow: MLflow is not installed; pip install -e '.[mlflow]' (or tracking=none)"
