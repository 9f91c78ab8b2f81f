"""A multirun's side: a failed job says so and the others go on; when the sweep ends, its runs are compared (and,
with tracking=mlflow, nested under a sweep run). ``CompareOnMultirunEnd`` is the Hydra callback in conf/config.yaml."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from pipeline.common import errors, exits
from pipeline.common.errors import PipelineError


def job_failed(run_dir: Path, overrides: str, error: PipelineError) -> None:
    """In a multirun, one bad job says so (with the overrides that set it apart) and leaves ``error.txt``;
    the other jobs still run."""
    message = f"job {run_dir.name} ({overrides or 'defaults'}): {error}"
    print(f"error: {message}", file=sys.stderr)
    with contextlib.suppress(OSError):
        (run_dir / FAILED).write_text(message + "\n")


FAILED = "error.txt"  # in a multirun job's folder: why it failed


def _tracking(config: Any) -> Any:
    from pipeline.config.schema import TrackingSpec

    return TrackingSpec(**{k: config.tracking[k] for k in ("kind", "uri", "experiment")})


def sweep_overrides(job: list[str], command_line: list[str] | None = None) -> str:
    """The job's overrides that the command line did not fix for every job (what sets this job apart): its sweeps
    (``1,2``, ``range(3)``, ``choice(…)``; ``[adam,sgd]`` is one list value), as Hydra's own parser reads them."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    fixed: dict[str, bool] = {}
    for arg in sys.argv[1:] if command_line is None else command_line:  # the last spelling of a key wins, as in Hydra
        if arg.startswith("-"):
            continue  # -m, --multirun, --config-dir: options, not overrides
        try:
            override = parser.parse_override(arg)
        except HydraException:
            continue
        fixed[override.key_or_group] = not (override.is_sweep_override() or override.is_delete())
    return " ".join(o for o in job if not fixed.get(o.partition("=")[0].lstrip("+~"), False))


class CompareOnMultirunEnd(Callback):
    """When a multirun ends, write the comparison of the runs that finished; exit 2 if a job failed. With
    tracking=mlflow, the jobs' runs nest under a sweep run, which gets the comparison."""

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        self.sweep_run = None
        if config.tracking.kind == "mlflow":
            import importlib.util

            if importlib.util.find_spec("mlflow") is None:  # every job would fail on it: say so once, launch none
                from pipeline.config.validation import MLFLOW_MISSING

                exits.exit_with(errors.UserError(f"{MLFLOW_MISSING}; no job was launched"))
            from pipeline.reports.tracking import experiment_name, sweep_started

            self.sweep_run = sweep_started(_tracking(config), experiment_name(config), Path(config.hydra.sweep.dir))

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        sweep = Path(config.hydra.sweep.dir)
        try:
            self._compare(sweep)
        except KeyboardInterrupt as signal:
            exits.exit_with(errors.interruption(signal, f"while writing the multirun's comparison; every finished job's "
                                                 f"run folder is complete; python -m pipeline.compare {sweep} writes it "
                                                 "again"))  # fmt: skip
        finally:
            sweep_run: str | None = getattr(self, "sweep_run", None)
            if sweep_run:
                from pipeline.reports.tracking import experiment_name, sweep_finished

                sweep_finished(_tracking(config), experiment_name(config), sweep_run, sweep)

    def _compare(self, sweep: Path) -> None:
        from pipeline.frontends import compare

        failed = sorted(sweep.glob(f"*/{FAILED}")) if sweep.is_dir() else []
        notes = [path.read_text().strip() for path in failed]
        runs = compare.find_runs([sweep]) if sweep.is_dir() else []
        if runs:
            table, statement = compare.write_comparison(sweep, runs, failed=notes)
            print(f"comparison of {len(runs)} runs ({len(table)} configurations): {sweep / 'comparison.md'}")
            print(statement)
        if failed:
            jobs = len(failed) + len(runs)
            print(f"error: {len(failed)} of {jobs} jobs failed (see {FAILED} in their folders); "
                  f"{'the comparison covers the others' if runs else 'nothing to compare'}", file=sys.stderr)  # fmt: skip
            sys.exit(2)
