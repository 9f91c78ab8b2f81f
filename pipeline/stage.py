"""One stage: apply conditions, let the strategy evaluate candidates through the engine, pick the winner.

Knows no Keras and no estimator: the engine is a function from candidates to
``cv_results_`` columns (an ``Evaluation``), the strategy decides which candidates.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from pipeline import space
from pipeline.errors import StageFailed
from pipeline.records import Evaluation, Stage, StageResult
from pipeline.strategies import StageStrategy

EvaluateStage = Callable[[str, list[dict[str, Any]], dict[str, Any]], Evaluation]  # (stage, candidates, base)


def planned_fits(stage: Stage, strategy: StageStrategy, current: Mapping[str, Any], conditions: space.Conditions,
                 cv: int) -> int:  # fmt: skip
    return strategy.planned(space.count_candidates(stage.grid, current, conditions)) * cv


def run_stage(
    stage: Stage,
    strategy: StageStrategy,
    current: Mapping[str, Any],
    conditions: space.Conditions,
    evaluate: EvaluateStage,
    *,
    cv: int,
    select: str = "best",
) -> StageResult:
    """Search ``stage`` with everything in ``current`` frozen; return the winner and its table."""
    grids, base, skipped = space.candidate_grids(stage.grid, current, conditions)
    frozen = space.frozen_inputs(stage.grid, current, conditions)
    tuned = tuple(stage.grid)
    if grids == [{}]:  # every tuned parameter was skipped by its condition: nothing to fit
        empty = pd.DataFrame(columns=["params", "mean_test_score", "std_test_score"])
        return StageResult(stage.name, tuned, frozen, {}, float("nan"), float("nan"), 0, 0, 0, 0.0, tuple(skipped),
                           cv_results=empty)  # fmt: skip
    started = time.perf_counter()
    evaluation = strategy.run_search(grids, lambda candidates: evaluate(stage.name, candidates, base))
    seconds = time.perf_counter() - started
    table = results_table(evaluation.columns)
    split_scores = table[[f"split{i}_test_score" for i in range(cv)]].to_numpy(dtype=float)
    failed = int((~np.isfinite(split_scores)).sum())
    picked = space.pick_winner(table, cv, select, stage.simpler)
    if picked is None:
        cause = evaluation.first_error or "training diverged (the loss became NaN or infinite); lower the learning rate"
        raise StageFailed(stage.name, split_scores.size, cause)
    best, ties = picked
    decision = ""
    if select == "incumbent":
        best, decision = space.keep_or_switch(table, best, space.incumbent_row(table, current), cv)
        ties = sorted(i for i in {*ties, picked[0]} if i != best)
    return StageResult(
        stage=stage.name,
        tuned=tuned,
        frozen=frozen,
        winner=json.loads(table.loc[best, "params"]),
        mean_score=float(table.loc[best, "mean_test_score"]),
        std_score=float(table.loc[best, "std_test_score"]),
        candidates=len(table),
        fits=split_scores.size,
        failed_fits=failed,
        seconds=seconds,
        skipped=tuple(skipped),
        ties=tuple(json.loads(table.loc[i, "params"]) for i in ties),
        cv_results=table,
        fits_reused=int(table["reused"].sum()) * cv if "reused" in table else 0,
        decision=decision,
    )


def results_table(columns: Mapping[str, Any]) -> pd.DataFrame:
    """``cv_results_`` columns as a DataFrame, each candidate's params as sorted JSON."""
    table = pd.DataFrame(columns)
    table["params"] = [json.dumps(dict(p), sort_keys=True) for p in table["params"]]
    return table
