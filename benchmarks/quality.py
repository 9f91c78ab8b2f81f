"""Tuning that pays, on data with a true answer: a small training set and 50,000 held-out rows, so that the held-out
score is exact to a few thousandths. Per dataset and seed: the staged search's final configuration (search.guard=false)
against the starting configuration, the final duel's verdict, and what the guard would have kept."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks.common import cli, row, summary

TRAIN, HELD_OUT = 1000, 50_000
NOISE = 2 * np.sqrt(2 * 0.25 / HELD_OUT)  # two standard errors of a difference of held-out accuracies (at most)


def generated(work: Path) -> dict[str, Path]:
    """scikit-learn's generators as CSV files: label noise and redundant features; a noisy non-linear boundary;
    Friedman's regression with noise."""
    import pandas as pd
    from sklearn.datasets import make_classification, make_friedman1, make_moons

    n = TRAIN + HELD_OUT
    made = {"classification": make_classification(n, 20, n_informative=5, n_redundant=5, flip_y=0.1, random_state=0),
            "moons": make_moons(n, noise=0.3, random_state=0),
            "friedman1": make_friedman1(n, noise=1.0, random_state=0)}  # fmt: skip
    paths = {}
    for name, (X, y) in made.items():
        frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        frame["target"] = y
        paths[name] = work / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


def quality(work: Path, seeds: tuple[int, ...] = (0, 1, 2)) -> list[dict]:
    rows, cases = [], []
    for name, path in generated(work).items():
        data = ["dataset=file", f"dataset.path={path}", "dataset.target=target", f"dataset.test_size={HELD_OUT / (TRAIN + HELD_OUT)}",
                "search.engine=fused", f"store.dir={work / 'quality-store'}"]  # fmt: skip
        for seed in seeds:
            tuned_dir, start_dir = work / f"quality-{name}-{seed}", work / f"quality-{name}-{seed}-start"
            cli(*data, f"search.seed={seed}", "search.guard=false", f"hydra.run.dir={tuned_dir}", cwd=work)
            cli(*data, f"search.seed={seed}", "order.stages=[optimizer]", "stages.optimizer.grid.optimizer=[adam]",
                "search.final_repeats=0", "search.guard=false", f"hydra.run.dir={start_dir}", cwd=work)  # fmt: skip
            duel = json.loads((tuned_dir / "duel.json").read_text())
            tuned, start = summary(tuned_dir)[1], summary(start_dir)[1]
            guarded = tuned if duel["beyond_noise"] or not duel["splits"] else start
            cases.append((name, seed, tuned, start, guarded, duel, NOISE))
            rows.append(row("quality", f"{name} seed {seed}: held-out tuned {tuned:.4f} vs start {start:.4f}; duel "
                            f"{duel['gain']:+.4f} ± {duel['half_width']:.4f} (p = {duel['p_value']:.3f}); guard keeps "
                            f"{'tuned' if guarded == tuned else 'start'}", tuned - start, 1, "gain"))  # fmt: skip
    for rule, pick in (("guard=false", 2), ("guard=true", 4)):
        worse = sum(c[pick] < c[3] - c[6] for c in cases)
        gains = {name: np.mean([c[pick] - c[3] for c in cases if c[0] == name]) for name in dict.fromkeys(c[0] for c in cases)}
        rows.append(row("quality", f"{rule}: final worse than the start beyond the held-out noise in {worse} of "
                        f"{len(cases)} cases; mean gain per dataset " + ", ".join(f"{k} {v:+.4f}" for k, v in gains.items()),
                        worse / len(cases), 1, "share", target="≤ 0.05, every mean gain ≥ 0"))  # fmt: skip
    return rows
