"""Datasets: load built-in or user tables, infer the task, split off the test set.

Preprocessing is returned as an *unfitted* ColumnTransformer so that every CV fold
fits its own imputation, scaling and encoding on its own training part.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from pipeline.config.schema import DatasetSpec
from pipeline.errors import UserError
from pipeline.records import Dataset

BUILTIN = ("breast_cancer", "iris", "wine", "digits", "diabetes")
PREPROCESSING_VERSION = 1  # bump when make_preprocessor changes what a fold's network sees
MAX_CLASSES = 20  # an integer target with more distinct values than this is a regression target


def load_table(spec: DatasetSpec) -> pd.DataFrame:
    """Read the user's CSV or Parquet file; every failure becomes a one-line UserError."""
    if not spec.path:
        raise UserError("dataset.path is not set: add dataset.path=/path/to/data.csv")
    path = Path(spec.path).expanduser()
    if not path.is_file():
        raise UserError(f"dataset.path={spec.path}: no such file; check the path")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, sep=None, engine="python")
    except Exception as exc:  # pandas raises many types for unreadable files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"dataset.path={spec.path}: cannot read it as CSV or Parquet ({first})") from None
    if frame.empty or frame.shape[1] < 2:
        raise UserError(f"dataset.path={spec.path}: the file has no data rows or fewer than two columns")
    return frame


def _builtin(name: str) -> tuple[pd.DataFrame, pd.Series]:
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")(as_frame=True)
    return bunch.data, bunch.target


def infer_task(y: pd.Series) -> str:
    """binary / multiclass for labels, regression for a continuous or wide-ranging number."""
    values = y.dropna()
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return "binary" if values.nunique() <= 2 else "multiclass"
    integer_valued = np.all(np.mod(values.to_numpy(dtype=float), 1) == 0)
    if integer_valued and values.nunique() <= MAX_CLASSES:
        return "binary" if values.nunique() <= 2 else "multiclass"
    return "regression"


def load_dataset(spec: DatasetSpec) -> Dataset:
    """Load, drop unwanted columns, and settle the task; checks that need no training."""
    if spec.name == "file":
        frame = load_table(spec)
        if not spec.target:
            raise UserError(
                f"dataset.target is not set: add dataset.target=<column>; columns: {', '.join(map(str, frame.columns))}"
            )
        if spec.target not in frame.columns:
            raise UserError(
                f"dataset.target={spec.target}: no such column in {spec.path}; columns: {', '.join(map(str, frame.columns))}"
            )
        y = frame[spec.target]
        X = frame.drop(columns=[spec.target])
    elif spec.name in BUILTIN:
        X, y = _builtin(spec.name)
    else:
        raise UserError(f"dataset={spec.name}: unknown dataset; choose one of {', '.join(BUILTIN)} or file")
    missing = [c for c in spec.drop if c not in X.columns]
    if missing:
        raise UserError(f"dataset.drop: no column {missing[0]!r}; columns: {', '.join(map(str, X.columns))}")
    X = X.drop(columns=list(spec.drop))
    if y.isna().any():
        keep = y.notna()
        X, y = X[keep], y[keep]
    task = infer_task(y) if spec.task == "auto" else spec.task
    _check(spec, X, y, task)
    return Dataset(spec.name, X.reset_index(drop=True), y.reset_index(drop=True).rename("target"), task)


def _check(spec: DatasetSpec, X: pd.DataFrame, y: pd.Series, task: str) -> None:
    where = spec.path or spec.name
    if X.shape[1] == 0:
        raise UserError(f"{where}: no feature columns left; check dataset.drop")
    empty = [c for c in X.columns if X[c].isna().all()]
    if empty:
        raise UserError(f"{where}: column {empty[0]!r} is entirely missing; add it to dataset.drop")
    if y.nunique() < 2:
        raise UserError(f"{where}: the target {spec.target or 'target'!r} is constant; nothing to learn")
    if task == "regression" and not pd.api.types.is_numeric_dtype(y):
        raise UserError(
            f"{where}: dataset.task=regression but the target {spec.target!r} is not numeric; use dataset.task=auto"
        )


def split(data: Dataset, test_size: float, seed: int) -> tuple[Dataset, Dataset]:
    """Held-out test part, stratified for classification; the search never sees it."""
    stratify = data.y if data.task != "regression" else None
    try:
        X_tr, X_te, y_tr, y_te = train_test_split(
            data.X, data.y, test_size=test_size, random_state=seed, stratify=stratify
        )
    except ValueError as exc:
        raise UserError(f"dataset.test_size={test_size}: cannot split {data.name} ({exc})") from None
    part = lambda X, y: Dataset(data.name, X.reset_index(drop=True), y.reset_index(drop=True), data.task)  # noqa: E731
    return part(X_tr, y_tr), part(X_te, y_te)


def make_preprocessor(X: pd.DataFrame) -> ColumnTransformer:
    """Impute + scale numbers, impute + one-hot encode everything else."""
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    steps = []
    if numeric:
        steps.append(("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric))
    if categorical:
        encoder = OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=MAX_CLASSES, sparse_output=False)
        steps.append(("categorical", make_pipeline(SimpleImputer(strategy="most_frequent"), encoder), categorical))
    return ColumnTransformer(steps, sparse_threshold=0.0)


def standardization(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale a regression target is trained in (a few epochs then already fit it)."""
    return y.mean(axis=0), y.std(axis=0) + 1e-12


def check_folds(data: Dataset, cv: int) -> None:
    """Before the split: each class needs ``cv`` rows for the folds plus one for the test part."""
    if data.task == "regression":
        if len(data.y) < 2 * cv + 1:
            raise UserError(f"search.cv={cv}: only {len(data.y)} rows; lower search.cv or add rows")
        return
    counts = data.y.value_counts()
    if counts.min() < cv + 1:
        raise UserError(
            f"dataset: class '{counts.idxmin()}' has {counts.min()} rows; with search.cv={cv} folds and a test split "
            f"every class needs at least {cv + 1}; lower search.cv or add rows"
        )
