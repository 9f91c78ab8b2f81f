"""Benchmark harness: every figure is a ratio of two things measured side by side in one run.

    python benchmarks/run.py                 # all sections but fused_gpu (about 13 minutes on 2 cores)
    python benchmarks/run.py --only per_fit startup
    python -m benchmarks --only racing       # the same, as a package

Prints a table and appends JSON lines to benchmarks/results/<date>.jsonl. The targets are
those of the issues; the harness reports them, it never asserts timings in tests.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import (
    api,
    auto,
    calibration,
    column,
    default_command,
    early_stopping,
    fused,
    n_jobs,
    nuisance,
    per_fit,
    racing,
    reuse,
    scale,
    startup,
    strategies,
    suite,
    warm_rerun,
)
from benchmarks.common import ROOT, pima_like

RESULTS = ROOT / "benchmarks" / "results"
SECTIONS: dict[str, Callable[[Path], list[dict]]] = {
    "per_fit": lambda work: per_fit.per_fit(work / "pima_like.csv"), "strategies": strategies.strategies,
    "n_jobs": n_jobs.n_jobs, "warm_rerun": warm_rerun.warm_rerun, "column_grid": column.column_grid,
    "default_command": default_command.default_command, "reuse": reuse.reuse,
    "racing": racing.racing, "nuisance": nuisance.nuisance, "early_stopping": early_stopping.early_stopping,
    "startup": startup.startup, "fused": fused.fused, "fused_gpu": fused.fused_gpu,
    "suite_generated": suite.suite_generated, "suite_builtin": suite.suite_builtin, "auto": auto.auto,
    "auto_budget": auto.auto_budget, "api_overhead": api.api_overhead, "rows": scale.rows, "load": scale.load,
    "calibration": calibration.calibration,
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=list(SECTIONS), help="run only these sections")
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%S")
    log = RESULTS / f"{stamp}.jsonl"
    machine = {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version(),
               "date": stamp, "command": " ".join(["python", "benchmarks/run.py", *sys.argv[1:]])}  # fmt: skip
    table = Table(title=f"benchmarks ({machine['cpus']} CPUs, {stamp})", title_justify="left")
    for name in ("section", "what", "value", "baseline", "ratio", "target"):
        table.add_column(name, overflow="fold")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pima_like(work / "pima_like.csv")
        for name in args.only or [s for s in SECTIONS if s != "fused_gpu"]:
            rows = SECTIONS[name](work)
            with log.open("a") as f:
                for r in rows:
                    f.write(json.dumps({**machine, **r}, default=float) + "\n")
                    table.add_row(r["section"], r["what"], f"{r['value']:.3f} {r['unit']}", f"{r['baseline']:.3f}",
                                  f"{r['ratio']:.3f}", r["target"])  # fmt: skip
            Console().print(f"[dim]{name} done[/dim]")
    Console().print(table)
    print(f"results: {log}")
