"""Start-up: ``--help`` and whether a run without tracking imports MLflow."""
from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

from benchmarks.common import PY, project_env, row


def startup(work: Path) -> list[dict]:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([PY, "-m", "pipeline", "--help"], cwd=work, capture_output=True, env=project_env())
        times.append(time.perf_counter() - started)
    probe = ("import runpy, sys; sys.argv = ['pipeline', *sys.argv[1:]]\ntry:\n    runpy.run_module('pipeline', "
             "run_name='__main__')\nexcept SystemExit:\n    pass\nprint('mlflow' in sys.modules)")  # fmt: skip
    tiny = ["dataset=iris", "order.stages=[depth]", "model.epochs=1", "search.cv=2", "store.mode=off"]
    imported = subprocess.run([PY, "-c", probe, *tiny, f"hydra.run.dir={work / 'probe'}"], cwd=work, capture_output=True,
                              text=True, env=project_env()).stdout.strip().splitlines()[-1]  # fmt: skip
    return [row("startup", "python -m pipeline --help (median of 5)", statistics.median(times), 1, "s", target="≤ 1.5 s"),
            row("startup", f"a run with tracking=none imports MLflow: {imported}", imported == "True", 0, "bool",
                target="False")]  # fmt: skip
