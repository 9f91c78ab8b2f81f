"""Racing a stage's candidates: successive halving over epochs, as scikit-learn's ``HalvingGridSearchCV`` schedules
it, as a strategy over the engine seam.

Every candidate trains a rung's epochs, the best 1/factor go on to the next rung with factor times the epochs, and so
on. The strategy asks the engine for each rung (``Budget``); an engine that ``continues`` (the fused engine) trains
its survivors on from where they paused, one that does not (GridSearchCV) trains each rung from scratch, as
scikit-learn's halving search does. A test holds the schedule equal to scikit-learn's (``n_resources_``,
``n_candidates_``) and the GridSearchCV engine's rungs equal to ``HalvingGridSearchCV``'s.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.common.cvresults import concatenated
from pipeline.common.records import Budget, Evaluation
from pipeline.search.strategies.base import Evaluate, StageStrategy

RUNG_COLUMNS = ("iter", "n_resources")


@dataclass(frozen=True)
class Halving:
    """Every candidate trains ``min_epochs`` (or as scikit-learn's "exhaust": so that the last rung trains
    ``max_epochs``), then the best 1/``factor`` go on with ``factor`` times the epochs, and so on."""

    factor: float
    min_epochs: int | None
    max_epochs: int

    def identity(self) -> dict[str, Any]:
        return {"kind": "halving", **asdict(self)}


def rungs(n_candidates: int, halving: Halving) -> list[tuple[int, int]]:
    """(epochs, candidates) of each rung: scikit-learn's successive-halving schedule with epochs as the resource."""
    factor, most = halving.factor, halving.max_epochs
    required = 1 + math.floor(math.log(n_candidates, factor))
    least: float = halving.min_epochs or 1
    if halving.min_epochs is None:  # "exhaust": start as high as lets the last required rung use every epoch
        least = max(least, most // factor ** (required - 1))
    possible = 1 + math.floor(math.log(most // least, factor))
    out, candidates = [], n_candidates
    for rung in range(min(possible, required)):
        out.append((min(int(factor**rung * least), most), candidates))
        candidates = math.ceil(candidates / factor)
    return out


def last_rung(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the last rung of a raced stage's table (the whole table of a stage that was not raced)."""
    if "iter" not in table:
        return table
    return table.loc[table["iter"] == table["iter"].max()].reset_index(drop=True)


def rungs_of(table: pd.DataFrame) -> tuple[tuple[int, int], ...]:
    """(candidates, epochs) of each rung of a raced stage's table (empty for a stage that was not raced)."""
    if "iter" not in table:
        return ()
    rungs = table.groupby("iter").agg(candidates=("params", "size"), epochs=("n_resources", "first"))
    return tuple((int(n), int(e)) for n, e in zip(rungs["candidates"], rungs["epochs"]))


def survivors(mean_scores: Sequence[float], keep: int) -> list[int]:
    """The ``keep`` best rows (a NaN score counts as the worst), as scikit-learn's ``_top_k`` picks them,
    returned in their original order."""
    scores = np.asarray(mean_scores, dtype=float)
    order = np.roll(np.argsort(scores), np.count_nonzero(np.isnan(scores)))
    return sorted(int(i) for i in order[-keep:])


@dataclass(frozen=True)
class Raced:
    """Another strategy's candidates, raced: the rungs' evaluations joined into one halving search's table."""

    inner: StageStrategy
    halving: Halving

    def identity(self) -> dict[str, Any]:
        return {**self.inner.identity(), "racing": self.halving.identity()}

    def planned(self, total: int, base: dict[str, Any]) -> int:
        candidates = self.inner.planned(total, base)
        return sum(n for _, n in rungs(candidates, self.halving)) if candidates else 0

    def run_search(self, grids: list[dict[str, list[Any]]], evaluate: Evaluate, base: dict[str, Any]) -> Evaluation:
        def race(candidates: list[dict[str, Any]], budget: Budget | None = None) -> Evaluation:
            return self.race(candidates, evaluate)

        evaluation = self.inner.run_search(grids, race, base)
        last = int(max(evaluation.columns["n_resources"]))
        if last >= self.halving.max_epochs:
            return evaluation
        short = (f"its last rung trained {last} of model.epochs={self.halving.max_epochs} epochs (too few epochs for "
                 "this many rungs: raise model.epochs, or race no stage this small)")  # fmt: skip
        return dataclasses.replace(evaluation, notes=(*evaluation.notes, short))

    def race(self, candidates: list[dict[str, Any]], evaluate: Evaluate) -> Evaluation:
        """Each rung through the engine; the survivors go on (continued where the engine can)."""
        schedule = rungs(len(candidates), self.halving)
        alive, paused, done = list(range(len(candidates))), None, []
        for number, (epochs, _) in enumerate(schedule):
            evaluation = evaluate([candidates[i] for i in alive], Budget(epochs, paused))
            done.append((alive, evaluation))
            paused = evaluation.paused
            if number + 1 < len(schedule):
                alive = [alive[i] for i in survivors(evaluation.columns["mean_test_score"], schedule[number + 1][1])]
        continued = paused is not None
        return Evaluation(
            joined([e.columns for _, e in done], [epochs for epochs, _ in schedule]),
            next((e.first_error for _, e in done if e.first_error), None),
            model_epochs=_last_rung_epochs(done) if continued else None,
            continued=continued,
        )


def joined(rung_columns: Sequence[Mapping[str, Any]], epochs: Sequence[int]) -> dict[str, Any]:
    """The rungs' ``cv_results_`` as one halving search's: a row per candidate per rung, ``iter`` and
    ``n_resources`` beside, ranks over every row."""
    out = concatenated(rung_columns)
    out["iter"] = np.concatenate([np.full(len(c["params"]), i) for i, c in enumerate(rung_columns)])
    out["n_resources"] = np.concatenate([np.full(len(c["params"]), e) for c, e in zip(rung_columns, epochs)])
    return out


def _last_rung_epochs(done: Sequence[tuple[list[int], Evaluation]]) -> int:
    """Epochs trained in all when survivors continued: each model's epochs at the last rung it ran."""
    last: dict[int, float] = {}
    for alive, evaluation in done:
        columns = evaluation.columns
        splits = [k for k in columns if k.startswith("split") and k.endswith("_test_epochs_run")]
        for row, candidate in enumerate(alive):
            last[candidate] = float(sum(np.asarray(columns[k], dtype=float)[row] for k in splits))
    return int(sum(last.values()))
