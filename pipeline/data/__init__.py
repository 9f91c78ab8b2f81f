"""Datasets: load built-in or user tables, infer the task, split off the test set.

Preprocessing is returned as an *unfitted* ColumnTransformer so that every CV fold
fits its own imputation, scaling and encoding on its own training part. scikit-learn is
imported when it is needed, so that bad data is refused without waiting for it.
"""
from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from pipeline.common.errors import UserError
from pipeline.common.records import Dataset
from pipeline.config.schema import DatasetSpec
from pipeline.data import tablecheck

BUILTIN = ("breast_cancer", "iris", "wine", "digits", "diabetes")
PREPROCESSING_VERSION = 1  # bump when make_preprocessor changes what a fold's network sees
MAX_CLASSES = 20  # an integer target with more distinct values than this is a regression target


DELIMITERS = ",;\t|"  # what a CSV file may be separated by (sniffed from its first lines)


def load_table(spec: DatasetSpec) -> pd.DataFrame:
    """Read the user's CSV or Parquet file; every failure becomes a one-line UserError."""
    if not spec.path:
        raise UserError("dataset.path is not set: add dataset.path=/path/to/data.csv")
    path = Path(spec.path).expanduser()
    where = f"dataset.path={spec.path}"
    if path.is_dir():
        raise UserError(f"{where}: is a folder; name a CSV or Parquet file")
    if path.exists() and not path.is_file():
        raise UserError(f"{where}: not a regular file (a pipe, socket or device); name a CSV or Parquet file")
    if not path.is_file():
        raise UserError(f"{where}: no such file; check the path")
    if path.stat().st_size == 0:
        raise UserError(f"{where}: the file is empty")
    if path.suffix.lower() in (".xlsx", ".xls", ".xlsm", ".ods"):
        raise UserError(f"{where}: a spreadsheet workbook; save the sheet as CSV (UTF-8) or Parquet and point at that")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            if spec.header and not _has_second_line(path):  # before pandas parses a header of a million names
                raise UserError(f"{where}: the file has no data rows (one line: the header); check the file")
            frame = _read_csv(path, spec)
    except UnicodeDecodeError as exc:
        utf16 = exc.object[:2] in (b"\xff\xfe", b"\xfe\xff")
        hint = "dataset.encoding=utf-16 (the file starts with UTF-16's byte-order mark)" if utf16 else \
            "e.g. dataset.encoding=latin-1 or cp1252"  # fmt: skip
        raise UserError(f"{where}: not {spec.encoding} text (byte {exc.object[exc.start:exc.start + 1]!r} at position "
                        f"{exc.start}); set dataset.encoding to the file's encoding, {hint}") from None  # fmt: skip
    except LookupError:
        raise UserError(f"dataset.encoding={spec.encoding}: unknown encoding; e.g. utf-8, latin-1, cp1252") from None
    except UserError:
        raise
    except Exception as exc:  # pandas raises many types for unreadable files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{where}: cannot read it as CSV or Parquet ({first})") from None
    # Rows are counted from the file's first data row, as a CSV's are: a Parquet file's index (strings, say) is
    # metadata, except a named one, which becomes a column as ``to_csv`` would have written it.
    frame = frame.reset_index(drop=all(name is None for name in frame.index.names))
    frame.columns = [str(c) for c in frame.columns]
    if frame.empty or frame.shape[1] < 2:
        raise UserError(f"{where}: the file has no data rows or fewer than two columns "
                        f"(found {frame.shape[1]} column{'s' if frame.shape[1] != 1 else ''}, {len(frame)} rows)")  # fmt: skip
    if spec.header and all(_looks_numeric(c) for c in frame.columns):
        raise UserError(f"{where}: the first row looks like data, not column names "
                        f"({', '.join(frame.columns[:4])}, …); set dataset.header=false and name the target by "
                        f"position, e.g. dataset.target={len(frame.columns) - 1} (columns count from 0)")  # fmt: skip
    return frame


def _read_csv(path: Path, spec: DatasetSpec) -> pd.DataFrame:
    """A CSV separated by a comma, semicolon, tab or bar, compressed or not (as pandas infers from the suffix:
    .gz, .bz2, .xz, .zip); utf-8-sig drops Excel's byte-order mark."""
    import csv
    import io

    utf8 = spec.encoding.lower().replace("_", "-") in ("utf-8", "utf8")
    encoding = "utf-8-sig" if utf8 else spec.encoding
    with _open_binary(path) as raw, io.TextIOWrapper(raw, encoding=encoding, newline="") as f:
        sample = f.read(64 * 1024)  # the decompressed text: the encoding check applies to what pandas will read
    try:
        sep = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:  # one column, or nothing to tell them apart: the usual comma
        sep = ","
    return pd.read_csv(path, sep=sep, encoding=encoding, header=0 if spec.header else None)


def _has_second_line(path: Path) -> bool:
    """Whether anything but blank space follows the file's first line, read a megabyte at a time."""
    with _open_binary(path) as raw:
        first_ended = False
        while chunk := raw.read(1 << 20):
            if not first_ended:
                cut = chunk.find(b"\n")
                if cut < 0:
                    continue
                first_ended, chunk = True, chunk[cut + 1 :]
            if chunk.strip():
                return True
    return False


def _open_binary(path: Path) -> IO[bytes] | Any:
    """The file's bytes, decompressed where its suffix says it is compressed (pandas' suffixes but .zst, which needs a package of its own)."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        import gzip

        return gzip.open(path)
    if suffix == ".bz2":
        import bz2

        return bz2.open(path)
    if suffix == ".xz":
        import lzma

        return lzma.open(path)
    if suffix == ".zip":
        import zipfile

        archive = zipfile.ZipFile(path)
        names = archive.namelist()
        if len(names) != 1:
            raise ValueError(f"a zip archive must hold exactly one file, it holds {len(names)}")
        return archive.open(names[0])
    return open(path, "rb")


def _looks_numeric(name: str) -> bool:
    try:
        float(name.split(".")[0] if name.count(".") > 1 else name)  # pandas renames repeats "6" -> "6.1"
        return True
    except ValueError:
        return False


def _builtin(name: str) -> tuple[pd.DataFrame, pd.Series]:
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")(as_frame=True)
    return bunch.data, bunch.target


def load_dataset(spec: DatasetSpec) -> Dataset:
    """Load, drop unwanted columns, check the table once and settle the task.

    The dataset's ``notes`` say what was decided on the way (rows dropped, columns converted,
    the task inferred and why), for the terminal and the report.
    """
    if spec.name == "file":
        frame = load_table(spec)
        columns = ", ".join(map(str, frame.columns))
        if not spec.target:
            raise UserError(f"dataset.target is not set: add dataset.target=<column>; columns: {columns}")
        if spec.target not in frame.columns:
            raise UserError(f"dataset.target={spec.target}: no such column in {spec.path}; columns: {columns}")
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
    X, y, notes = tablecheck.checked(X, y, where=spec.path or spec.name, target=spec.target or "target")
    if spec.task == "auto":
        task, why = infer_task(y)
        if spec.name == "file":
            notes.append(f"dataset: task {task}, inferred: {why}")
    else:
        task = spec.task
    tablecheck.check_target(y, task, where=spec.path or spec.name, target=spec.target or "target")
    return Dataset(spec.name, X.reset_index(drop=True), y.reset_index(drop=True).rename("target"), task, tuple(notes))


def infer_task(y: pd.Series) -> tuple[str, str]:
    """binary / multiclass for labels, regression for a continuous or wide-ranging number; and why."""
    values = y.dropna()
    distinct = values.nunique()
    labels = "binary" if distinct <= 2 else "multiclass"
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return labels, f"the target holds {distinct} distinct labels"
    with np.errstate(invalid="ignore"):  # inf has no fractional part to speak of: the check below refuses it
        whole = np.all(np.mod(values.to_numpy(dtype=float), 1) == 0)
    if not whole:
        return "regression", "the target holds fractional numbers"
    if distinct <= MAX_CLASSES:
        return labels, f"the target holds {distinct} distinct integers (at most {MAX_CLASSES} count as classes)"
    return "regression", (f"the target holds {distinct} distinct integers, more than {MAX_CLASSES} classes; "
                          "set dataset.task=multiclass to classify them")  # fmt: skip


def from_arrays(X: Any, y: Any, task: str = "", name: str = "data") -> Dataset:
    """``X`` and ``y`` as given to ``fit`` (arrays, DataFrames, lists) as a ``Dataset``: a DataFrame (columns 0, 1, …
    when unnamed) and a Series."""
    target = y.reset_index(drop=True) if isinstance(y, pd.Series) else pd.Series(np.asarray(y))
    return Dataset(name, frame(X), target.rename("target"), task)


def frame(X: Any) -> pd.DataFrame:
    return X.reset_index(drop=True) if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))


def split(data: Dataset, test_size: float, seed: int) -> tuple[Dataset, Dataset]:
    """Held-out test part, stratified for classification; the search never sees it."""
    from sklearn.model_selection import train_test_split

    stratify = data.y if data.task != "regression" else None
    if stratify is not None and data.y.value_counts().min() < 2:
        counts = data.y.value_counts()
        numbers = pd.api.types.is_numeric_dtype(data.y) and not pd.api.types.is_bool_dtype(data.y)
        hint = "; if the target is a quantity to predict, not a label, set dataset.task=regression" if numbers else ""
        raise UserError(f"dataset: class '{counts.idxmin()}' has {counts.min()} row; a stratified test split needs at "
                        f"least 2 rows of every class (and search.cv more for the folds); add rows or drop the class"
                        f"{hint}")  # fmt: skip
    try:
        X_tr, X_te, y_tr, y_te = train_test_split(
            data.X, data.y, test_size=test_size, random_state=seed, stratify=stratify
        )
    except ValueError as exc:
        classes = data.y.nunique()
        if stratify is not None and "should be greater or equal to the number of classes" in str(exc):
            raise UserError(f"dataset.test_size={test_size}: holds out fewer rows than the target has classes "
                            f"({classes}); a stratified split needs one row of each; raise dataset.test_size, or "
                            "check dataset.task") from None  # fmt: skip
        raise UserError(f"dataset.test_size={test_size}: cannot split the data ({exc})") from None
    def part(X: pd.DataFrame, y: pd.Series) -> Dataset:
        return Dataset(data.name, X.reset_index(drop=True), y.reset_index(drop=True), data.task)

    return part(X_tr, y_tr), part(X_te, y_te)


def make_preprocessor(X: pd.DataFrame) -> Any:
    """Impute + scale numbers, impute + one-hot encode everything else (an unfitted ColumnTransformer)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    # Columns by position, read from the dtypes once: a table of 100,000 columns is not looked up name by name.
    kinds = [pd.api.types.is_numeric_dtype(k) and not pd.api.types.is_bool_dtype(k) for k in X.dtypes]
    numeric, categorical = np.flatnonzero(kinds), np.flatnonzero(~np.asarray(kinds, dtype=bool))
    steps = []
    if len(numeric):
        steps.append(("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric))
    if len(categorical):
        encoder = OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=MAX_CLASSES, sparse_output=False)
        steps.append(("categorical", make_pipeline(SimpleImputer(strategy="most_frequent"), encoder), categorical))
    return ColumnTransformer(steps, sparse_threshold=0.0)


def standardization(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale a regression target is trained in (a few epochs then already fit it)."""
    return y.mean(axis=0), y.std(axis=0) + 1e-12


def check_folds(train: Dataset, cv: int, test_size: float | None = None) -> None:
    """After the test split (if any): the folds need ``cv`` rows of every class (two rows per fold for regression)."""
    held_out = f"after dataset.test_size={test_size} was held out" if test_size is not None else "in the data given"
    if train.task == "regression":
        if len(train.y) < 2 * cv:
            raise UserError(f"search.cv={cv}: {len(train.y)} rows are left for the search {held_out}; "
                            f"{cv} folds need at least {2 * cv}; lower search.cv or add rows")  # fmt: skip
        return
    counts = train.y.value_counts()
    if counts.min() < cv:
        rows = f"{counts.min()} row{'s' if counts.min() != 1 else ''}"
        raise UserError(f"search.cv={cv}: class '{counts.idxmin()}' has {rows} left for the search "
                        f"{held_out}; {cv} stratified folds need at least {cv} of every class; lower search.cv "
                        "or add rows")  # fmt: skip
