"""One run, wired: config → engine, observers, runner (a multirun's jobs too; ``multirun`` compares them).

With ``__main__`` this is the entry point: the only place besides ``pipeline.config.compose``
that touches Hydra.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig
from rich.console import Console

from pipeline.common import errors, exits
from pipeline.common.errors import Interrupted, PipelineError
from pipeline.config import compose
from pipeline.config.schema import RunSpec
from pipeline.frontends import multirun


def main(cfg: DictConfig) -> None:
    """Validate, run every stage with framework noise sent to the run log, print the summary."""
    from pipeline import engines
    from pipeline.reports import files, terminal
    from pipeline.reports.observers import Observers
    from pipeline.search import runner

    hydra = HydraConfig.get()
    run_dir = Path(hydra.runtime.output_dir)
    progress = runner.Progress()
    observers: Observers  # the tracker's warnings go to every observer, made just below it
    try:
        spec = compose.load(cfg)
        with errors.writing("hydra.run.dir", run_dir, "the run log"):
            (run_dir / "pipeline.log").open("a").close()
        with terminal.stderr_to(run_dir / "pipeline.log"), terminal.Terminal(Console()) as display, \
                _tracker(spec, lambda message: observers.note(message)) as tracker:  # fmt: skip
            observers = Observers(display, files.RunFolder(), *([tracker] if tracker else []))
            with engines.create(spec, observers.note, observers.stage_status) as engine:
                runner.run(spec, engine, observers, run_dir, progress)
        exits.raise_if_swallowed()  # pressed while the engine or the tracker closed, and dropped there
    except KeyboardInterrupt as signal:
        exits.exit_with(errors.interruption(signal, progress.where))
    except PipelineError as error:  # handled here, inside the job, so Hydra adds no lines of its own
        failure = error.logged_in(run_dir / "pipeline.log") if isinstance(error, errors.InternalError) else error
        if hydra.mode != RunMode.MULTIRUN or isinstance(failure, Interrupted):
            _remove_if_empty(run_dir)
            exits.exit_with(failure)
        multirun.job_failed(run_dir, multirun.sweep_overrides(hydra.overrides.task), failure)
    except Exception as exc:  # a bug: one line and exit 3, its traceback in the run log (HYDRA_FULL_ERROR=1 shows it)
        if exits.show_traceback:
            raise
        _log_traceback(run_dir / "pipeline.log", exc)
        exits.exit_with(errors.InternalError("", exc, run_dir / "pipeline.log"))


def _log_traceback(path: Path, exc: BaseException) -> None:
    import traceback

    with contextlib.suppress(OSError), path.open("a") as log:
        log.write("".join(traceback.format_exception(exc)))


def _remove_if_empty(run_dir: Path) -> None:
    """A run that stopped before it wrote anything (a config error) leaves no run folder behind: only Hydra's
    ``.hydra/`` copy of the config and an empty log would be in it."""
    import shutil

    log = run_dir / "pipeline.log"
    if {p.name for p in run_dir.iterdir()} <= {".hydra", "pipeline.log"} and (not log.exists() or log.stat().st_size == 0):
        shutil.rmtree(run_dir, ignore_errors=True)


def _tracker(spec: RunSpec, note: Callable[[str], None]) -> AbstractContextManager[Any]:
    """The MLflow observer where tracking=mlflow (MLflow is imported only then)."""
    if spec.tracking.kind != "mlflow":
        return contextlib.nullcontext()
    from pipeline.reports.tracking import Tracker

    return Tracker(spec.tracking, note)
