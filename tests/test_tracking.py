"""tracking=mlflow through the real CLI into a local store, read back with MLflow's own client."""
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, TINY, run_cli

pytestmark = pytest.mark.mlflow

mlflow = pytest.importorskip("mlflow")

STAGES = [*TINY, "dataset=iris", "order.stages=[optimizer,depth]", "model.epochs=1", "search.engine=fused"]


def client_in(folder):
    return mlflow.MlflowClient(f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}")


def runs_of(client, experiment):
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id], order_by=["attributes.start_time ASC"])


def test_a_run_its_stages_and_its_model_are_in_mlflow_and_reused_stages_say_so(tmp_path):
    duel = ("search.final_repeats=1", "model.params.model__depth=3")  # depth 3 is not in the grid: the tuned one differs
    proc = run_cli(*STAGES, *duel, "tracking=mlflow", "hydra.run.dir=run", cwd=tmp_path)
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
    assert {"report.md", "summary.csv", "charts", "duel.json"} <= {a.path for a in client.list_artifacts(parent.info.run_id)}
    dueled = json.loads((tmp_path / "run" / "duel.json").read_text())
    assert parent.data.metrics["duel_gain"] == pytest.approx(dueled["gain"]) and parent.data.tags["duel"] == dueled["says"]
    assert all(r.info.status == "FINISHED" for r in runs)
    mlflow.set_tracking_uri(client.tracking_uri)
    model = mlflow.pyfunc.load_model(f"runs:/{parent.info.run_id}/model")
    predictions = np.asarray(model.predict(np.zeros((3, 4), dtype="float32")))
    assert predictions.shape == (3, 3)  # iris: three class probabilities per row

    # The same command again: its stages come from the stage store, and are logged as such.
    assert run_cli(*STAGES, *duel, "tracking=mlflow", "hydra.run.dir=again", cwd=tmp_path).returncode == 0
    second = [r for r in runs_of(client, "iris") if "mlflow.parentRunId" not in r.data.tags and r.info.run_name == "again"][0]
    again = [r for r in runs_of(client, "iris") if r.data.tags.get("mlflow.parentRunId") == second.info.run_id]
    assert len(again) == 2 and {r.data.tags["reused"] for r in again} == {"true"}
    assert all("fits" not in r.data.metrics and len(r.data.tags["store_key"]) == 64 for r in again)


def test_order_auto_logs_each_stage_importance_and_the_order_it_chose(tmp_path):
    auto = ("order=auto", "order.auto.stages=[optimizer,depth]", "order.auto.budget=4")
    proc = run_cli(*STAGES, *auto, "tracking=mlflow", "hydra.run.dir=run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    chosen = json.loads((tmp_path / "run" / "importance.json").read_text())
    parent = [r for r in runs_of(client_in(tmp_path), "iris") if "mlflow.parentRunId" not in r.data.tags][0]
    assert parent.data.params["order"] == "auto" and parent.data.tags["order"] == " → ".join(chosen["order"])
    assert parent.data.tags["order_why"] == chosen["says"]
    assert {f"importance.{m['stage']}": m["share"] for m in chosen["stages"]} == {
        k: pytest.approx(v) for k, v in parent.data.metrics.items() if k.startswith("importance.")}
    assert "importance.json" in {a.path for a in client_in(tmp_path).list_artifacts(parent.info.run_id)}
    assert "order=auto:" in proc.stdout


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
    """As a multirun of one job: the sweep's run and the job's each say it once, and urllib3's retries stay quiet."""
    proc = run_cli("-m", *STAGES, "tracking=mlflow", "tracking.uri=http://127.0.0.1:9", "hydra.sweep.dir=sweep",
                   cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stdout.splitlines() if line.startswith("tracking=mlflow")]
    assert len(said) == 2 and "cannot create the sweep run" in said[0] and "the run goes on without tracking" in said[1]
    assert "Retrying" not in proc.stdout + proc.stderr
    assert "Retrying" in (tmp_path / "sweep" / "0" / "pipeline.log").read_text()  # the job's retries: in its log
    assert (tmp_path / "sweep" / "0" / "model.keras").is_file() and (tmp_path / "sweep" / "0" / "report.md").is_file()


def test_tracking_off_never_imports_mlflow(tmp_path):
    code = ("import sys, runpy; sys.argv = ['pipeline', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('pipeline', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('mlflow' in sys.modules)")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code, *STAGES], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=600)  # fmt: skip
    assert proc.stdout.strip().splitlines()[-1] == "False", proc.stderr[-2000:]


@pytest.mark.parametrize("multirun", [False, True])
def test_without_mlflow_installed_the_hint_is_one_line(tmp_path, multirun):
    code = ("import runpy, sys; sys.modules['mlflow'] = None; sys.argv = ['pipeline', *sys.argv[1:]]\n"
            "runpy.run_module('pipeline', run_name='__main__')")  # fmt: skip
    args = ["-m", "tracking=mlflow", "search.seed=0,1"] if multirun else ["tracking=mlflow"]
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=300)  # fmt: skip
    assert proc.returncode == 2
    hint = "error: tracking=mlflow: MLflow is not installed; pip install -e '.[mlflow]' (or tracking=none)"
    assert proc.stderr.strip() == (f"{hint}; no job was launched" if multirun else hint)
    assert "tracked on their own" not in proc.stdout and "Launching" not in proc.stdout + proc.stderr


# --- failures of tracking: runs marked, no stall ---------------------------------------------------


def _tracked_run(tmp_path, tracking):
    from pipeline import engines
    from pipeline.reports.files import RunFolder
    from pipeline.reports.observers import Observers
    from pipeline.reports.tracking import Tracker
    from pipeline.search import runner
    from tests.conftest import NullDisplay, spec_for

    spec = spec_for(f"store.dir={tmp_path / 'stages'}", "dataset=iris", "order.stages=[optimizer,depth]", "model.epochs=1",
                    "search.engine=fused")  # fmt: skip
    display = NullDisplay()
    with Tracker(tracking, display.note) as tracker, engines.create(spec, display.note) as engine:
        result = runner.run(spec, engine, Observers(display, RunFolder(), tracker), tmp_path / "run")
    return result, display, tracker


def test_a_failed_upload_marks_the_runs_it_leaves_failed_not_running(tmp_path):
    from pipeline.config.schema import TrackingSpec

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # artifacts under a file: every upload fails (even as root)
    client = mlflow.MlflowClient(uri)
    client.create_experiment("iris", artifact_location=(blocker / "artifacts").as_uri())
    result, display, _ = _tracked_run(tmp_path, TrackingSpec(kind="mlflow", uri=uri))
    assert np.isfinite(result.test_score) and (tmp_path / "run" / "report.md").is_file()
    assert len([n for n in display.notes if n.startswith("tracking=mlflow: cannot log")]) == 1
    runs = runs_of(client, "iris")
    assert len(runs) == 2 and {r.info.status for r in runs} == {"FAILED"}  # the parent and the stage's nested run
    assert result.stages[0].metric == "accuracy"


def test_an_unwritable_sqlite_store_is_one_warning_before_mlflow_is_asked(tmp_path):
    from pipeline.config.schema import TrackingSpec

    result, display, tracker = _tracked_run(tmp_path, TrackingSpec(kind="mlflow", uri="sqlite:////proc/mlflow.db"))
    said = [n for n in display.notes if n.startswith("tracking=mlflow")]
    assert len(said) == 1 and "cannot log to sqlite:////proc/mlflow.db (cannot write the MLflow database /proc/mlflow.db" in said[0]
    assert tracker.client is None and np.isfinite(result.test_score)  # MLflow never got to retry its connection
