"""Every statistical claim the tool prints, checked against the null and for power (issue: calibrated numbers).

``python benchmarks/run.py --only calibration``. Cheap searches through the very code users run (``StagedSearchCV``
over a scikit-learn logistic regression, the runner, the duel, the comparison's test):

- the final duel on null data (labels independent of the features: tuning cannot help nor, in truth, hurt): how
  often it claims a gain, and how often a loss (each at most 5 % plus its sampling interval);
- the duel's power where tuning really pays (a decision stump to start from, deeper trees to tune to) and where it
  really hurts (the stage can only reach the stump);
- the nuisance flip ("re-tuning flipped the winner") on null data, and its power where re-tuning really changes
  the winner (a tree's depth at a frozen minimum leaf size that no depth can use);
- the comparison of two orderings that cannot differ (the same stages in two orders, null data), on held-out scores
  paired by seed as ``pipeline.frontends.compare`` does: how often it says the difference exceeds the noise; and its power on
  two orderings that differ by a planted amount.
Rates come with Wilson 95 % intervals.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import row

NULL_DUELS = 500  # searches on null data, each with its own data and seed
POWER_DUELS = 100
FLIPS = 500  # null searches with a nuisance parameter re-tuned inside every stage
COMPARISONS = 100  # null comparisons, each of two orderings over SEEDS seeds
SEEDS = 5
ROWS, FEATURES = 300, 10


def wilson(hits: int, n: int) -> tuple[float, float]:
    """The 95 % Wilson interval of a rate."""
    if n == 0:
        return float("nan"), float("nan")
    z, p = 1.96, hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def null_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(ROWS, FEATURES)), rng.integers(0, 2, ROWS)


def signal_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved moons (a stump reaches about 0.8, a tree of depth 3 to 6 about 0.88) and three noise columns."""
    from sklearn.datasets import make_moons

    X, y = make_moons(ROWS, noise=0.25, random_state=seed)
    return np.hstack([X, np.random.default_rng(seed).normal(size=(ROWS, 3))]), y


def search(X: np.ndarray, y: np.ndarray, seed: int, stages: list[dict[str, list[Any]]], estimator: Any = None,
           refit: bool = False, nuisance: dict[str, Any] | None = None) -> Any:  # fmt: skip
    from sklearn.linear_model import LogisticRegression

    from pipeline import StagedSearchCV

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return StagedSearchCV(estimator if estimator is not None else LogisticRegression(max_iter=200), stages, cv=3,
                              final_repeats=2, random_state=seed, verbose=0, refit=refit, nuisance=nuisance).fit(X, y)  # fmt: skip


GRID = [{"C": [0.001, 0.01, 0.1, 1.0, 10.0]}, {"fit_intercept": [True, False]}]
TREE = [{"max_depth": [1, 3, 6]}, {"min_samples_leaf": [1, 5]}]


def duel_rates(kind: str, n: int) -> dict[str, int]:
    """How often the duel says gain, loss or tie over ``n`` searches of one kind: ``null`` (labels independent of
    the features), ``pays`` (a decision stump to start from, deeper trees to tune to, on data with interactions),
    ``hurts`` (a good depth to start from, a stage that can only reach the stump)."""
    from sklearn.tree import DecisionTreeClassifier

    said = {"gain": 0, "loss": 0, "tie": 0, "kept_start": 0}
    for i in range(n):
        if kind == "null":
            found = search(*null_data(i), seed=i, stages=GRID)
        elif kind == "pays":
            found = search(*signal_data(i), seed=i, stages=[{"max_depth": [1, 3, 6]}],
                           estimator=DecisionTreeClassifier(max_depth=1, random_state=0))  # fmt: skip
        else:
            found = search(*signal_data(i), seed=i, stages=[{"max_depth": [1]}],
                           estimator=DecisionTreeClassifier(max_depth=4, random_state=0))  # fmt: skip
        duel = found.duel_
        said[duel.verdict] += 1
        said["kept_start"] += int(duel.kept_start)
    return said


def flip_rates(planted: bool, n: int) -> int:
    """How many of ``n`` searches say re-tuning a nuisance parameter flipped a stage's winner: on null data (a
    logistic regression, C re-tuned inside two stages), or planted (a tree whose frozen minimum leaf size of 80 leaves
    every depth a stump, re-tuned to 5 where depth 8 wins by about 0.08)."""
    from sklearn.tree import DecisionTreeClassifier

    flips = 0
    for i in range(n):
        if planted:
            found = search(*signal_data(i), seed=i, stages=[{"max_depth": [1, 8]}],
                           estimator=DecisionTreeClassifier(max_depth=1, min_samples_leaf=80, random_state=0),
                           nuisance={"min_samples_leaf": {"values": [80, 5]}})  # fmt: skip
        else:
            found = search(*null_data(i), seed=i, stages=[{"fit_intercept": [True, False]}, {"penalty": ["l2", None]}],
                           nuisance={"C": {"factors": [0.01, 1, 100]}})  # fmt: skip
        flips += any(r["decision"].get("flipped_from") is not None for r in found.stage_results_)
    return flips


def comparison_rates(planted: bool, n: int) -> int:
    """How often the comparison of two orderings says the difference exceeds the noise, over ``n`` comparisons of
    SEEDS seeds each, on held-out scores paired by seed (``pipeline.frontends.compare.noise_statement``)."""
    from sklearn.model_selection import train_test_split
    from sklearn.tree import DecisionTreeClassifier

    from pipeline.frontends.compare import Run, comparison_table, noise_statement

    exceeded = 0
    for c in range(n):
        runs = []
        for s in range(SEEDS):
            seed = 1000 * c + s
            X, y = signal_data(seed) if planted else null_data(seed)
            X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=y)
            orders = {"C first": GRID, "intercept first": GRID[::-1]}
            if planted:  # one ordering cannot leave the stump: a real, planted difference
                orders = {"depth first": TREE, "depth stuck": [{"max_depth": [1]}, TREE[1]]}
            for label, stages in orders.items():
                found = search(X_train, y_train, seed=seed, stages=stages, refit=True,
                               estimator=DecisionTreeClassifier(max_depth=1, random_state=0) if planted else None)
                runs.append(Run(Path("."), label, s, label, "accuracy", found.best_score_, 0.0,
                                float(found.score(X_test, y_test)), 0, 0.0, "{}"))  # fmt: skip
        if "exceeds the noise" in noise_statement(runs, comparison_table(runs)):
            exceeded += 1
    return exceeded


def calibration(work: Path) -> list[dict]:
    rows = []
    null = duel_rates("null", NULL_DUELS)
    for claim in ("gain", "loss"):
        low, high = wilson(null[claim], NULL_DUELS)
        rows.append(row("calibration", f"null data ({NULL_DUELS} searches, logistic regression, {ROWS} rows): the duel "
                        f"claims a {claim} (95 % interval {low:.3f}-{high:.3f})", null[claim] / NULL_DUELS, 0.05,
                        "rate", target="≤ 0.05 + its interval"))  # fmt: skip
    for kind, claim in (("pays", "gain"), ("hurts", "loss")):
        said = duel_rates(kind, POWER_DUELS)
        low, high = wilson(said[claim], POWER_DUELS)
        what = ("a stump to start from, depths 1-8 to tune (a decision tree)" if kind == "pays" else
                "depth 4 to start from, a stage that can only reach the stump")  # fmt: skip
        rows.append(row("calibration", f"power: {what}, {POWER_DUELS} searches: the duel says {claim} "
                        f"(95 % interval {low:.3f}-{high:.3f}); kept the start {said['kept_start']}", said[claim] / POWER_DUELS,
                        1.0, "rate"))  # fmt: skip
    for planted, n in ((False, FLIPS), (True, POWER_DUELS)):
        hits = flip_rates(planted, n)
        low, high = wilson(hits, n)
        what = ("null data, C re-tuned inside two stages of a logistic regression" if not planted else
                "power: a frozen leaf size that leaves every depth a stump, re-tuned to one that lets depth 8 win")  # fmt: skip
        rows.append(row("calibration", f"{what}, {n} searches: 're-tuning flipped the winner' (95 % interval "
                        f"{low:.3f}-{high:.3f})", hits / n, 1.0 if planted else 0.05, "rate",
                        target="" if planted else "≤ 0.05 + its interval"))  # fmt: skip
    hits = comparison_rates(False, COMPARISONS)
    low, high = wilson(hits, COMPARISONS)
    rows.append(row("calibration", f"null: two orderings that cannot differ, {COMPARISONS} comparisons of {SEEDS} seeds, "
                    f"held-out: 'exceeds the noise' (95 % interval {low:.3f}-{high:.3f})", hits / COMPARISONS, 0.05,
                    "rate", target="≤ 0.05"))  # fmt: skip
    hits = comparison_rates(True, COMPARISONS // 2)
    low, high = wilson(hits, COMPARISONS // 2)
    rows.append(row("calibration", f"power: a decision tree, one ordering stuck at the stump, {COMPARISONS // 2} comparisons of {SEEDS} "
                    f"seeds: 'exceeds the noise' (95 % interval {low:.3f}-{high:.3f})", hits / (COMPARISONS // 2), 1.0,
                    "rate"))  # fmt: skip
    return rows
