"""The table, checked once before any fit: fix what is unambiguous, say what was decided, refuse the rest.

Every refusal names the column (or the target) and the fix. Both engines see data that
passed here, so bad values give the same message whichever engine would have trained.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.common.errors import UserError

FLOAT32_MAX = float(np.finfo(np.float32).max)  # the networks compute in float32: larger numbers overflow
TRUE_FALSE = {"true": 1.0, "false": 0.0}
MIN_ROWS = 6  # the fewest that a test split and two folds of two rows each can come from


def checked(X: pd.DataFrame, y: pd.Series, where: str, target: str) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """The features and target to search on, and the notes on what was done to them."""
    notes = []
    if y.isna().all():
        raise UserError(f"{where}: the target {target!r} is entirely missing")
    if y.isna().any():
        dropped = int(y.isna().sum())
        notes.append(f"dataset: dropped {dropped} of {len(y)} rows whose target {target!r} is missing")
        X, y = X[y.notna()], y[y.notna()]
    if len(y) < MIN_ROWS:
        raise UserError(f"{where}: {len(y)} data row{'s' if len(y) != 1 else ''} with a target; a search needs at least "
                        f"{MIN_ROWS} (a test split and cross-validation folds); add rows")  # fmt: skip
    if X.shape[1] == 0:
        raise UserError(f"{where}: no feature columns left; check dataset.drop")
    X, converted = _booleans_as_numbers(X)
    if converted:
        names = ", ".join(map(repr, converted))
        notes.append(f"dataset: column {names} holds true/false: used as 1/0" if len(converted) == 1
                     else f"dataset: columns {names} hold true/false: used as 1/0")  # fmt: skip
    empty = X.columns[X.isna().all().to_numpy()]
    if len(empty):
        raise UserError(f"{where}: column {empty[0]!r} is entirely missing; add it to dataset.drop")
    numeric = [c for c, kind in X.dtypes.items() if pd.api.types.is_numeric_dtype(kind)]  # one look per column type
    _finite_columns(X[numeric], where)
    leak = _copies_of(X, numeric, y)
    if leak is not None:
        raise UserError(f"{where}: column {leak!r} is a copy of the target {target!r} (a target leak: the search "
                        "would learn nothing real); add it to dataset.drop")  # fmt: skip
    return X, y, notes


def check_target(y: pd.Series, task: str, where: str, target: str) -> None:
    if y.nunique() < 2:
        raise UserError(f"{where}: the target {target!r} is constant; nothing to learn")
    if task == "binary" and y.nunique() > 2:
        raise UserError(f"{where}: dataset.task=binary but the target {target!r} has {y.nunique()} distinct values; "
                        "use dataset.task=multiclass (or auto)")  # fmt: skip
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
            raise UserError(f"{where}: dataset.task=regression but the target {target!r} is not numeric; "
                            "use dataset.task=auto")  # fmt: skip
        _finite(y, f"the target {target!r}", where, "clean those rows")


def _booleans_as_numbers(X: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Boolean columns (true/false, in any case) as 1.0/0.0, missing values kept missing."""
    converted, out = [], X.copy()
    for column in X.columns[[not pd.api.types.is_numeric_dtype(k) or pd.api.types.is_bool_dtype(k) for k in X.dtypes]]:
        values = X[column]
        if pd.api.types.is_bool_dtype(values):
            out[column] = values.astype(float)
        elif values.dtype == object and values.dropna().map(lambda v: str(v).strip().lower() in TRUE_FALSE).all() \
                and values.notna().any():  # fmt: skip
            out[column] = values.map(lambda v: TRUE_FALSE[str(v).strip().lower()] if pd.notna(v) else np.nan)
        else:
            continue
        converted.append(column)
    return out, converted


def _finite(values: pd.Series, what: str, where: str, fix: str) -> None:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    bad = np.isinf(numbers) | (np.abs(np.nan_to_num(numbers)) > FLOAT32_MAX)
    if bad.any():
        first = int(np.argmax(bad))
        raise UserError(f"{where}: {what} has infinite or too large values (data row {values.index[first] + 1}: "
                        f"{float(numbers[first])}; the networks compute in float32, up to 3.4e38); {fix}")  # fmt: skip


def _finite_columns(numbers: pd.DataFrame, where: str) -> None:
    """Every numeric column at once (a table may have 100,000 of them): the first with an infinite or too large value."""
    values = numbers.to_numpy(dtype="float64", na_value=np.nan)
    bad = np.isinf(values) | (np.abs(np.nan_to_num(values)) > FLOAT32_MAX)
    if bad.any():
        column = numbers.columns[int(np.argmax(bad.any(axis=0)))]
        _finite(numbers[column], f"column {column!r}", where, "clean it or add it to dataset.drop")


def _copies_of(X: pd.DataFrame, numeric: list[str], y: pd.Series) -> str | None:
    """The first column that holds exactly the target (numeric columns compared all at once), or None."""
    if pd.api.types.is_numeric_dtype(y) and not y.isna().any() and numeric:
        values = X[numeric].to_numpy(dtype="float64", na_value=np.nan)
        same = (values == y.to_numpy(dtype="float64")[:, None]).all(axis=0)
        if same.any():
            return str(numeric[int(np.argmax(same))])
    measured = set(numeric)
    for column in (c for c in X.columns if c not in measured):
        if _same_values(X[column], y):
            return str(column)
    return None


def _same_values(values: pd.Series, y: pd.Series) -> bool:
    if values.isna().any() or values.nunique() != y.nunique():
        return False
    numeric = pd.api.types.is_numeric_dtype(values) and pd.api.types.is_numeric_dtype(y)
    a, b = (values.to_numpy(dtype=float), y.to_numpy(dtype=float)) if numeric else (values.astype(str), y.astype(str))
    return bool((np.asarray(a) == np.asarray(b)).all())
