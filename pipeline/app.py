"""One run, from a composed config to the run folder and a summary on the terminal."""
from __future__ import annotations

from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from rich.console import Console

from pipeline import config, errors, report, terminal
from pipeline.errors import Interrupted, PipelineError


def main(cfg: DictConfig) -> None:
    """Validate, run every stage with framework noise sent to the run log, print the summary."""
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    console = Console()
    try:
        spec = config.build_run_spec(cfg)
        from pipeline import runner

        with terminal.stderr_to(run_dir / "pipeline.log"), terminal.StageProgress(console) as display:
            result = runner.run(spec, run_dir, display)
    except PipelineError as error:  # exits here, inside the job, so Hydra adds no lines of its own
        errors.exit_with(error)
    except KeyboardInterrupt:
        errors.exit_with(Interrupted("interrupted before the first stage started; nothing was lost"))
    summary = report.summary_frame(result.stages)
    terminal.print_summary(console, summary, result.metric, result.test_score, run_dir)
