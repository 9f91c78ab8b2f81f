"""Scorers: a known name (checked with the config), and one that can score the task (checked once
the data says what the task is, before any fit). Imports scikit-learn's metrics when called."""
from __future__ import annotations

from typing import Any

from pipeline.common.errors import UserError
from pipeline.config.schema import SearchSpec

# Scorers of quantities: on class labels they run, and measure nothing (r2 of 0/1 labels).
REGRESSION_ONLY = ("r2", "explained_variance", "max_error", "neg_mean_", "neg_root_mean_", "neg_median_absolute_error",
                   "d2_")  # fmt: skip


def check_name(search: SearchSpec) -> None:
    if search.scoring == "auto":
        return
    from sklearn.metrics import get_scorer_names

    if search.scoring not in get_scorer_names():
        raise UserError(f"search.scoring={search.scoring}: unknown scorer; "
                        "e.g. accuracy, balanced_accuracy, f1, roc_auc, r2, neg_mean_squared_error (or auto)")  # fmt: skip


def scoring_for(search: SearchSpec, task: str, y: Any) -> str:
    """The scorer for ``task`` (``auto``: accuracy or r2); refuses one that cannot score it, naming both.

    Tried on a baseline model of the real target (a majority-class or mean predictor), which
    takes milliseconds and catches what a name table would miss (binary-only scorers on
    three classes, classification scorers on a regression target).
    """
    if search.scoring == "auto":
        return "r2" if task == "regression" else "accuracy"
    if task != "regression" and search.scoring.startswith(REGRESSION_ONLY):  # they score class labels as numbers
        raise UserError(f"search.scoring={search.scoring}: a regression scorer, and this is a {task} task (it would "
                        "score class labels as numbers); use e.g. accuracy, balanced_accuracy or f1_macro")  # fmt: skip
    import warnings

    import numpy as np
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.metrics import get_scorer

    X = np.zeros((len(y), 1))
    baseline = (DummyRegressor() if task == "regression" else DummyClassifier(strategy="stratified", random_state=0)).fit(X, y)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            get_scorer(search.scoring)(baseline, X, y)
    except (ValueError, TypeError, AttributeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = "r2 or neg_mean_squared_error" if task == "regression" else "accuracy, balanced_accuracy or f1_macro"
        raise UserError(f"search.scoring={search.scoring}: cannot score this {task} task ({reason[:160]}); "
                        f"use e.g. {hint}") from None  # fmt: skip
    return search.scoring
