"""Datasets: built-ins, user files, task inference, checks, and fold-local preprocessing."""
import numpy as np
import pandas as pd
import pytest

from pipeline.common.errors import UserError
from pipeline.config.schema import DatasetSpec
from pipeline.data import check_folds, infer_task, load_dataset, make_preprocessor, split


@pytest.mark.parametrize(
    "name, task", [("breast_cancer", "binary"), ("iris", "multiclass"), ("wine", "multiclass"),
                   ("digits", "multiclass"), ("diabetes", "regression")],
)  # fmt: skip
def test_builtin_datasets_and_their_tasks(name, task):
    data = load_dataset(DatasetSpec(name))
    assert data.task == task and len(data.X) == len(data.y) > 100


@pytest.mark.parametrize(
    "values, task",
    [
        (["yes", "no", "yes"], "binary"),
        ([0, 1, 1, 0], "binary"),
        (["a", "b", "c", "a"], "multiclass"),
        ([1, 2, 3, 2, 1], "multiclass"),
        ([0.5, 1.25, 3.0, 2.2], "regression"),
        (list(range(100)), "regression"),  # integer-valued but far too many distinct values for classes
    ],
)
def test_task_inference(values, task):
    assert infer_task(pd.Series(values))[0] == task


def test_task_can_be_overridden(customers_csv):
    data = load_dataset(DatasetSpec("file", str(customers_csv), "age", task="regression"))
    assert data.task == "regression"


def test_csv_with_ids_categories_and_missing_values(customers_csv):
    data = load_dataset(DatasetSpec("file", str(customers_csv), "churned", drop=("customer_id",)))
    assert data.task == "binary" and "customer_id" not in data.X
    train, _ = split(data, 0.25, 0)
    features = make_preprocessor(train.X).fit_transform(train.X)
    assert np.isfinite(features).all()  # imputed
    assert features.shape[1] > train.X.shape[1]  # one-hot columns for plan and region


def test_parquet_reads_like_csv(customers_csv, tmp_path):
    parquet = tmp_path / "customers.parquet"
    pd.read_csv(customers_csv).to_parquet(parquet)
    a = load_dataset(DatasetSpec("file", str(customers_csv), "churned"))
    b = load_dataset(DatasetSpec("file", str(parquet), "churned"))
    assert a.X.shape == b.X.shape and a.task == b.task


def test_test_split_is_stratified_and_held_out():
    data = load_dataset(DatasetSpec("breast_cancer"))
    train, test = split(data, 0.2, 0)
    assert len(train.y) + len(test.y) == len(data.y)
    assert abs(train.y.mean() - test.y.mean()) < 0.02


def test_fingerprint_follows_content_not_path(customers_csv, tmp_path):
    copy = tmp_path / "elsewhere.csv"
    copy.write_text(customers_csv.read_text())
    a = load_dataset(DatasetSpec("file", str(customers_csv), "churned"))
    b = load_dataset(DatasetSpec("file", str(copy), "churned"))
    assert a.fingerprint == b.fingerprint
    changed = pd.read_csv(customers_csv)
    changed.loc[0, "spend"] += 1
    changed.to_csv(copy, index=False)
    assert load_dataset(DatasetSpec("file", str(copy), "churned")).fingerprint != a.fingerprint


def test_missing_target_column_lists_the_columns(customers_csv):
    with pytest.raises(UserError, match=r"dataset.target=churn: no such column .*columns: customer_id, plan"):
        load_dataset(DatasetSpec("file", str(customers_csv), "churn"))


def test_too_few_rows_per_class_for_the_folds():
    data = load_dataset(DatasetSpec("iris"))
    rows = [0, 1, 50, 51, 100, 101]
    small = type(data)(data.name, data.X.iloc[rows], data.y.iloc[rows], data.task)
    check_folds(small, 2, 0.2)  # the training part: two rows of every class
    with pytest.raises(UserError, match="class '2' has 1 row left for the search after dataset.test_size=0.2"):
        check_folds(small.__class__(data.name, small.X.iloc[:-1], small.y.iloc[:-1], data.task), 2, 0.2)


def test_file_dataset_needs_a_path_and_a_target(customers_csv):
    with pytest.raises(UserError, match=r"^dataset.path is not set: add dataset.path="):
        load_dataset(DatasetSpec("file"))
    with pytest.raises(UserError, match=r"^dataset.target is not set: .*columns: customer_id"):
        load_dataset(DatasetSpec("file", str(customers_csv)))


# --- compressed CSVs and Parquet indexes ----------------------------------------------------------


def _frame(n=40):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=n), "note": ["café"] * n, "y": rng.integers(0, 2, n)})


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip"])
def test_a_compressed_csv_reads_as_pandas_reads_it(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    _frame().to_csv(path, index=False, sep=";")  # pandas compresses by the suffix; the separator is sniffed
    data = load_dataset(DatasetSpec("file", path=str(path), target="y"))
    assert list(data.X.columns) == ["a", "note"] and len(data.X) == 40


def test_a_compressed_csv_in_another_encoding_names_the_encoding(tmp_path):
    path = tmp_path / "data.csv.gz"
    _frame().to_csv(path, index=False, encoding="latin-1")
    with pytest.raises(UserError, match=r"not utf-8 text \(byte b'\\xe9'.*dataset.encoding=latin-1"):
        load_dataset(DatasetSpec("file", path=str(path), target="y"))
    assert load_dataset(DatasetSpec("file", path=str(path), target="y", encoding="latin-1")).X["note"][0] == "café"


def test_a_parquet_file_with_a_string_index_counts_data_rows(tmp_path):
    frame = _frame().drop(columns="note")
    frame.index = [f"r{i}" for i in range(len(frame))]
    frame.loc["r5", "a"] = np.inf
    frame.to_parquet(tmp_path / "data.parquet")
    with pytest.raises(UserError, match=r"column 'a' has infinite or too large values \(data row 6: inf"):
        load_dataset(DatasetSpec("file", path=str(tmp_path / "data.parquet"), target="y"))
    named = _frame().drop(columns="note").rename_axis("patient")
    named.index = named.index.astype(str)
    named.to_parquet(tmp_path / "named.parquet")
    assert "patient" in load_dataset(DatasetSpec("file", path=str(tmp_path / "named.parquet"), target="y")).X
