"""Successive halving against the full stage: model-epochs, seconds, and whether the winners agree."""
from __future__ import annotations

from pathlib import Path

from benchmarks.column import column_args
from benchmarks.common import cli, row, summary


def racing(work: Path) -> list[dict]:
    """search.racing=halving against the same command without it. Both engines: model-epochs and wall seconds
    on the column's grid and the default order. Fused, 3 datasets x 3 seeds: how often each raced stage's winner
    is the full stage's (or within one standard error of its best, in the full stage's table), test scores."""
    import numpy as np
    import pandas as pd

    def pair(name: str, args: list[str]) -> dict:
        out = {}
        for racing in ("none", "halving"):
            folder = work / f"racing-{name}-{racing}"
            seconds = cli(*args, f"search.racing={racing}", f"hydra.run.dir={folder}", cwd=work)
            out[racing] = (folder, seconds, summary(folder)[0], summary(folder)[1])
        return out

    def agreement(runs: dict) -> tuple[int, int, int]:
        (full_dir, _, full, _), (_, _, raced, _) = runs["none"], runs["halving"]
        same = within = 0
        for k, (winner, full_winner) in enumerate(zip(raced["winner"], full["winner"])):
            table = pd.read_csv(next((full_dir / "cv_results").glob(f"{k + 1:02d}_*.csv")))
            best = table.loc[table["mean_test_score"].idxmax()]
            folds = len([c for c in table.columns if c.startswith("split") and c.endswith("_test_score")])
            mine = table.loc[table["params"] == winner, "mean_test_score"]
            same += winner == full_winner
            within += winner == full_winner or (len(mine) > 0 and float(mine.iloc[0]) >= best["mean_test_score"]
                                                - best["std_test_score"] / folds**0.5)  # fmt: skip
        return same, within, len(raced)

    rows = []
    cases = {"the column's grid (exhaustive, 25 x 5 folds, 100 epochs)": column_args(work / "pima_like.csv"),
             "the default order": ["store.mode=off"]}  # fmt: skip
    for engine in ("fused", "gridsearchcv"):
        for i, (name, args) in enumerate(cases.items()):
            runs = pair(f"{engine}-{i}", [*args, f"search.engine={engine}"])
            same, within, stages = agreement(runs)
            epochs = {r: int(runs[r][2]["model_epochs"].sum()) for r in runs}
            rows.append(row("racing", f"{engine}, {name}: model-epochs raced / full ({epochs['halving']} / "
                            f"{epochs['none']}); winners {same} of {stages} stages the same, {within} the same or "
                            f"within 1 SE; held-out test {runs['halving'][3]:.4f} vs {runs['none'][3]:.4f}",
                            epochs["halving"], epochs["none"], "model-epochs", target="≤ 0.333"))  # fmt: skip
            rows.append(row("racing", f"{engine}, {name}: wall seconds raced / full", runs["halving"][1],
                            runs["none"][1], "s"))  # fmt: skip
    counts, tests = np.zeros(3, int), {"none": [], "halving": []}
    for dataset in ("breast_cancer", "wine", "iris"):
        for seed in (0, 1, 2):
            runs = pair(f"{dataset}-{seed}", [f"dataset={dataset}", f"search.seed={seed}", "search.engine=fused",
                                              "store.mode=off"])  # fmt: skip
            counts += agreement(runs)
            for r in runs:
                tests[r].append(runs[r][3])
    same, within, stages = counts
    rows.append(row("racing", f"fused, default order, 3 datasets x 3 seeds: raced winners the same as the full "
                    f"stage's in {same} of {stages} stages, the same or within 1 SE in {within}; held-out test "
                    f"{np.mean(tests['halving']):.4f} vs {np.mean(tests['none']):.4f}", within, stages, "stages",
                    target="≥ 0.8"))  # fmt: skip
    return rows
