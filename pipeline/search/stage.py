"""One stage: apply conditions, let the strategy evaluate candidates through the engine, pick the winner.

Knows no Keras and no estimator: the engine is a function from candidates to
``cv_results_`` columns (an ``Evaluation``), the strategy decides which candidates.
"""
from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pipeline.common import space
from pipeline.common.errors import StageFailed
from pipeline.common.records import Budget, Decision, Evaluation, Stage, StageResult
from pipeline.search.strategies import nuisance, racing
from pipeline.search.strategies.base import EvaluateStage, StageStrategy
from pipeline.stats import selection


def planned_fits(stage: Stage, strategy: StageStrategy, current: Mapping[str, Any], conditions: space.Conditions,
                 cv: int) -> int:  # fmt: skip
    _, base, _ = space.candidate_grids(stage.grid, current, conditions)
    return strategy.planned(space.count_candidates(stage.grid, current, conditions), base) * cv


def run_stage(
    stage: Stage,
    strategy: StageStrategy,
    current: Mapping[str, Any],
    conditions: space.Conditions,
    evaluate: EvaluateStage,
    *,
    cv: int,
    repeats: int = 1,
    select: str = "best",
    metric: str = "",
) -> StageResult:
    """Search ``stage`` with everything in ``current`` frozen; return the winner and its table."""
    grids, base, skipped = space.candidate_grids(stage.grid, current, conditions)
    frozen = space.frozen_inputs(stage.grid, current, conditions)
    tuned = tuple(stage.grid)
    if grids == [{}]:  # every tuned parameter was skipped by its condition: nothing to fit
        empty = pd.DataFrame(columns=["params", "mean_test_score", "std_test_score"])
        return StageResult(stage.name, tuned, frozen, {}, float("nan"), float("nan"), 0, 0, 0, 0.0, tuple(skipped),
                           cv_results=empty, metric=metric)  # fmt: skip
    started = time.perf_counter()
    def evaluate_here(candidates: list[dict[str, Any]], budget: Budget | None = None) -> Evaluation:
        return evaluate(stage.name, candidates, base, budget)

    evaluation = strategy.run_search(grids, evaluate_here, base)
    seconds = time.perf_counter() - started
    table = results_table(evaluation.columns)
    fitted = results_table(evaluation.fitted) if evaluation.fitted is not None else table  # every fit made
    splits = cv * repeats  # the one-SE rule and the ties count every split: seed noise as well as fold noise
    made = fitted.drop_duplicates("params", keep="last") if evaluation.continued else fitted  # a model per fit
    split_scores = made[[f"split{i}_test_score" for i in range(splits)]].to_numpy(dtype=float)
    failed = int((~np.isfinite(split_scores)).sum())
    final = racing.last_rung(table)  # the winner comes from the candidates that ran the whole race
    picked = selection.pick_winner(final, splits, select, stage.simpler)
    if picked is None:
        cause = evaluation.first_error or "training diverged (the loss became NaN or infinite); lower the learning rate"
        if failed < split_scores.size and "n_resources" in final:  # raced: every fit of the last rung failed
            last = f"{len(final) * splits} fits of its last rung ({int(final['n_resources'].iloc[0])} epochs)"
            raise StageFailed(stage.name, 0, cause, what=last)
        if failed < split_scores.size:  # some fits trained, but no candidate has a score on every split
            raise StageFailed(stage.name, 0, cause, what=f"{len(final)} candidates, each on at least one of its {splits} "
                              f"splits ({failed} of {split_scores.size} fits),")  # fmt: skip
        raise StageFailed(stage.name, failed, cause)
    best, ties, why = picked
    decided: dict[str, Any] = {"why": why, "rungs": racing.rungs_of(fitted), "notes": evaluation.notes}
    winner = json.loads(final.loc[best, "params"])
    if "nuisance" in final:  # the winner freezes the nuisance values it won with too
        decided |= nuisance.decision(final, best, cv)
        winner |= decided["retuned"]
    epochs = fitted[[f"split{i}_test_epochs_run" for i in range(splits)]].to_numpy(dtype=float)
    return StageResult(
        stage=stage.name,
        tuned=tuned,
        frozen=frozen,
        winner=winner,
        mean_score=float(final.loc[best, "mean_test_score"]),
        std_score=float(final.loc[best, "std_test_score"]),
        candidates=table["params"].nunique(),
        fits=split_scores.size,
        failed_fits=failed,
        seconds=seconds,
        skipped=tuple(skipped),
        ties=tuple(json.loads(final.loc[i, "params"]) for i in ties),
        cv_results=table,
        fits_reused=int(fitted["reused"].sum()) * splits if "reused" in fitted else 0,
        decision=Decision(**decided),
        model_epochs=int(evaluation.model_epochs if evaluation.model_epochs is not None else np.nansum(epochs)),
        metric=metric,
    )


def results_table(columns: Mapping[str, Any]) -> pd.DataFrame:
    """``cv_results_`` columns as a DataFrame, each candidate's params as sorted JSON."""
    table = pd.DataFrame(columns)
    table["params"] = [json.dumps(dict(p), sort_keys=True) for p in table["params"]]
    return table
