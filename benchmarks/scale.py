"""The fused engine at scale: stage seconds and peak memory from 10^4 to 10^6 rows, and under load."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

from benchmarks.column import column_args, fused_command
from benchmarks.common import PY, project_env, row, summary

ROWS = (10_000, 100_000, 1_000_000)
FEATURES = 20


def synthetic(path: Path, rows: int) -> Path:
    """``rows`` × 20 numeric features, a binary target from a few of them (Parquet: read fast, as float64)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, FEATURES))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(FEATURES)])
    frame["target"] = (X[:, :4].sum(1) + rng.normal(scale=1.0, size=rows) > 0).astype(int)
    frame.to_parquet(path)
    return path


def stage(work: Path, data: Path, engine: str, candidates: int, name: str) -> tuple[float, float]:
    """One stage (``candidates`` learning rates × 3 folds, 5 epochs, batch 256) through the CLI in a fresh process:
    the stage's seconds and the process's peak RSS in bytes (its own, loky workers aside: ``n_jobs=1``)."""
    rates = ",".join(f"{0.001 * 1.5**i:.6f}" for i in range(candidates))
    folder = work / name
    args = ["dataset=file", f"dataset.path={data}", "dataset.target=target", "order.stages=[lr_momentum]",
            f"stages.lr_momentum.grid.optimizer__learning_rate=[{rates}]", "stages.lr_momentum.grid.optimizer__momentum=[0.0]",
            "model.params.optimizer=adam", "search.cv=3", "model.epochs=5", "model.batch_size=256", "search.n_jobs=1",
            "search.final_repeats=0", "store.mode=off", f"search.engine={engine}", f"execution.compile_cache={work / 'xla-rows'}",
            f"hydra.run.dir={folder}"]  # fmt: skip
    wrapper = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")  # fmt: skip
    proc = subprocess.run([PY, "-c", wrapper, PY, "-m", "pipeline", *args], cwd=work, env=project_env(),
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"rows stage {name} failed: {proc.stderr.strip()[-800:]}")
    peak = float(proc.stdout.strip().splitlines()[-1]) * 1024  # ru_maxrss is in KiB on Linux
    return float(summary(folder)[0].iloc[0]["seconds"]), peak


def rows(work: Path) -> list[dict]:
    """10^4 → 10^6 rows × 20 features, one 5-candidate × 3-fold stage, 5 epochs, batch 256: stage seconds and peak
    RSS per engine; at 10^6 rows fused with 25 candidates too (memory independent of the candidates)."""
    out, data_bytes = [], {}
    for n in ROWS:
        data = synthetic(work / f"rows-{n}.parquet", n)
        data_bytes[n] = n * (FEATURES + 1) * 8
        for engine in ("fused", "gridsearchcv"):
            if engine == "gridsearchcv" and n > 100_000:
                continue  # 15 Keras fits of 5 epochs over 10^6 rows: over half an hour on 2 cores
            seconds, peak = stage(work, data, engine, 5, f"rows-{engine}-{n}")
            out.append(row("rows", f"{engine}, {n} rows: stage seconds (5 candidates × 3 folds, 5 epochs)", seconds, 1, "s"))
            out.append(row("rows", f"{engine}, {n} rows: peak RSS / data size ({data_bytes[n] / 2**20:.0f} MiB as float64)",
                           peak, data_bytes[n], "bytes"))  # fmt: skip
    seconds, peak = stage(work, work / f"rows-{ROWS[-1]}.parquet", "fused", 25, "rows-fused-25")
    out.append(row("rows", f"fused, {ROWS[-1]} rows, 25 candidates: stage seconds", seconds, 1, "s"))
    out.append(row("rows", f"fused, {ROWS[-1]} rows, 25 candidates: peak RSS / data size", peak, data_bytes[ROWS[-1]], "bytes",
                   target="≤ 2 + fixed"))  # fmt: skip
    return out


def load(work: Path) -> list[dict]:
    """The column's real grid, fused, warm compile cache: one command alone, two at once, one beside two busy
    processes (pure-Python loops, one per core): the commands' wall seconds."""
    data = work / "pima_like.csv"
    cache = work / "xla-load"
    fused_command(work, "load-warmup", cache, column_args(data))
    alone, _ = fused_command(work, "load-alone", cache, column_args(data))
    started = time.perf_counter()
    pair = [subprocess.Popen([PY, "-m", "pipeline", *column_args(data), "search.engine=fused",
                              f"execution.compile_cache={cache}", f"hydra.run.dir={work / f'load-pair-{i}'}"],
                             cwd=work, env=project_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(2)]  # fmt: skip
    finished = []
    for p in pair:
        p.wait()
        finished.append(time.perf_counter() - started)
    busy = [subprocess.Popen([PY, "-c", "while True: pass"]) for _ in range(2)]
    try:
        beside, _ = fused_command(work, "load-beside", cache, column_args(data))
    finally:
        for b in busy:
            b.kill()
    return [row("load", "the column's real grid, fused: one command alone", alone, 1, "s"),
            row("load", "two at once: each command / one alone (mean)", sum(finished) / 2, alone, "s", target="≈ 1.7 (kept)"),
            row("load", "beside two busy processes / alone", beside, alone, "s", target="≈ 1.7 (kept)")]  # fmt: skip

