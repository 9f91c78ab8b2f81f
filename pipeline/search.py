"""One stage: a small GridSearchCV over one family of parameters, earlier winners frozen.

Grids are written in scikeras' routed names (``optimizer__learning_rate``); this module
routes them through the Pipeline step, applies conditions, records epochs actually run,
and turns ``cv_results_`` into a table with failed fits counted, never hidden.
"""
from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from joblib.externals.loky.process_executor import TerminatedWorkerError
from sklearn.metrics import get_scorer
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    ParameterGrid,
    ParameterSampler,
    RandomizedSearchCV,
    StratifiedKFold,
)

from pipeline import execution
from pipeline.config import TrainingSpec
from pipeline.errors import ResourceExhausted, UserError

NET = "net"  # the Keras step of the estimator Pipeline (see pipeline.model)
Conditions = Mapping[str, Mapping[str, list]]  # param -> {other param: values it applies for}
Simpler = Mapping[str, Any]  # param -> "ascending" | "descending" | [values, simplest first]


@dataclass(frozen=True)
class StageResult:
    """What a stage decided; immutable so the store and the report can share it."""

    stage: str
    tuned: tuple[str, ...]
    frozen: dict[str, Any]  # the earlier winners and base values every candidate shared
    winner: dict[str, Any]
    mean_score: float
    std_score: float
    candidates: int
    fits: int
    failed_fits: int
    seconds: float
    skipped: tuple[str, ...] = ()
    ties: tuple[dict[str, Any], ...] = ()  # other candidates within one standard error of the best
    cv_results: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)
    reused: bool = False  # read from the stage store instead of computed by this run
    pass_number: int = 1  # which pass over the order (search.passes) produced it


class FitScore:
    """The chosen metric, or NaN when training diverged (non-finite loss or weights)."""

    def __init__(self, metric: str):
        self.metric = metric

    def __call__(self, estimator, X, y) -> float:
        if execution.report_fits_done is not None:
            execution.report_fits_done(1)
        if not trained(estimator[-1]):
            return float("nan")
        return float(get_scorer(self.metric)(estimator, X, y))


def trained(net) -> bool:
    """False when the fit diverged: a non-finite loss (TerminateOnNaN stopped it) or weights."""
    loss = np.asarray(net.history_.get("loss", []), dtype=float)
    if loss.size == 0 or not np.all(np.isfinite(loss)):
        return False
    return all(np.all(np.isfinite(w)) for w in net.model_.get_weights())


class EpochsRun:
    """Epochs the fit actually ran: the evidence that early stopping works."""

    def __call__(self, estimator, X, y) -> float:
        return float(len(estimator[-1].history_.get("loss", [])))


def default_metric(task: str) -> str:
    return "r2" if task == "regression" else "accuracy"


def folds(task: str, cv: int, seed: int):
    """Shuffled, seeded folds; stratified for classification."""
    splitter = KFold if task == "regression" else StratifiedKFold
    return splitter(n_splits=cv, shuffle=True, random_state=seed)


def candidate_grids(
    grid: Mapping[str, list], current: Mapping[str, Any], conditions: Conditions
) -> tuple[list[dict[str, list]], dict[str, Any], list[str]]:
    """Apply conditions: returns sub-grids, the stage's base params, and what was skipped.

    A conditioned parameter (momentum needs optimizer in [sgd, rmsprop]) is searched only
    where its condition holds. If the condition's parameter is tuned in this same stage the
    grid is split in two; if it is frozen, the conditioned parameter is skipped (and said so).
    """
    grids = [dict(grid)]
    base = dict(current)
    skipped: list[str] = []
    for param, requires in conditions.items():
        for other, allowed in requires.items():
            if other in grid:
                split: list[dict[str, list]] = []
                for g in grids:
                    fits = [v for v in g[other] if v in allowed]
                    rest = [v for v in g[other] if v not in allowed]
                    if fits:
                        kept = {param: [base[param]]} if param not in g and param in base else {}
                        split.append({**g, other: fits, **kept})
                    if rest:
                        split.append({k: v for k, v in g.items() if k != param} | {other: rest})
                grids = split
                base.pop(param, None)
                if param in grid:
                    skipped.append(f"{param} only for {other} in {list(allowed)}")
            elif current.get(other) not in allowed and (param in grid or param in base):
                base.pop(param, None)
                if param in grid:
                    grids = [{k: v for k, v in g.items() if k != param} for g in grids]
                    skipped.append(f"{param} (applies to {other} in {list(allowed)}; {other}={current.get(other)})")
    return [g for g in grids if g] or [{}], base, skipped


def _routed(grid: Mapping[str, list]) -> dict[str, list]:
    return {f"{NET}__{k}": list(v) for k, v in grid.items()}


def results_table(cv_results: Mapping[str, Any]) -> pd.DataFrame:
    """``cv_results_`` as a DataFrame, parameter columns in the user's routed names."""
    table = pd.DataFrame(cv_results)
    prefix = f"param_{NET}__"
    table = table.rename(columns={c: "param_" + c[len(prefix):] for c in table.columns if c.startswith(prefix)})
    table["params"] = [json.dumps({k.removeprefix(f"{NET}__"): v for k, v in p.items()}, sort_keys=True) for p in table["params"]]
    return table


def pick_winner(table: pd.DataFrame, cv: int = 2, select: str = "best", simpler: Simpler | None = None) -> tuple[int, list[int]]:
    """The winning row and the rows that tie with it (within one standard error of the best).

    ``best``: the highest finite mean score (ties go to the earlier candidate).
    ``one_se``: the simplest candidate within one standard error of the best, where the
    stage's ``simpler`` rules say what simpler means.
    """
    scores = table["mean_test_score"].to_numpy(dtype=float)
    if not np.isfinite(scores).any():
        raise ValueError("no candidate has a finite score")
    best = int(np.nanargmax(np.where(np.isfinite(scores), scores, -np.inf)))
    standard_error = float(table.loc[best, "std_test_score"]) / np.sqrt(cv)
    tied = [i for i in range(len(scores)) if np.isfinite(scores[i]) and scores[i] >= scores[best] - standard_error]
    winner = best
    if select == "one_se" and simpler:
        winner = min(tied, key=lambda i: (simplicity(json.loads(table.loc[i, "params"]), simpler), -scores[i], i))
    return winner, [i for i in tied if i != winner]


def simplicity(params: Mapping[str, Any], simpler: Simpler) -> tuple:
    """Sort key: smaller is simpler. Rules: ascending, descending, or a list simplest-first."""
    key = []
    for param, rule in simpler.items():
        value = params.get(param)
        if value is None:  # not searched for this candidate (a condition skipped it): simplest
            key.append(-np.inf)
        elif rule == "ascending":
            key.append(float(value))
        elif rule == "descending":
            key.append(-float(value))
        else:
            key.append(rule.index(value) if value in rule else len(rule))
    return tuple(key)


def run_stage(
    stage: str,
    grid: Mapping[str, list],
    current: Mapping[str, Any],
    conditions: Conditions,
    make_estimator: Callable[[dict[str, Any]], Any],
    X: pd.DataFrame,
    y: pd.Series,
    *,
    task: str,
    cv: int,
    seed: int,
    metric: str,
    n_jobs: int,
    select: str = "best",
    simpler: Simpler | None = None,
    budget: int | None = None,
    on_fit_done: Callable[[int], None] = lambda n: None,
    engine: str = "gridsearchcv",
    training: TrainingSpec | None = None,
) -> StageResult:
    """Search ``grid`` with everything in ``current`` frozen; return the winner and its table.

    With ``budget`` the search samples that many candidates (RandomizedSearchCV) instead of all.
    ``engine="fused"`` trains the same candidates on the same folds in compiled JAX programs
    (``pipeline.fused``, which needs ``training``) and returns the same table.
    """
    grids, base, skipped = candidate_grids(grid, current, conditions)
    candidates = count_candidates(grid, current, conditions, budget)
    tuned = tuple(grid)
    if candidates == 0:  # every tuned parameter was skipped by its condition
        return StageResult(stage, tuned, frozen_inputs(grid, current, conditions), {}, float("nan"), float("nan"), 0, 0, 0, 0.0, tuple(skipped))
    splitter = folds(task, cv, seed)
    routed = [_routed(g) for g in grids]
    caught: list[warnings.WarningMessage] = []
    if engine == "fused":
        from pipeline import fused

        fused.load()
        sampled = ParameterGrid(routed) if budget is None else ParameterSampler(routed, candidates, random_state=seed)
        started = time.perf_counter()
        cv_results = _fused_search(stage, list(sampled), base, X, y, splitter, task, metric, seed, training, on_fit_done)
    else:
        estimator = make_estimator(base)
        started = time.perf_counter()
        n_iter = None if budget is None else candidates
        cv_results, caught = _grid_search(stage, estimator, routed, X, y, splitter, metric, n_jobs, seed, n_iter, on_fit_done)
    seconds = time.perf_counter() - started
    table = results_table(cv_results)
    split_scores = table[[f"split{i}_test_score" for i in range(cv)]].to_numpy(dtype=float)
    failed = int((~np.isfinite(split_scores)).sum())
    try:
        best, ties = pick_winner(table, cv, select, simpler)
    except ValueError:
        cause = _first_fit_error(caught) or "training diverged (the loss became NaN or infinite); lower the learning rate"
        raise StageFailed(stage, failed, cause) from None
    winner = json.loads(table.loc[best, "params"])
    return StageResult(
        stage=stage,
        tuned=tuned,
        frozen=frozen_inputs(grid, current, conditions),
        winner=winner,
        mean_score=float(table.loc[best, "mean_test_score"]),
        std_score=float(table.loc[best, "std_test_score"]),
        candidates=candidates,
        fits=candidates * cv,
        failed_fits=failed,
        seconds=seconds,
        skipped=tuple(skipped),
        ties=tuple(json.loads(table.loc[i, "params"]) for i in ties),
        cv_results=table,
    )


def _grid_search(stage, estimator, routed, X, y, splitter, metric, n_jobs, seed, n_iter, on_fit_done):
    """GridSearchCV (RandomizedSearchCV with ``n_iter``): ``cv_results_`` and the warnings it raised."""
    common = dict(scoring={"score": FitScore(metric), "epochs_run": EpochsRun()}, refit=False, cv=splitter, n_jobs=n_jobs, error_score=np.nan)
    if n_iter:
        search = RandomizedSearchCV(estimator, routed, n_iter=n_iter, random_state=seed, **common)
    else:
        search = GridSearchCV(estimator, routed, **common)
    with warnings.catch_warnings(record=True) as caught, execution.fits_running(n_jobs, on_fit_done):
        warnings.simplefilter("always")
        try:
            search.fit(X, y)
        except ValueError as exc:  # scikit-learn raises when every fit raised
            if "fits failed" not in str(exc):
                raise
            raise StageFailed(stage, (n_iter or len(ParameterGrid(routed))) * splitter.get_n_splits(), _last_line(str(exc))) from None
        except Exception as exc:  # a lost worker: loky's TerminatedWorkerError, Dask's KilledWorker, MemoryError
            if not isinstance(exc, TerminatedWorkerError | MemoryError) and type(exc).__name__ != "KilledWorker":
                raise
            raise ResourceExhausted(
                f"stage {stage}: a worker ran out of memory or was killed ({_last_line(str(exc)) or type(exc).__name__}); "
                "try search.n_jobs=1, a smaller model.batch_size or fewer model__neurons"
            ) from None
    return search.cv_results_, caught


def _fused_search(stage, candidates, base, X, y, splitter, task, metric, seed, training, on_fit_done):
    """The fused engine on the candidates GridSearchCV would fit, in the same order."""
    from pipeline import fused

    own = [{k.removeprefix(f"{NET}__"): v for k, v in c.items()} for c in candidates]
    try:
        prepared = fused.prepare_folds(X, y, task, splitter)
        out = fused.run_models([{**base, **c} for c in own], prepared, task=task, metric=metric, training=training, seed=seed,
                               on_models_done=on_fit_done)  # fmt: skip
    except Exception as exc:  # XLA reports running out of memory as RESOURCE_EXHAUSTED
        if not isinstance(exc, MemoryError) and "RESOURCE_EXHAUSTED" not in str(exc):
            raise
        raise ResourceExhausted(
            f"stage {stage}: the fused program ran out of memory ({_last_line(str(exc))[:200]}); "
            "try fewer candidates per stage or search.engine=gridsearchcv"
        ) from None
    return fused.cv_results(candidates, out["scores"], out["epochs"], out["seconds"])


class StageFailed(UserError):
    """Every fit of a stage failed: nothing to freeze, so the run stops here."""

    def __init__(self, stage: str, failed: int, cause: str):
        super().__init__(f"stage {stage}: all {failed} fits failed; first cause: {cause}")
        self.stage = stage


def _first_fit_error(caught: list[warnings.WarningMessage]) -> str | None:
    for w in caught:
        text = str(w.message)
        if "fits failed" in text.lower():
            return _last_line(text)
    return None


def _last_line(text: str) -> str:
    """The exception line at the bottom of a traceback text."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def count_candidates(
    grid: Mapping[str, list], current: Mapping[str, Any], conditions: Conditions, budget: int | None = None
) -> int:
    """Candidates the stage will fit (0 when conditions skip every tuned parameter)."""
    grids, _, _ = candidate_grids(grid, current, conditions)
    total = 0 if grids == [{}] else len(ParameterGrid(grids))
    return total if budget is None else min(budget, total)


def frozen_inputs(grid: Mapping[str, list], current: Mapping[str, Any], conditions: Conditions = {}) -> dict[str, Any]:
    """The values a stage holds fixed: what decides its result besides its own grid."""
    return {k: v for k, v in effective_params(current, conditions).items() if k not in grid}


def effective_params(current: Mapping[str, Any], conditions: Conditions) -> dict[str, Any]:
    """The frozen params with those whose condition fails removed (no momentum for adam)."""
    _, base, _ = candidate_grids({}, current, conditions)
    return base
