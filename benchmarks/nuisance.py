"""Nuisance re-tuning: the spread across orderings with and without it, against exhaustive, its cost."""
from __future__ import annotations

from pathlib import Path

from benchmarks.common import SPACE, cli, row, summary

ORDERINGS = ("default", "architecture_first", "width_first", "regularization_first")


def nuisance(work: Path) -> list[dict]:
    """nuisance=learning_rate, fused: the spread of the held-out score across 4 orderings (3 seeds, 2 datasets) with
    and without it; staged-with-nuisance against the exhaustive grid of the same space; the cost in wall seconds."""
    import numpy as np

    rows = []
    for dataset in ("breast_cancer", "wine"):
        spread = {}
        for setting in ("none", "learning_rate"):
            means = []
            for order in ORDERINGS:
                tests = []
                for seed in (0, 1, 2):
                    folder = work / f"nuisance-{dataset}-{setting}-{order}-{seed}"
                    cli(f"dataset={dataset}", f"order={order}", f"nuisance={setting}", f"search.seed={seed}",
                        "search.engine=fused", "store.dir=nuisance-store", f"hydra.run.dir={folder}", cwd=work)  # fmt: skip
                    tests.append(summary(folder)[1])
                means.append(np.mean(tests))
            spread[setting] = max(means) - min(means)
            rows.append(row("nuisance", f"{dataset}, nuisance={setting}: mean held-out test per ordering "
                            f"({', '.join(f'{o} {m:.4f}' for o, m in zip(ORDERINGS, means))})", spread[setting], 1,
                            "spread"))  # fmt: skip
        rows.append(row("nuisance", f"{dataset}: spread across orderings with / without re-tuning", spread["learning_rate"],
                        spread["none"], "ratio", target="≤ 0.5"))  # fmt: skip
    lr = ["+search.nuisance.optimizer__learning_rate.values=[0.0003,0.001,0.003]", "search.engine=fused", "store.mode=off"]
    within, ratios = 0, []
    for seed in (0, 1, 2):
        found = {}
        for strategy in ("staged", "exhaustive"):
            folder = work / f"nuisance-{strategy}-{seed}"
            cli(*SPACE, *lr, f"search.strategy={strategy}", f"search.seed={seed}", f"hydra.run.dir={folder}", cwd=work)
            table = summary(folder)[0]
            found[strategy] = (float(table["mean_score"].iloc[-1]), float(table["std_score"].iloc[-1]),
                               int(table["fits"].sum()))  # fmt: skip
        (staged, _, staged_fits), (best, std, fits) = found["staged"], found["exhaustive"]
        within += staged >= best - std / np.sqrt(3)
        ratios.append(staged_fits / fits)
        rows.append(row("nuisance", f"seed {seed}: staged with nuisance best CV {staged:.4f} ({staged_fits} fits) vs "
                        f"exhaustive {best:.4f} ± {std:.4f} ({fits} fits)", staged, best, "ratio"))  # fmt: skip
    rows.append(row("nuisance", "staged with nuisance: best CV within 1 SE of exhaustive's (81 x 3 learning rates), seeds",
                    within, 3, "count", target="all 3"))  # fmt: skip
    rows.append(row("nuisance", "staged with nuisance / exhaustive fits", float(np.mean(ratios)), 1, "ratio", target="≤ 0.2"))
    seconds = {}
    for setting in ("none", "learning_rate"):  # the first run of each fills the compile cache; the second is timed
        for attempt in ("warm-up", "timed"):
            seconds[setting] = cli(f"nuisance={setting}", "search.engine=fused", "store.mode=off",
                                   f"hydra.run.dir={work / f'nuisance-cost-{setting}-{attempt}'}", cwd=work)  # fmt: skip
    rows.append(row("nuisance", "default command, fused, compile cache filled: wall seconds with / without re-tuning",
                    seconds["learning_rate"], seconds["none"], "s", target="≤ 1.5"))  # fmt: skip
    return rows
