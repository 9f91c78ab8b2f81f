"""Never fit the same thing twice: a stage's candidates are looked up first, only the new ones are trained.

Each stage's grid holds the value already frozen, so every stage would otherwise retrain a
configuration the stage before it scored, with the same folds and seed; across orderings,
passes and the baselines many more configurations repeat. The engine sees only what is new
(the fused engine puts only the new candidates into its program); the table marks the rows
read back (``reused``) and is otherwise the same, ranks included.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from pipeline.common import cvresults
from pipeline.common.cvresults import METRICS, TIMES
from pipeline.common.records import Budget, Evaluation
from pipeline.search.strategies.base import EvaluateStage
from pipeline.store.candidates import Candidates
from pipeline.store.keys import describe_candidate, stage_key


def reusing(evaluate: EvaluateStage, store: Candidates, run: Mapping[str, Any], cv: int,
            progress: Callable[[int], None] = lambda n: None) -> EvaluateStage:  # fmt: skip
    """``evaluate`` that reads stored candidates and trains (and stores) only the others."""

    def evaluate_stage(stage: str, candidates: list[dict[str, Any]], base: dict[str, Any],
                       budget: Budget | None = None) -> Evaluation:  # fmt: skip
        if budget is not None:  # a rung of a race: trained to fewer epochs, or continued; not the candidate's result
            return evaluate(stage, candidates, base, budget)
        descriptions = [describe_candidate(run, {**base, **c}) for c in candidates]
        stored = store.mode != "off"  # nothing is stored: no key computed, every candidate trained
        keys = [stage_key(d) if stored else f"candidate {i}" for i, d in enumerate(descriptions)]
        rows = store.lookup(keys)
        first_error = None
        if len(rows) < len(keys):
            with store.computing([k for k in keys if k not in rows]):
                rows.update(store.lookup([k for k in keys if k not in rows]))  # another run may have just done them
                new = [i for i, k in enumerate(keys) if k not in rows]
                if new:
                    evaluation = evaluate(stage, [candidates[i] for i in new], base)
                    first_error = evaluation.first_error
                    for i, row in zip(new, _rows(evaluation.columns)):
                        if not raised(row):  # a diverged fit's NaN is its result; a fit that raised may not raise again
                            store.put(keys[i], descriptions[i], row)
                        rows[keys[i]] = row | {"reused": False}
        reused = [rows[k].get("reused", True) for k in keys]
        progress(sum(reused) * cv)
        return Evaluation(_columns(candidates, [rows[k] for k in keys], reused), first_error)

    return evaluate_stage


def raised(row: Mapping[str, Any]) -> bool:
    """Did a fit of this candidate raise? Then scikit-learn's ``error_score`` blanks every metric of that split,
    epochs run included; a fit that diverged still ran its epochs (the fused engine's never raise one by one)."""
    return any(k.endswith("_test_epochs_run") and k.startswith("split") and not np.isfinite(v) for k, v in row.items())


def _rows(columns: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per candidate: every column of ``cv_results_`` but the parameters and the ranks (they depend on the others)."""
    names = [c for c in columns if c != "params" and not c.startswith(("param_", "rank_"))]
    return [{name: _plain(columns[name][i]) for name in names} for i in range(len(columns["params"]))]


def _columns(candidates: list[dict[str, Any]], rows: list[dict[str, Any]], reused: list[bool]) -> dict[str, Any]:
    """``cv_results_`` columns again, in scikit-learn's order, ranks recomputed, with a ``reused`` column."""
    n_splits = sum(1 for k in rows[0] if k.startswith("split") and k.endswith("_test_score"))
    splits = {m: np.asarray([[r[f"split{i}_test_{m}"] for i in range(n_splits)] for r in rows], dtype=float) for m in METRICS}
    times, summary = ({k: np.asarray([r[k] for r in rows], dtype=float) for k in names}
                      for names in (TIMES, [f"{stat}_test_{m}" for m in METRICS for stat in ("mean", "std")]))  # fmt: skip
    return cvresults.columns(candidates, times, splits, summary) | {"reused": np.asarray(reused, dtype=bool)}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
