"""TPE as a baseline: Optuna's Tree-structured Parzen Estimator over the joint space of the stages, asked in batches.

The same space as ``exhaustive`` and ``random`` (the stages' grids, conditions included: a parameter is suggested only
in a sub-grid where its condition holds, as Optuna's define-by-run spaces do), the same folds and scorer. Each batch
of candidates is one call to the engine (one program with the fused engine); a candidate TPE proposes again is told
its known score and costs nothing, so ``budget`` counts distinct candidates, as the staged search's fits do.
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.common.cvresults import concatenated
from pipeline.common.records import Evaluation
from pipeline.search.strategies.base import Evaluate

BATCH = 8  # candidates per engine call: enough for a program to pay off, few enough for TPE to learn between them


@dataclass(frozen=True)
class Tpe:
    budget: int
    seed: int
    batch: int = BATCH

    def identity(self) -> dict[str, Any]:
        from importlib import metadata

        # Optuna's version: another release proposes other candidates from the same seed.
        return {"kind": "tpe", "budget": self.budget, "batch": self.batch, "optuna": metadata.version("optuna")}

    def planned(self, total: int, base: dict[str, Any]) -> int:
        return min(self.budget, total)

    def run_search(self, grids: list[dict[str, list[Any]]], evaluate: Evaluate, base: dict[str, Any]) -> Evaluation:
        import optuna

        logging.getLogger("optuna").setLevel(logging.WARNING)  # one line per trial otherwise (to the run log)
        sampler = optuna.samplers.TPESampler(seed=self.seed, n_startup_trials=min(10, self.budget))
        study = optuna.create_study(direction="maximize", sampler=sampler)
        total = sum(math.prod(len(v) for v in g.values()) for g in grids)
        wanted, first_error = min(self.budget, total), None
        scores: dict[str, float] = {}  # a candidate (as JSON) -> its mean score
        parts: list[dict[str, Any]] = []
        while len(scores) < wanted:
            batch: list[tuple[Any, dict[str, Any]]] = []
            for _ in range(100 * self.batch):  # a proposal seen before is told its score at once
                if len(batch) >= min(self.batch, wanted - len(scores)):
                    break
                trial = study.ask()
                candidate = _suggest(trial, grids)
                key = json.dumps(candidate, sort_keys=True, default=str)
                if key in scores:
                    study.tell(trial, scores[key])
                elif any(json.dumps(c, sort_keys=True, default=str) == key for _, c in batch):
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                else:
                    batch.append((trial, candidate))
            if not batch:
                break  # TPE keeps proposing what it has seen: the space is exhausted for it
            evaluation = evaluate([c for _, c in batch])
            first_error = first_error or evaluation.first_error
            parts.append(evaluation.columns)
            for (trial, candidate), score in zip(batch, evaluation.columns["mean_test_score"]):
                value = float(score) if np.isfinite(score) else -1e9  # a fit that failed: the worst, not a crash
                scores[json.dumps(candidate, sort_keys=True, default=str)] = value
                study.tell(trial, value)
        return Evaluation(concatenated(parts), first_error,
                          notes=(f"TPE: {len(scores)} candidates in {len(parts)} batches of up to {self.batch}",))


def _suggest(trial: Any, grids: list[dict[str, list[Any]]]) -> dict[str, Any]:
    """One candidate, parameter by parameter, keeping only the sub-grids its values so far allow.

    Parameters every sub-grid has come first (the conditions' own parameters, such as the optimizer), so a
    conditioned one (momentum) is asked only where its condition holds. A parameter's choices are the same in
    every trial (Optuna requires it): the values of every sub-grid that has it.
    """
    names = sorted({k for g in grids for k in g}, key=lambda k: (-sum(k in g for g in grids), k))
    choices = {k: list(dict.fromkeys(v for g in grids if k in g for v in g[k])) for k in names}
    alive, candidate = list(grids), {}
    for name in names:
        if not any(name in g for g in alive):
            continue
        index = trial.suggest_categorical(name, list(range(len(choices[name]))))
        value = choices[name][index]
        candidate[name] = value
        alive = [g for g in alive if name not in g or value in g[name]] or alive
    return candidate
