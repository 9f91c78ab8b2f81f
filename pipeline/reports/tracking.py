"""Experiment tracking in MLflow (``tracking=mlflow``): one run per command, a nested run per stage.

An observer, as the terminal and the run folder are: it hears the same moments and writes
them through ``mlflow.MlflowClient`` to a local SQLite store under the directory the command
was started from (``mlruns/``), or to ``tracking.uri``. A multirun groups its jobs under one
sweep run that the comparison is logged to (``sweep_started``, ``sweep_finished``). Tracking only records: any
failure of it (a server down, a full disk) is one warning line, tracking stops, and the
search and its run folder go on as without it. MLflow is imported only when tracking is on.
It loads the final network (Keras) only to log it as an MLflow model, after the search.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from pipeline.common.records import RunResult, StageResult
from pipeline.config.schema import RunSpec, TrackingSpec
from pipeline.reports.observers import Observer
from pipeline.reports.words import describe, duel_sentence, importance_sentence

log = logging.getLogger(__name__)
SWEEP_RUN = "STAGED_SEARCH_MLFLOW_SWEEP_RUN"  # set by the multirun callback: the sweep run the jobs nest under


def client_for(tracking: TrackingSpec, experiment: str) -> Any:
    """The MLflow client and the experiment's id (created if new); local runs go to ``./mlruns``."""
    uri, artifacts = tracking.uri, None
    if uri is None:
        folder = Path.cwd() / "mlruns"
        folder.mkdir(exist_ok=True)
        uri, artifacts = f"sqlite:///{folder / 'mlflow.db'}", folder.as_uri()
    if uri.startswith("sqlite:///"):
        writable(Path(uri.removeprefix("sqlite:///")))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")  # a server that is down: one warning, not minutes
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")  # (set before the client exists: it reads them)
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    return client, found.experiment_id if found else client.create_experiment(experiment, artifact_location=artifacts)


def writable(database: Path) -> None:
    """Raise at once (OSError) where a SQLite store cannot be written: MLflow would retry for minutes first."""
    import uuid

    probe = database.parent / f".probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.touch()
        probe.unlink()
        if database.exists() and not os.access(database, os.W_OK):
            raise PermissionError(13, "read-only", str(database))
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write the MLflow database {database} ({exc.strerror})") from None


def experiment_name(spec: RunSpec) -> str:
    data = spec.dataset
    return spec.tracking.experiment or (Path(data.path).stem if data.name == "file" and data.path else data.name)


class Tracker(Observer):
    """The command's MLflow run, its stages as nested runs, the final model and report as artifacts."""

    def __init__(self, tracking: TrackingSpec, note: Callable[[str], None]):
        self.tracking, self.warn = tracking, note  # not ``note``: that is the moment every observer hears
        self.client: Any = None  # an MlflowClient once the run started
        self.run_id: str | None = None
        self.stage_run: str | None = None

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None) -> None:
        if self.run_id is not None:  # the run did not finish: say how it ended
            status = "KILLED" if kind is not None and issubclass(kind, KeyboardInterrupt) else "FAILED"
            self._safely(lambda: self.client.set_terminated(self.run_id, status))

    def run_started(self, spec: RunSpec, run_dir: Path) -> None:
        self.run_dir, self.metric = run_dir, None
        self._safely(lambda: self._start(spec, run_dir))

    def stage_finished(self, index: int, result: StageResult) -> None:
        self._safely(lambda: self._stage(index, result))

    def run_finished(self, result: RunResult) -> None:
        self._safely(lambda: self._finish(result))

    def _start(self, spec: RunSpec, run_dir: Path) -> None:
        self.client, experiment = client_for(self.tracking, experiment_name(spec))
        tags = {"run_folder": str(run_dir), "order": "auto" if spec.order.auto.enabled else " → ".join(spec.order.stages)}
        if os.environ.get(SWEEP_RUN):
            tags["mlflow.parentRunId"] = os.environ[SWEEP_RUN]
        run = self.client.create_run(experiment, run_name=run_dir.name, tags=tags)
        self.run_id, self.experiment = run.info.run_id, experiment
        s = spec.search
        self._params(self.run_id, {
            "dataset": spec.dataset.name if spec.dataset.name != "file" else spec.dataset.path, "order": "auto" if spec.order.auto.enabled else ",".join(spec.order.stages),
            "engine": s.engine, "strategy": s.strategy, "select": s.select, "cv": s.cv, "repeats": s.repeats, "seed": s.seed,
            "racing": s.racing, "nuisance": json.dumps(s.nuisance, sort_keys=True), "epochs": spec.model.epochs,
            "batch_size": spec.model.batch_size, "early_stopping": spec.model.early_stopping.enabled,
        })  # fmt: skip

    def _stage(self, index: int, result: StageResult) -> None:
        if self.run_id is None:
            return
        tags = {"mlflow.parentRunId": self.run_id, "stage": result.stage, "reused": str(result.reused).lower(),
                "decision": describe(result.decision)[:5000]}  # fmt: skip
        if result.key:
            tags["store_key"] = result.key
        run = self.client.create_run(self.experiment, run_name=f"{index:02d} {result.stage}", tags=tags)
        stage = self.stage_run = run.info.run_id
        self._params(stage, {"tuned": " ".join(result.tuned), **{f"frozen.{k}": v for k, v in result.frozen.items()},
                             **{f"winner.{k}": v for k, v in result.winner.items()}})  # fmt: skip
        metrics = {"mean_cv_score": result.mean_score, "std_cv_score": result.std_score, "candidates": result.candidates}
        if not result.reused:  # read from the stage store: nothing was trained or timed by this run
            metrics |= {"fits": result.fits, "failed_fits": result.failed_fits, "seconds": result.seconds,
                        "fits_reused": result.fits_reused, "model_epochs": result.model_epochs}  # fmt: skip
        self._metrics(stage, metrics)
        if len(result.cv_results):
            from pipeline.reports import plots

            with tempfile.TemporaryDirectory() as tmp:
                result.cv_results.to_csv(Path(tmp) / "cv_results.csv", index=False)
                plots.stage_chart(result, Path(tmp) / "chart.png", result.metric or "score")
                self.client.log_artifacts(stage, tmp)
        self.client.set_terminated(stage)
        self.stage_run = None

    def _finish(self, result: RunResult) -> None:
        if self.run_id is None:
            return
        self._params(self.run_id, {f"best.{k}": v for k, v in result.best_params.items()})
        tested = {f"test_{result.metric}": result.test_score} if result.test_score is not None else {}
        self._metrics(self.run_id, {**tested, "fits": sum(r.fits for r in result.stages if not r.reused)})
        if result.duel is not None and result.duel.splits:  # did tuning pay (the final duel)
            duel = result.duel
            self._metrics(self.run_id, {"duel_gain": duel.gain, "duel_half_width": duel.half_width,
                                        "duel_p_value": duel.p_value})  # fmt: skip
            self.client.set_tag(self.run_id, "duel", duel_sentence(duel, result.metric)[:5000])
            self.client.set_tag(self.run_id, "duel_verdict", duel.verdict)  # gain | loss | tie
            self.client.set_tag(self.run_id, "duel_kept", "start" if duel.kept_start else "tuned")
        if result.importance is not None:  # order=auto: each stage's importance, the order chosen
            self._metrics(self.run_id, {f"importance.{m.stage}": m.share for m in result.importance.stages})
            self.client.set_tag(self.run_id, "order", " → ".join(result.importance.order))
            self.client.set_tag(self.run_id, "order_why", importance_sentence(result.importance)[:5000])
        for name in ("report.md", "summary.csv", "best_params.json", "test_score.json", "duel.json", "importance.json"):
            if (result.run_dir / name).is_file():
                self.client.log_artifact(self.run_id, str(result.run_dir / name))
        if (result.run_dir / "charts").is_dir():
            self.client.log_artifacts(self.run_id, str(result.run_dir / "charts"), "charts")
        self._log_model(result.run_dir / "model.keras")
        self.client.set_terminated(self.run_id)
        self.run_id = None

    def _log_model(self, path: Path) -> None:
        """The final network as an MLflow model (Keras flavor, loadable with ``mlflow.pyfunc.load_model``)."""
        import keras
        import mlflow

        mlflow.set_tracking_uri(self.client.tracking_uri)
        with mlflow.start_run(run_id=self.run_id):
            mlflow.keras.log_model(keras.saving.load_model(path), name="model")

    def _params(self, run_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        self.client.log_batch(run_id, params=[Param(k, str(v)[:6000]) for k, v in params.items()])

    def _metrics(self, run_id: str, metrics: Mapping[str, float]) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()])

    def _safely(self, action: Callable[[], None]) -> None:
        """Tracking never stops the search: the first failure is one line, and tracking stops there."""
        if self.tracking.kind != "mlflow":
            return
        try:
            action()
        except Exception as exc:  # MLflow raises its own, requests' and SQLAlchemy's errors
            log.warning("tracking=mlflow failed", exc_info=exc)  # the whole story in pipeline.log
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            self.warn(f"tracking=mlflow: cannot log to {self.tracking.uri or 'mlruns/'} ({reason}); the run "
                      "goes on without tracking, its run folder is complete (details in pipeline.log)")  # fmt: skip
            self.tracking = TrackingSpec(kind="none")
            self._abandon()

    def _abandon(self) -> None:
        """The runs tracking leaves behind are marked FAILED, not left RUNNING forever (one try each: a server that
        is down cannot be told, and is not asked again)."""
        for run_id in (self.stage_run, self.run_id):
            if run_id is not None and self.client is not None:
                try:
                    self.client.set_terminated(run_id, "FAILED")
                except Exception as exc:
                    log.warning("tracking=mlflow: cannot mark run %s FAILED", run_id, exc_info=exc)
                    break
        self.run_id = self.stage_run = None


@contextlib.contextmanager
def _no_retry_lines() -> Iterator[None]:
    """Outside a job (the multirun's callbacks) Hydra logs to the terminal: urllib3's line per retry of a refused
    server stays off it (the one line printed after says what failed). Inside a job it goes to pipeline.log."""
    logger = logging.getLogger("urllib3.connectionpool")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def sweep_started(tracking: TrackingSpec, experiment: str, sweep: Path) -> str | None:
    """The multirun's own run, that every job nests under (None if it cannot be created: jobs track alone)."""
    try:
        with _no_retry_lines():
            client, experiment_id = client_for(tracking, experiment)
            run = client.create_run(experiment_id, run_name=f"sweep {sweep.name}", tags={"sweep": str(sweep)})
    except Exception as exc:
        print(f"tracking=mlflow: cannot create the sweep run ({type(exc).__name__}); jobs are tracked on their own")
        return None
    run_id = str(run.info.run_id)
    os.environ[SWEEP_RUN] = run_id
    return run_id


def sweep_finished(tracking: TrackingSpec, experiment: str, run_id: str, sweep: Path) -> None:
    """The comparison of the multirun's runs, logged to the sweep run."""
    try:
        with _no_retry_lines():
            client, _ = client_for(tracking, experiment)
            for name in ("comparison.md", "comparison.csv", "comparison.png"):
                if (sweep / name).is_file():
                    client.log_artifact(run_id, str(sweep / name))
            client.set_terminated(run_id)
    except Exception as exc:
        print(f"tracking=mlflow: cannot log the comparison ({type(exc).__name__}); it is in {sweep}")
    os.environ.pop(SWEEP_RUN, None)
