"""Tuning that pays, measured on a suite: per dataset and seed, the staged search under each selection rule, the
starting configuration (``model.params`` refit alone), and TPE and random search at the staged search's budget.

Two halves (two sections, so they can run side by side):
- ``suite_generated``: data with a true answer: scikit-learn's generators, 1,000 training rows and 50,000 held-out
  rows, so the held-out score is exact to a few thousandths;
- ``suite_builtin``: the built-in datasets (their own held-out 20 %: noisy, so the mean over seeds is what counts).

Every run is fused; the default rule's run keeps the final duel (on folds of its own; a measured loss keeps the start,
so its held-out score is that of what the run as shipped ends with; its fits are the duel's cost). The runs of one dataset share a store, so what two runs have in common
(the first stage of every rule, the baselines' budget) is trained once.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, cli, row, summary

SEEDS = (0, 1, 2, 3, 4)
RULES = ("one_se", "best")  # the first is the shipped default: its run holds the duel
BASELINES = ("tpe", "random")
TRAIN, HELD_OUT = 1000, 50_000
RESULTS = ROOT / "benchmarks" / "results"
BUILTIN = {"breast_cancer": 569, "wine": 178, "iris": 150, "diabetes": 442}  # rows; digits (1,797 × 64, 10 classes) left out for time


def noise(held_out: int) -> float:
    """Two standard errors of a difference of two held-out accuracies on ``held_out`` rows (at most; for r² it is
    generous: r²'s own standard error is smaller by its distance from 1)."""
    return float(2 * np.sqrt(2 * 0.25 / held_out))


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


@dataclass
class Case:
    """One dataset × seed: held-out scores by run, the duel's verdict and the fits of each run."""

    dataset: str
    seed: int
    noise: float
    held_out: dict[str, float] = field(default_factory=dict)
    fits: dict[str, int] = field(default_factory=dict)
    duel: dict = field(default_factory=dict)


def run_case(work: Path, dataset: str, seed: int, data: list[str], held_out: int) -> Case:
    case = Case(dataset, seed, noise(held_out))
    common = [*data, "search.engine=fused", f"search.seed={seed}",
              f"store.dir={work / f'suite-store-{dataset}'}"]  # fmt: skip
    runs = {rule: [f"search.select={rule}", *([] if rule == RULES[0] else ["search.final_repeats=0"])] for rule in RULES}
    runs["start"] = ["order.stages=[optimizer]", "stages.optimizer.grid.optimizer=[adam]", "search.final_repeats=0"]
    runs |= {b: [f"search.strategy={b}", "search.final_repeats=0"] for b in BASELINES}  # the default rule's budget
    for name, overrides in runs.items():  # the default rule first; the baselines' budget: the most the staged search can evaluate
        folder = work / f"suite-{dataset}-{seed}-{name}"
        cli(*common, *overrides, f"hydra.run.dir={folder}", cwd=work)
        table, case.held_out[name] = summary(folder)
        case.fits[name] = int(table["fits"].sum())
    case.duel = json.loads((work / f"suite-{dataset}-{seed}-{RULES[0]}" / "duel.json").read_text())
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / "suite-cases.jsonl").open("a") as f:  # each case as it finishes: a long run keeps what it measured
        f.write(json.dumps(asdict(case), default=float) + "\n")
    return case


def rows_of(section: str, cases: list[Case]) -> list[dict]:
    """Per case its scores; per rule the overtuning count and mean gain per dataset; staged vs the baselines."""
    rows = []
    for c in cases:
        scores = ", ".join(f"{k} {v:.4f}" for k, v in c.held_out.items())
        rows.append(row(section, f"{c.dataset} seed {c.seed}: held-out {scores}; duel {c.duel['gain']:+.4f} ± "
                        f"{c.duel['half_width']:.4f} (p = {c.duel['p_value']:.3f}, {c.duel['fits']} fits of "
                        f"{c.fits[RULES[0]] + c.duel['fits']})", c.held_out[RULES[0]] - c.held_out["start"], 1, "gain"))  # fmt: skip
    datasets = list(dict.fromkeys(c.dataset for c in cases))
    for rule in RULES:
        worse = sum(c.held_out[rule] < c.held_out["start"] - c.noise for c in cases)
        gains = {d: np.mean([c.held_out[rule] - c.held_out["start"] for c in cases if c.dataset == d]) for d in datasets}
        mean = np.mean([c.held_out[rule] for c in cases])
        shipped = " (as shipped: the duel on its own folds, a measured loss keeps the start)" if rule == RULES[0] else ""
        rows.append(row(section, f"select={rule}{shipped}: worse than the start beyond the held-out noise in {worse} of "
                        f"{len(cases)}; mean gain " + ", ".join(f"{d} {g:+.4f}" for d, g in gains.items())
                        + f"; mean held-out {mean:.4f}", worse / len(cases), 1, "share",
                        target="≤ 0.05, every mean gain ≥ 0"))  # fmt: skip
    verdicts = [c.duel.get("verdict", "tie") for c in cases if c.duel.get("splits")]
    rows.append(row(section, f"the duel's verdicts: gain {verdicts.count('gain')}, tie {verdicts.count('tie')}, loss "
                    f"{verdicts.count('loss')} (the start kept) of {len(cases)}", verdicts.count("loss"), len(cases),
                    "runs"))  # fmt: skip
    for d in datasets:
        own = [c for c in cases if c.dataset == d]
        for rule in RULES:
            for other in BASELINES:
                diff = np.mean([c.held_out[rule] - c.held_out[other] for c in own])
                verdict = "ahead" if diff > own[0].noise else "behind" if diff < -own[0].noise else "within the noise"
                rows.append(row(section, f"{d}: staged ({rule}) {np.mean([c.held_out[rule] for c in own]):.4f} vs "
                                f"{other} {np.mean([c.held_out[other] for c in own]):.4f} (fits "
                                f"{np.mean([c.fits[rule] for c in own]):.0f} vs {np.mean([c.fits[other] for c in own]):.0f}): "
                                f"{verdict}", float(diff), 1, "gain",
                                target="not behind TPE anywhere, ahead on ≥ 2" if other == "tpe" else ""))  # fmt: skip
    return rows


def suite_generated(work: Path) -> list[dict]:
    cases = []
    for name, path in generated(work).items():
        data = ["dataset=file", f"dataset.path={path}", "dataset.target=target",
                f"dataset.test_size={HELD_OUT / (TRAIN + HELD_OUT)}"]  # fmt: skip
        cases += [run_case(work, name, seed, data, HELD_OUT) for seed in SEEDS]
    return rows_of("suite_generated", cases)


def suite_builtin(work: Path) -> list[dict]:
    cases = [run_case(work, name, seed, [f"dataset={name}"], int(np.ceil(0.2 * rows)))
             for name, rows in BUILTIN.items() for seed in SEEDS]  # fmt: skip
    return rows_of("suite_builtin", cases)
