"""One run, from a composed config to files and a summary; user errors exit with code 2."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from rich.console import Console

from pipeline import config, report, terminal
from pipeline.errors import UserError


def main(cfg: DictConfig) -> None:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    console = Console()
    try:
        spec = config.build_run_spec(cfg)
        from pipeline import runner

        with terminal.stderr_to(run_dir / "pipeline.log"), terminal.StageProgress(console) as display:
            result = runner.run(spec, run_dir, display)
    except UserError as exc:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    summary = report.summary_frame(result.stages)
    terminal.print_summary(console, summary, result.metric, result.test_score, run_dir)
