"""scikit-learn's ``cv_results_`` columns, built in one place: the fused engine's scores, the candidates read back
from the store, and a race's rungs all come out in GridSearchCV's columns and order (metrics ``score`` and
``epochs_run``, no refit)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

METRICS = ("score", "epochs_run")  # the scorers whose columns every table holds (see the engines)
TIMES = ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")


def ranks(means: Any) -> np.ndarray:
    """scikit-learn's ``rank_test_*``: 1 for the best mean, ties share the lower rank, NaN last."""
    ranked: np.ndarray = pd.Series(np.asarray(means, dtype=float)).rank(method="min", ascending=False,
                                                                         na_option="bottom").to_numpy("int32")  # fmt: skip
    return ranked


def parameters(candidates: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``params`` and one masked ``param_<name>`` column per parameter, as scikit-learn writes them."""
    out: dict[str, Any] = {}
    for key in sorted({k for c in candidates for k in c}):
        out[f"param_{key}"] = np.ma.MaskedArray([c.get(key) for c in candidates], mask=[key not in c for c in candidates],
                                                dtype=object)  # fmt: skip
    return out | {"params": list(candidates)}


def columns(candidates: Sequence[Mapping[str, Any]], times: Mapping[str, np.ndarray], splits: Mapping[str, np.ndarray],
            summary: Mapping[str, np.ndarray] | None = None) -> dict[str, Any]:  # fmt: skip
    """The columns for ``candidates``: ``times`` (TIMES), each metric's ``splits`` (candidates × splits), their mean
    and std (computed, or as ``summary`` holds them, ``mean_test_score`` and so on), and ranks over the means."""
    out: dict[str, Any] = {name: np.asarray(times[name], dtype=float) for name in TIMES} | parameters(candidates)
    for metric in METRICS:
        values = np.asarray(splits[metric], dtype=float).reshape(len(candidates), -1)
        for i in range(values.shape[1]):
            out[f"split{i}_test_{metric}"] = values[:, i]
        for stat, compute in (("mean", np.mean), ("std", np.std)):
            name = f"{stat}_test_{metric}"
            out[name] = np.asarray(summary[name], dtype=float) if summary is not None else compute(values, axis=1)
        out[f"rank_test_{metric}"] = ranks(out[f"mean_test_{metric}"])
    return out


def concatenated(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Several evaluations' columns as one table (a race's rungs, a sequential strategy's batches): rows in order,
    a parameter column missing from a part masked there, ranks over every row."""
    names = list(dict.fromkeys(name for part in parts for name in part))
    out: dict[str, Any] = {}
    for name in names:
        pieces = [part[name] if name in part else np.ma.masked_all(len(part["params"]), dtype=object) for part in parts]
        if name == "params":
            out[name] = [p for piece in pieces for p in piece]
        elif any(isinstance(p, np.ma.MaskedArray) for p in pieces):
            out[name] = np.ma.concatenate(pieces)
        else:
            out[name] = np.concatenate([np.asarray(p) for p in pieces])
    for name in [n for n in out if n.startswith("rank_test_")]:
        out[name] = ranks(out[f"mean_test_{name.removeprefix('rank_test_')}"])
    return out
