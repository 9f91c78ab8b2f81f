"""One run, wired: config → engine, observers, runner; and the multirun comparison callback.

With ``__main__`` this is the entry point: the only place besides ``pipeline.config.compose``
that touches Hydra.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig
from rich.console import Console

from pipeline import errors
from pipeline.config import compose
from pipeline.errors import Interrupted, PipelineError


def main(cfg: DictConfig) -> None:
    """Validate, run every stage with framework noise sent to the run log, print the summary."""
    from pipeline import engines, runner
    from pipeline.observers import Observers
    from pipeline.reports import files, terminal

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        spec = compose.load(cfg)
        with terminal.stderr_to(run_dir / "pipeline.log"), terminal.Terminal(Console()) as display:
            observers = Observers(display, files.RunFolder())
            with engines.create(spec, observers.note) as engine:
                runner.run(spec, engine, observers, run_dir)
    except PipelineError as error:  # exits here, inside the job, so Hydra adds no lines of its own
        errors.exit_with(error)
    except KeyboardInterrupt:
        errors.exit_with(Interrupted("interrupted before the first stage started; nothing was lost"))


class CompareOnMultirunEnd(Callback):
    """When a multirun ends, write the comparison of its runs into the sweep folder."""

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        from pipeline import compare

        sweep = Path(config.hydra.sweep.dir)
        runs = compare.find_runs([sweep]) if sweep.is_dir() else []
        if runs:
            table = compare.write_comparison(sweep, runs)
            print(f"comparison of {len(runs)} runs ({len(table)} configurations): {sweep / 'comparison.md'}")
            print(compare.noise_statement(runs, table))
