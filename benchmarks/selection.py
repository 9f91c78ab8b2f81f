"""The selection rules' held-out test scores over datasets and seeds."""
from __future__ import annotations

from pathlib import Path

from benchmarks.common import cli, row, summary

SELECTION_DATASETS = ("breast_cancer", "wine", "iris", "pima_like")


def selection(work: Path) -> list[dict]:
    """Held-out test scores of select=best, one_se and incumbent: 4 datasets x 5 seeds, the default order, fused."""
    import numpy as np

    scores: dict[tuple[str, str], list[float]] = {}
    for dataset in SELECTION_DATASETS:
        data = ["dataset=file", f"dataset.path={work / 'pima_like.csv'}", "dataset.target=Outcome"] \
            if dataset == "pima_like" else [f"dataset={dataset}"]  # fmt: skip
        for rule in ("best", "one_se", "incumbent"):
            sweep = work / f"select-{dataset}-{rule}"
            cli("-m", *data, f"search.select={rule}", "search.seed=0,1,2,3,4", "search.engine=fused",
                "store.dir=selection-store", f"hydra.sweep.dir={sweep}", cwd=work)  # fmt: skip
            scores[(dataset, rule)] = [summary(p)[1] for p in sorted(sweep.iterdir()) if (p / "summary.csv").is_file()]
    rows = []
    for dataset in SELECTION_DATASETS:
        best = np.mean(scores[(dataset, "best")])
        for rule in ("one_se", "incumbent"):
            mean, spread = np.mean(scores[(dataset, rule)]), np.std(scores[(dataset, rule)])
            rows.append(row("selection", f"{dataset}: test score {rule} {mean:.4f} ± {spread:.4f} vs best {best:.4f} "
                            f"± {np.std(scores[(dataset, 'best')]):.4f} (5 seeds)", mean, best, "ratio"))  # fmt: skip
    for rule in ("best", "one_se", "incumbent"):
        overall = np.mean([s for d in SELECTION_DATASETS for s in scores[(d, rule)]])
        rows.append(row("selection", f"all datasets x seeds: mean test score, select={rule}", overall, 1, "score"))
    return rows
