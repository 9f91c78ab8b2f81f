"""Nuisance parameters: re-tuned inside every stage that does not own them, each candidate scored at its best.

The Deep Learning Tuning Playbook's advice: the learning rate moves when the architecture
changes, so comparing widths at a learning rate frozen stages ago is biased towards whatever
the early stages favoured. Here each candidate of a stage is crossed with a small nuisance
grid (absolute values, or factors around the value frozen now), and its score is the best
over that grid (``Retuned``, a strategy around another).
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.common.cvresults import ranks
from pipeline.common.records import Evaluation
from pipeline.common.space import label
from pipeline.search.strategies.base import Evaluate, StageStrategy
from pipeline.search.strategies.racing import RUNG_COLUMNS, last_rung
from pipeline.stats.significance import ALPHA, corrected_ttest


def nuisance_grid(nuisance: Mapping[str, Mapping[str, list[Any]]], base: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The distinct values each nuisance parameter takes in a stage: its ``values``, or its ``factors`` times the
    frozen value (factor 1 is the frozen value itself, to the last digit: the candidate "at the frozen value")."""
    grid = {}
    for param, how in nuisance.items():
        if "values" in how:
            grid[param] = list(dict.fromkeys(how["values"]))
        else:
            grid[param] = sorted({base[param] if factor == 1 else float(f"{base[param] * factor:.6g}")
                                  for factor in how["factors"]})  # fmt: skip
    return grid


def crossing(grid: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the nuisance values (what crosses each candidate)."""
    combos: list[dict[str, Any]] = [{}]
    for param, values in grid.items():
        combos = [{**c, param: v} for c in combos for v in values]
    return combos


def aggregate(columns: Mapping[str, Any], names: Sequence[str], frozen: Mapping[str, Any]) -> dict[str, Any]:
    """One row per candidate (its own parameters), the splits of its best nuisance values, and beside them the
    values it scored best at (``nuisance``), its score at the frozen values, and its score at each value.

    A raced evaluation is aggregated over its last rung (the candidates that ran the whole race).
    """
    table = pd.DataFrame({k: list(v) if k == "params" else np.asarray(v) for k, v in columns.items()})
    if "iter" in table:
        table = last_rung(table).drop(columns=list(RUNG_COLUMNS))
    own = [json.dumps({k: v for k, v in p.items() if k not in names}, sort_keys=True) for p in table["params"]]
    values = [{k: p[k] for k in names if k in p} for p in table["params"]]
    at = [label(dict(sorted(d.items()))) for d in values]
    scores = table["mean_test_score"].to_numpy(dtype=float)
    rows, extra = [], []
    for key in dict.fromkeys(own):  # the candidates in their first order
        members = [i for i, k in enumerate(own) if k == key]
        ranked = np.where(np.isfinite(scores[members]), scores[members], -np.inf)
        best = members[int(np.argmax(ranked))]
        at_frozen = [i for i in members if all(frozen.get(k) == v for k, v in values[i].items())]
        rows.append(best)
        extra.append({"nuisance": json.dumps(values[best], sort_keys=True),
                      "mean_test_score_at_frozen": scores[at_frozen[0]] if at_frozen else np.nan,
                      **{f"mean_test_score_at {at[i]}": scores[i] for i in members}})  # fmt: skip
    out = table.iloc[rows].reset_index(drop=True)
    out = out.drop(columns=[c for c in out.columns if c.startswith(("param_", "rank_"))])
    out["params"] = [json.loads(own[i]) for i in rows]
    for metric in ("score", "epochs_run"):
        out[f"rank_test_{metric}"] = ranks(out[f"mean_test_{metric}"])
    out = pd.concat([out, pd.DataFrame(extra)], axis=1)
    return {c: out[c].tolist() if c == "params" else out[c].to_numpy() for c in out.columns}


def decision(table: pd.DataFrame, winner: int, cv: int) -> dict[str, Any]:
    """What re-tuning did (``Decision``'s fields): the nuisance values the winner won at, and the best candidate at
    the frozen values where re-tuning changed the winner beyond the noise. Like with like: both are the raw best
    score (a selection rule's choice, one_se's simpler candidate, is never reported as a flip), and the re-tuned
    winner must beat the frozen values' best, both re-tuned, by the corrected paired test on their split scores
    (on null data a bare change of the argmax comes with most runs: measured in the calibration benchmark)."""
    out: dict[str, Any] = {"retuned": json.loads(table.loc[winner, "nuisance"])}
    at_frozen = table["mean_test_score_at_frozen"].to_numpy(dtype=float)
    retuned = table["mean_test_score"].to_numpy(dtype=float)
    if np.isfinite(at_frozen).any() and np.isfinite(retuned).any():
        frozen_best, retuned_best = int(np.nanargmax(at_frozen)), int(np.nanargmax(retuned))
        if frozen_best != retuned_best and beyond_noise(table, retuned_best, frozen_best, cv):
            out["flipped_from"] = json.loads(table.loc[frozen_best, "params"])
    return out


def beyond_noise(table: pd.DataFrame, better: int, other: int, cv: int) -> bool:
    """Whether row ``better`` beats row ``other`` beyond the noise: the corrected paired t-test on their split
    scores (the duel's test), two-sided at ``ALPHA``."""
    columns = [c for c in table.columns if c.startswith("split") and c.endswith("_test_score")]
    differences = (table.loc[better, columns].to_numpy(dtype=float) - table.loc[other, columns].to_numpy(dtype=float))
    differences = differences[np.isfinite(differences)]
    return differences.size > 1 and differences.mean() > 0 and corrected_ttest(differences, cv) < ALPHA


@dataclass(frozen=True)
class Retuned:
    inner: StageStrategy
    nuisance: dict[str, dict[str, list[Any]]]  # param -> {"values": [...]} or {"factors": [...]}; the stage's own left out

    def identity(self) -> dict[str, Any]:
        return {**self.inner.identity(), "nuisance": self.nuisance}

    def planned(self, total: int, base: dict[str, Any]) -> int:
        return self.inner.planned(total * len(crossing(nuisance_grid(self.nuisance, base))), base)

    def run_search(self, grids: list[dict[str, list[Any]]], evaluate: Evaluate, base: dict[str, Any]) -> Evaluation:
        extra = nuisance_grid(self.nuisance, base)
        crossed = [{**g, **extra} for g in grids]
        evaluation = self.inner.run_search(crossed, evaluate, base)
        return Evaluation(aggregate(evaluation.columns, list(extra), base), evaluation.first_error,
                          evaluation.model_epochs, fitted=evaluation.columns, continued=evaluation.continued,
                          notes=evaluation.notes)  # fmt: skip
