"""Staged against exhaustive and random search on an 81-candidate space: fits, seconds, best CV."""
from __future__ import annotations

from pathlib import Path

from benchmarks.common import SPACE, cli, row, summary


def strategies(work: Path, seeds=(0, 1, 2)) -> list[dict]:
    import numpy as np

    rows, found = [], {}
    for seed in seeds:
        for strategy in ("staged", "exhaustive", "random"):
            folder = work / f"{strategy}-{seed}"
            seconds = cli(*SPACE, f"search.strategy={strategy}", f"search.seed={seed}", "store.mode=off",
                          f"hydra.run.dir={folder}", cwd=work)  # fmt: skip
            table, test = summary(folder)
            last = table.iloc[-1]
            found[(strategy, seed)] = dict(fits=int(table["fits"].sum()), seconds=seconds, cv=float(last["mean_score"]),
                                           std=float(last["std_score"]), test=test)  # fmt: skip
    for strategy in ("staged", "random"):
        fits = np.mean([found[(strategy, s)]["fits"] / found[("exhaustive", s)]["fits"] for s in seeds])
        secs = np.mean([found[(strategy, s)]["seconds"] / found[("exhaustive", s)]["seconds"] for s in seeds])
        within = sum(found[(strategy, s)]["cv"] >= found[("exhaustive", s)]["cv"] - found[("exhaustive", s)]["std"] / np.sqrt(3)
                     for s in seeds)  # fmt: skip
        rows.append(row("strategies", f"{strategy} / exhaustive fits (81-candidate space, {len(seeds)} seeds)", fits, 1, "ratio",
                        target="≤ 0.15" if strategy == "staged" else ""))  # fmt: skip
        rows.append(row("strategies", f"{strategy} / exhaustive seconds", secs, 1, "ratio"))
        rows.append(row("strategies", f"{strategy}: best CV within 1 SE of exhaustive, seeds", within, len(seeds), "count",
                        target="all" if strategy == "staged" else ""))  # fmt: skip
    for (strategy, seed), v in sorted(found.items()):
        rows.append(row("strategies", f"{strategy} seed {seed}: cv {v['cv']:.4f} ± {v['std']:.4f}, test {v['test']:.4f}, "
                        f"{v['fits']} fits", v["seconds"], 1, "s"))  # fmt: skip
    return rows
