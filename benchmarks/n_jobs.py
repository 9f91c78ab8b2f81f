"""One stage with 1 and 2 loky workers."""
from __future__ import annotations

from pathlib import Path

from benchmarks.common import cli, row, summary


def n_jobs(work: Path) -> list[dict]:
    """The same stage with 1 and 2 jobs; a first one-candidate stage starts the workers (as in a real run)."""
    args = ["order.stages=[depth,neurons]", "stages.depth.grid.model__depth=[2]",
            "stages.neurons.grid.model__neurons=[8,16,32,64]", "search.cv=4", "model.epochs=40",
            "model.early_stopping.enabled=false", "store.mode=off"]  # fmt: skip
    seconds, first = {}, {}
    for jobs in (1, 2):
        cli(*args, f"search.n_jobs={jobs}", f"hydra.run.dir={work / f'warm-{jobs}'}", cwd=work)  # fills compile caches
        cli(*args, f"search.n_jobs={jobs}", f"hydra.run.dir={work / f'jobs-{jobs}'}", cwd=work)
        table = summary(work / f"jobs-{jobs}")[0]
        first[jobs], seconds[jobs] = float(table["seconds"].iloc[0]), float(table["seconds"].iloc[1])
    return [row("n_jobs", "stage seconds, n_jobs=1 / n_jobs=2 (16 fits, workers running)", seconds[1], seconds[2], "s",
                target="≥ 1.6"),
            row("n_jobs", "first stage (4 fits) incl. starting the workers, n_jobs=1 / n_jobs=2", first[1], first[2], "s")]  # fmt: skip
