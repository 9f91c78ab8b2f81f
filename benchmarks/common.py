"""What every section shares: the data, running the CLI, reading a run folder, a result row."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
SCRIPTS = Path(__file__).resolve().parent / "scripts"


def pima_like(path: Path) -> Path:
    """The column's data shape: 768 rows, 8 numeric columns, a binary Outcome (synthetic)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    m = 768
    X = np.column_stack([rng.poisson(3.8, m), rng.normal(120, 32, m).clip(0), rng.normal(69, 19, m).clip(0),
                         rng.normal(20, 16, m).clip(0), rng.gamma(1, 80, m), rng.normal(32, 8, m).clip(0),
                         rng.gamma(2, 0.24, m), rng.integers(21, 81, m)])  # fmt: skip
    logit = -8.4 + 0.12 * X[:, 0] + 0.035 * X[:, 1] + 0.09 * X[:, 5] + 0.9 * X[:, 6] + 0.015 * X[:, 7]
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)])
    frame["Outcome"] = (rng.random(m) < 1 / (1 + np.exp(-logit))).astype(int)
    frame.to_csv(path, index=False)
    return path


def project_env() -> dict[str, str]:
    """This checkout first on the path (and whatever the caller had there, e.g. carried wheels)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def cli(*args: str, cwd: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run([PY, "-m", "pipeline", *args], cwd=cwd, env=project_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"pipeline {' '.join(args)} failed: {proc.stderr.strip()[-500:]}")
    return time.perf_counter() - started


def summary(folder: Path):
    import pandas as pd

    return pd.read_csv(folder / "summary.csv"), json.loads((folder / "test_score.json").read_text())["value"]


SPACE = [  # four stages of three values: 81 joint candidates
    "order.stages=[optimizer,activation,neurons,depth]",
    "stages.optimizer.grid.optimizer=[sgd,adam,rmsprop]",
    "stages.activation.grid.model__activation=[relu,tanh,elu]",
    "stages.neurons.grid.model__neurons=[8,16,32]",
    "stages.depth.grid.model__depth=[1,2,3]",
    "model.epochs=20",
]


def row(section: str, what: str, value: float, baseline: float, unit: str, target: str = "") -> dict:
    value, baseline = float(value), float(baseline)
    return {"section": section, "what": what, "value": value, "baseline": baseline,
            "ratio": value / baseline if baseline else float("nan"), "unit": unit, "target": target}  # fmt: skip


def script(name: str, *args: str) -> dict:
    """Run ``benchmarks/scripts/<name>.py`` in a fresh process with this checkout importable; its last line as JSON."""
    proc = subprocess.run([PY, str(SCRIPTS / f"{name}.py"), *args], capture_output=True, text=True, cwd=ROOT,
                          env=project_env())  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{name}.py failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
