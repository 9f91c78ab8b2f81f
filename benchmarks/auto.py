"""order=auto against the hand-written orderings: held-out score, fits (the screening included), wall time, and how
stable the importance ranking is from one seed to the next; important_first against important_last."""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, cli, row, summary
from benchmarks.suite import noise as held_out_noise

DATASETS = {"breast_cancer": 569, "wine": 178, "digits": 1797, "diabetes": 442}  # rows (held out: 20 %)
SEEDS = (0, 1, 2, 3, 4)
RUNS = {"auto": ["order=auto"], "auto_last": ["order=auto", "order.auto.direction=important_last"],
        "default": ["order=default"], "architecture_first": ["order=architecture_first"]}  # fmt: skip
RESULTS = ROOT / "benchmarks" / "results"


def auto(work: Path) -> list[dict]:
    from scipy.stats import kendalltau

    rows = []
    RESULTS.mkdir(parents=True, exist_ok=True)
    for dataset, size in DATASETS.items():
        noise = held_out_noise(int(np.ceil(0.2 * size)))
        held_out: dict[str, list[float]] = {name: [] for name in RUNS}
        fits: dict[str, list[int]] = {name: [] for name in RUNS}
        trained: dict[str, list[int]] = {name: [] for name in RUNS}
        seconds: dict[str, list[float]] = {name: [] for name in RUNS}
        shares = []
        for seed in SEEDS:
            for name, overrides in RUNS.items():
                folder = work / f"auto-{dataset}-{seed}-{name}"
                took = cli(f"dataset={dataset}", *overrides, "search.engine=fused", "search.final_repeats=0",
                           f"search.seed={seed}", f"store.dir={work / f'auto-store-{dataset}'}", f"hydra.run.dir={folder}",
                           cwd=work)  # fmt: skip
                table, test = summary(folder)
                held_out[name].append(test)
                fits[name].append(int(table["fits"].sum()))
                trained[name].append(int((table["fits"] - table["fits_reused"]).sum()))
                seconds[name].append(took)
                if name == "auto":
                    chosen = json.loads((folder / "importance.json").read_text())
                    shares.append({m["stage"]: m["share"] for m in chosen["stages"]})
                    with (RESULTS / "auto-cases.jsonl").open("a") as f:
                        f.write(json.dumps({"dataset": dataset, "seed": seed, **chosen}) + "\n")
        stages = sorted(shares[0])
        taus = [kendalltau([a[s] for s in stages], [b[s] for s in stages]).statistic for a, b in itertools.combinations(shares, 2)]
        mean = {name: float(np.mean(v)) for name, v in held_out.items()}
        best, worst = max(mean["default"], mean["architecture_first"]), min(mean["default"], mean["architecture_first"])
        verdict = "≥ the best" if mean["auto"] >= best else "below the worse beyond the noise" if mean["auto"] < worst - noise \
            else "between"  # fmt: skip
        rows.append(row("auto", f"{dataset}: held-out auto {mean['auto']:.4f}, auto_last {mean['auto_last']:.4f}, default "
                        f"{mean['default']:.4f}, architecture_first {mean['architecture_first']:.4f} (5 seeds; noise "
                        f"{noise:.3f}): auto {verdict}", mean["auto"], best, "score",
                        target="≥ the best of the two on ≥ 3 of 4, never below the worse beyond the noise"))  # fmt: skip
        rows.append(row("auto", f"{dataset}: fits (trained) auto {np.mean(fits['auto']):.0f} ({np.mean(trained['auto']):.0f}) "
                        f"vs default {np.mean(fits['default']):.0f} ({np.mean(trained['default']):.0f}); wall "
                        f"{np.median(seconds['auto']):.1f} s vs {np.median(seconds['default']):.1f} s",
                        np.mean(fits["auto"]), np.mean(fits["default"]), "fits", target="≤ 1"))  # fmt: skip
        rows.append(row("auto", f"{dataset}: importance ranking between seeds: mean Kendall τ {np.mean(taus):.2f} "
                        f"(min {np.min(taus):.2f}, {len(taus)} pairs)", float(np.mean(taus)), 1, "tau", target="≥ 0.6"))  # fmt: skip
        rows.append(row("auto", f"{dataset}: important_first {mean['auto']:.4f} vs important_last {mean['auto_last']:.4f}",
                        mean["auto"], mean["auto_last"], "score"))  # fmt: skip
    return rows


def auto_budget(work: Path, datasets: tuple[str, ...] = ("breast_cancer", "diabetes"), full: int = 64) -> list[dict]:
    """When to trust the ranking: ``full`` configurations screened once (a random search over the same joint space,
    which the screening is), then the importance measured on subsets of 8, 16 and 32 of them (20 subsets each) and
    compared with the ranking on all of them (Kendall τ)."""
    import pandas as pd
    from scipy.stats import kendalltau

    from pipeline.stats.importance import measure

    families = {"optimizer": ["optimizer"], "lr_momentum": ["optimizer__learning_rate", "optimizer__momentum"],
                "init": ["model__init"], "activation": ["model__activation"], "dropout": ["model__dropout"],
                "neurons": ["model__neurons"], "depth": ["model__depth"]}  # fmt: skip
    rows = []
    for dataset in datasets:
        folder = work / f"auto-budget-{dataset}"
        cli(f"dataset={dataset}", "search.strategy=random", f"search.budget={full}", "search.engine=fused",
            "search.final_repeats=0", "store.mode=off", f"hydra.run.dir={folder}", cwd=work)  # fmt: skip
        table = pd.read_csv(next((folder / "cv_results").glob("*.csv")))
        stages = list(families)
        reference = {m.stage: m.share for m in measure(table, families, seed=0)}
        rng = np.random.default_rng(0)
        for size in (8, 16, 32):
            taus = []
            for draw in range(20):
                subset = table.iloc[rng.choice(len(table), size, replace=False)].reset_index(drop=True)
                found = {m.stage: m.share for m in measure(subset, families, seed=draw)}
                taus.append(kendalltau([found[s] for s in stages], [reference[s] for s in stages]).statistic)
            rows.append(row("auto_budget", f"{dataset}: ranking from {size} of {full} screened configurations vs all "
                            f"{full}: Kendall τ median {np.nanmedian(taus):.2f} (20 subsets)", float(np.nanmedian(taus)),
                            1, "tau"))  # fmt: skip
    return rows
