"""The staged search (default settings) against TPE and random search at equal budget, on the quality section's data
with a true answer (50,000 held-out rows): is the staged search behind TPE beyond the noise anywhere?"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.common import cli, row, summary
from benchmarks.quality import HELD_OUT, NOISE, TRAIN, generated

STRATEGIES = ("staged", "tpe", "random")


def baselines(work: Path, seeds: tuple[int, ...] = (0, 1, 2)) -> list[dict]:
    rows = []
    for name, path in generated(work).items():
        data = ["dataset=file", f"dataset.path={path}", "dataset.target=target", f"dataset.test_size={HELD_OUT / (TRAIN + HELD_OUT)}",
                "search.engine=fused", "search.final_repeats=0", f"store.dir={work / 'baselines-store'}"]  # fmt: skip
        tests: dict[str, list[float]] = {s: [] for s in STRATEGIES}
        fits: dict[str, list[int]] = {s: [] for s in STRATEGIES}
        for seed in seeds:
            for strategy in STRATEGIES:  # staged first: the baselines' budget is what it evaluated (read from the store)
                folder = work / f"baselines-{name}-{strategy}-{seed}"
                cli(*data, f"search.seed={seed}", f"search.strategy={strategy}", f"hydra.run.dir={folder}", cwd=work)
                table, test = summary(folder)
                tests[strategy].append(test)
                fits[strategy].append(int(table["fits"].sum()))
        staged = np.asarray(tests["staged"])
        for other in ("tpe", "random"):
            d = staged - np.asarray(tests[other])
            verdict = "ahead" if d.mean() > NOISE else "behind" if d.mean() < -NOISE else "within the noise"
            rows.append(row("baselines", f"{name}: staged {staged.mean():.4f} vs {other} {np.mean(tests[other]):.4f} held-out "
                            f"(mean of {len(seeds)} seeds; fits {np.mean(fits['staged']):.0f} vs {np.mean(fits[other]):.0f}): "
                            f"staged {verdict}", float(d.mean()), 1, "gain",
                            target="not behind TPE anywhere, ahead on ≥ 2" if other == "tpe" else ""))  # fmt: skip
    return rows
