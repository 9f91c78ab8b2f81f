"""What careless and hostile users tried, in-process where it can be: each case a test that failed before its fix.

The same families through a fresh process as users write them are in ``tests/user_paths/``.
"""
from __future__ import annotations

import json
import os
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from pipeline import StagedSearchCV
from pipeline.common.errors import UserError
from tests.conftest import spec_for

X, Y = make_classification(80, 4, random_state=0)


# --- the values users put in grids, and the stage store's keys -----------------------------------


def test_numpy_values_key_as_the_python_values_they_hold():
    from pipeline.store.keys import stage_key

    assert stage_key({"grid": {"n": [np.int64(3), np.float32(0.5)]}}) == stage_key({"grid": {"n": [3, 0.5]}})
    assert stage_key({"a": np.arange(2000)}) != stage_key({"a": np.arange(2000) * (np.arange(2000) != 1500)})


def test_estimators_and_functions_are_keyed_by_what_decides_them():
    from pipeline.common.values import Tokens, describe

    assert describe(LogisticRegression(C=1.0)) != describe(LogisticRegression(C=2.0))
    assert describe(LogisticRegression(C=1.0)) == describe(LogisticRegression(C=1.0))

    def build(units=4):
        return units

    first = describe(build)
    assert first["callable"].endswith("build") and len(first["source"]) == 16
    tokens = Tokens()
    scaler = StandardScaler()
    token = tokens.encode(scaler)
    assert isinstance(token, str) and token.startswith("StandardScaler()") and tokens.decode({"s": token})["s"] is scaler
    assert tokens.encode(np.int64(4)) == 4 and tokens.decode({"t": tokens.encode((1, 2))})["t"] == (1, 2)


def test_estimators_as_grid_values_come_back_as_the_users_objects():
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    minmax = MinMaxScaler()
    search = StagedSearchCV(pipe, [{"scale": [StandardScaler(), minmax]}, {"clf__C": np.logspace(-1, 1, 3)}], cv=2,
                            verbose=0).fit(X, Y)  # fmt: skip
    assert isinstance(search.best_params_["scale"], StandardScaler | MinMaxScaler)
    assert any(p["scale"] is minmax for p in search.cv_results_["params"] if "scale" in p)
    assert type(search.best_params_["clf__C"]) is float
    assert search.best_estimator_.named_steps["scale"].__class__ is search.best_params_["scale"].__class__


def test_no_key_is_computed_when_nothing_is_stored(monkeypatch):
    import pipeline.store.keys as keys

    def refuse(description):
        raise AssertionError("a key was computed with memory=None")

    monkeypatch.setattr(keys, "stage_key", refuse)
    monkeypatch.setattr("pipeline.store.stages.stage_key", refuse)
    monkeypatch.setattr("pipeline.search.reuse.stage_key", refuse)
    StagedSearchCV(LogisticRegression(), [{"C": [0.1, 1.0]}], cv=2, verbose=0).fit(X, Y)


# --- StagedSearchCV and scikit-learn's conventions ------------------------------------------------


def test_a_second_fit_without_refit_leaves_no_model_of_the_first_to_predict_with():
    search = StagedSearchCV(LogisticRegression(), [{"C": [0.1, 1.0]}], cv=2, verbose=0).fit(X, Y)
    search.set_params(refit=False).fit(X, Y)
    with pytest.raises((AttributeError, NotFittedError)):
        search.predict(X)


def test_feature_names_go_with_a_later_fit_on_an_array():
    frame = pd.DataFrame(X, columns=list("abcd"))
    search = StagedSearchCV(LogisticRegression(), [{"C": [1.0]}], cv=2, verbose=0).fit(frame, Y)
    assert list(search.feature_names_in_) == list("abcd")
    assert not hasattr(search.fit(X, Y), "feature_names_in_")


@pytest.mark.parametrize("random_state", [None, np.random.RandomState(3), 7])
def test_random_state_takes_what_scikit_learn_takes(random_state):
    search = StagedSearchCV(LogisticRegression(), [{"C": [0.1, 1.0]}], cv=2, random_state=random_state, verbose=0)
    assert search.fit(X, Y).best_params_["C"] in (0.1, 1.0)


def test_sample_weight_reaches_every_fit_and_the_scores_as_in_gridsearchcv():
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    weights = np.where(Y == 1, 4.0, 1.0)
    ours = StagedSearchCV(LogisticRegression(), [{"C": [0.01, 1.0]}], cv=2, select="best", verbose=0)
    ours.fit(X, Y, sample_weight=weights)
    theirs = GridSearchCV(LogisticRegression(), {"C": [0.01, 1.0]}, cv=StratifiedKFold(2, shuffle=True, random_state=0))
    theirs.fit(X, Y, sample_weight=weights)
    assert np.allclose(ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"])


def test_memory_takes_a_joblib_memory_s_location(tmp_path):
    from joblib import Memory

    StagedSearchCV(LogisticRegression(), [{"C": [1.0]}], cv=2, memory=Memory(tmp_path / "cache", verbose=0),
                   verbose=0).fit(X, Y)  # fmt: skip
    assert (tmp_path / "cache" / ".stage-store").is_file() and os.listdir(tmp_path) == ["cache"]


def test_report_into_a_folder_it_cannot_write_names_that_folder(tmp_path):
    search = StagedSearchCV(LogisticRegression(), [{"C": [1.0]}], cv=2, verbose=0).fit(X, Y)
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError) as raised:
        search.report(tmp_path / "file" / "report")  # a folder under a file: no one can write there
    assert str(tmp_path / "file" / "report") in str(raised.value) and "hydra" not in str(raised.value)


def test_a_network_can_be_told_a_whole_number_target_is_a_regression():
    from pipeline import Network
    from pipeline.frontends.arguments import task

    y = np.arange(80) % 7
    assert task(Network(task="regression"), y) == "regression"
    assert task(Network(), y) == "multiclass"
    with pytest.raises(ValueError, match="Network\\(task='count'\\): choose one of"):
        StagedSearchCV(Network(task="count"), [{"model__neurons": [4]}], verbose=0).fit(X, y)


def test_stage_lines_by_default_and_nothing_with_verbose_0(capsys):
    StagedSearchCV(LogisticRegression(), [{"C": [0.1, 1.0]}, {"fit_intercept": [True, False]}], cv=2).fit(X, Y)
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split(":")[0] for ln in lines] == ["stage 1/2 C", "stage 2/2 fit_intercept"]
    StagedSearchCV(LogisticRegression(), [{"C": [0.1, 1.0]}], cv=2, verbose=0).fit(X, Y)
    assert capsys.readouterr().out == ""


# --- failures inside a stage -------------------------------------------------------------------


class _FailsOnMarkedRows(ClassifierMixin, BaseEstimator):
    """Fails to fit whenever its training part holds the marked row (X[0, 0] == 999): one fold of every candidate."""

    def __init__(self, c=1.0):
        self.c = c

    def fit(self, X, y):
        if (np.asarray(X)[:, 0] == 999).any():
            raise ValueError("the marked row")
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_every_candidate_failing_on_some_folds_is_one_line_not_a_crash():
    marked = X.copy()
    marked[0, 0] = 999
    with pytest.raises(ValueError) as raised, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        StagedSearchCV(_FailsOnMarkedRows(), [{"c": [1.0, 2.0]}], cv=2, verbose=0).fit(marked, Y)
    message = str(raised.value)
    assert message.startswith("stage c: all 2 candidates, each on at least one of its 2 splits") and "KeyError" not in message


def test_a_one_class_target_is_refused_before_any_fit():
    with pytest.raises(ValueError, match="y holds one class \\(1\\) only"):
        StagedSearchCV(LogisticRegression(), [{"C": [1.0]}], cv=2, verbose=0).fit(X, np.ones(len(X), int))


def test_the_fused_programs_epoch_counters_are_guarded_by_validation():
    with pytest.raises(UserError, match="model.epochs=3000000: must be from 1 to 1,000,000"):
        spec_for("model.epochs=3000000")


# --- bad values a config accepted ----------------------------------------------------------------


@pytest.mark.parametrize("override, says", [
    ("search.halving.factor=inf", "search.halving.factor=inf"),
    ("stages.lr_momentum.grid.optimizer__learning_rate=[inf]", "bad value inf; learning_rate must be a number > 0"),
    ("stages.lr_momentum.grid.optimizer__learning_rate=[nan]", "bad value nan"),
    ("order.auto.stages=[]", "order.auto.stages=[]: must name at least one stage"),
])  # fmt: skip
def test_values_that_are_no_number_or_name_nothing_are_refused(override, says):
    extra = ["order=auto"] if override.startswith("order.auto") else []
    with pytest.raises(UserError, match=None) as raised:
        spec_for(*extra, override)
    assert says in str(raised.value)


def test_a_regression_scorer_for_a_classification_is_refused():
    from pipeline.config.schema import SearchSpec
    from pipeline.config.scoring import scoring_for

    with pytest.raises(UserError, match="search.scoring=r2: a regression scorer, and this is a binary task"):
        scoring_for(SearchSpec(scoring="r2"), "binary", pd.Series([0, 1] * 10))
    assert scoring_for(SearchSpec(scoring="r2"), "regression", pd.Series(np.arange(20.0))) == "r2"


def test_a_fifo_as_the_data_file_is_named_for_what_it_is(tmp_path):
    from pipeline.config.schema import DatasetSpec
    from pipeline.data import load_table

    os.mkfifo(tmp_path / "pipe.csv")
    with pytest.raises(UserError, match="not a regular file"):
        load_table(DatasetSpec(name="file", path=str(tmp_path / "pipe.csv"), target="y"))


def test_a_header_without_data_rows_is_refused_before_it_is_parsed(tmp_path):
    from pipeline.config.schema import DatasetSpec
    from pipeline.data import load_table

    (tmp_path / "one.csv").write_text(",".join(f"c{i}" for i in range(50_000)) + "\n\n")
    with pytest.raises(UserError, match="the file has no data rows \\(one line: the header\\)"):
        load_table(DatasetSpec(name="file", path=str(tmp_path / "one.csv"), target="c1"))


def test_a_wide_table_is_checked_column_by_column_all_at_once():
    from pipeline.data import tablecheck

    wide = pd.DataFrame(np.random.default_rng(0).normal(size=(20, 3000)), columns=[f"c{i}" for i in range(3000)])
    y = pd.Series([0, 1] * 10)
    assert tablecheck.checked(wide, y, "data.csv", "y")[0].shape == (20, 3000)
    with pytest.raises(UserError, match="column 'c2500' is a copy of the target"):
        tablecheck.checked(wide.assign(c2500=y.astype(float)), y, "data.csv", "y")
    with pytest.raises(UserError, match="column 'c2999' has infinite"):
        tablecheck.checked(wide.assign(c2999=np.r_[np.inf, np.zeros(19)]), y, "data.csv", "y")


# --- messages that overstated or hid ------------------------------------------------------------


def test_importance_over_overlapping_intervals_claims_no_share():
    from pipeline.common.records import Importance, StageImportance
    from pipeline.reports.words import importance_sentence

    wide = Importance((StageImportance("activation", 1.0, 0.0, 1.0), StageImportance("init", 0.0, 0.0, 0.6)),
                      ("activation", "init"), (), 16, 0.05, "important_first")  # fmt: skip
    said = importance_sentence(wide)
    assert "cannot tell the stages apart" in said and "explains 100%" not in said


def test_a_stage_another_process_is_computing_is_said_before_waiting(tmp_path):
    from pipeline.store import Store
    from pipeline.store.keys import stage_key
    from tests.test_store import a_result

    said: list[str] = []
    store = Store(tmp_path, report=said.append)
    description = {"stage": {"name": "neurons"}, "x": 1}
    key = stage_key(description)

    def hold_briefly():
        with store.locks.hold(key):
            time.sleep(1.0)

    holder = threading.Thread(target=hold_briefly)
    holder.start()
    time.sleep(0.2)
    store.stages.fetch_or_compute(description, a_result)
    holder.join()
    assert said and said[0].startswith("stage neurons: another process is computing it now")


def test_a_screening_s_long_labels_widen_the_chart_instead_of_squeezing_it(tmp_path):
    from PIL import Image

    from pipeline.common.records import StageResult
    from pipeline.reports.plots import stage_chart

    params = [json.dumps({f"model__p{j}": f"value-{i}-{j}" for j in range(7)}) for i in range(16)]
    table = pd.DataFrame({"params": params, "mean_test_score": np.linspace(0.6, 0.9, 16), "std_test_score": 0.02,
                          "split0_test_score": 0.8, "split1_test_score": 0.8})  # fmt: skip
    result = StageResult("screen", ("model__p0",), {}, json.loads(params[-1]), 0.9, 0.02, 16, 32, 0, 1.0, (),
                         cv_results=table)  # fmt: skip
    stage_chart(result, tmp_path / "screen.png", "accuracy")
    width, height = Image.open(tmp_path / "screen.png").size
    assert width > 900 and height > 16 * 40  # 8 inches at 110 dpi (880) squeezed the plot behind 120-character labels


def test_the_store_cli_refuses_negative_ages_and_counts_in_one_line(tmp_path, capsys):
    from pipeline.store import Store, cli

    Store(tmp_path / "stages")
    for option in (["--keep-last", "-1"], ["--older-than", "-2"], ["--older-than", "inf"], ["--keep-last", "x"]):
        assert cli.main(["--dir", str(tmp_path / "stages"), "prune", *option]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {option[0]} {option[1]}:") and err.count("\n") == 1


def test_an_entry_dated_without_a_time_zone_is_damaged_not_a_crash(tmp_path):
    from pipeline.store import Store
    from pipeline.store.entries import malformed

    assert "without a time zone" in malformed({}, {"created": "2026-01-01T10:00:00"})
    assert Store(tmp_path).prune(older_than=1.0).entries == []


def test_prune_removes_a_linked_entry_s_link_and_never_its_target(tmp_path):
    from pipeline.store import Store
    from pipeline.store.keys import stage_key
    from tests.test_store import a_result

    store = Store(tmp_path / "stages")
    description = {"stage": {"name": "s"}, "x": 1}
    store.stages.fetch_or_compute(description, a_result)
    key = stage_key(description)
    (tmp_path / "stages" / key).rename(tmp_path / "elsewhere")
    (tmp_path / "stages" / key).symlink_to(tmp_path / "elsewhere")
    pruned = store.prune(keep_last=0)
    assert [k for k, _ in pruned.entries] == [key]
    assert not (tmp_path / "stages" / key).exists() and not (tmp_path / "stages" / key).is_symlink()
    assert (tmp_path / "elsewhere" / "result.json").is_file()


def test_store_list_flags_damaged_candidates(tmp_path, capsys):
    from pipeline.store import Store, cli

    store = Store(tmp_path / "stages")
    store.candidates.put("a" * 64, {"d": 1}, {"r": 1})
    path = store.candidates.kept()[0]
    path.write_text(path.read_text().replace('"r": 1', '"r": 2'))
    assert cli.main(["--dir", str(tmp_path / "stages"), "list"]) == 0
    assert "1 damaged candidate" in capsys.readouterr().out


@pytest.mark.workers
def test_the_gridsearchcv_engine_keeps_library_deprecations_out_of_the_log(tmp_path):
    from tests.conftest import TINY, run_cli

    proc = run_cli(*TINY, "search.engine=gridsearchcv", "search.n_jobs=2", "dataset=iris", "order.stages=[neurons]",
                   f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    log = (tmp_path / "run" / "pipeline.log").read_text()
    assert "DeprecationWarning" not in log and log.count("\n") < 50, log[-2000:]


def test_a_ctrl_c_a_library_swallowed_is_raised_again_at_the_runner_s_next_step():
    import signal

    from pipeline.common import exits

    saved = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        exits.signals_remembered()
        try:  # a library (native code calling back into Python, a __del__) catches the KeyboardInterrupt and drops it
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        except KeyboardInterrupt:
            pass
        with pytest.raises(KeyboardInterrupt):
            exits.raise_if_swallowed()
        exits.raise_if_swallowed()  # once: the run ends with it
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        except KeyboardInterrupt:
            pass
        with pytest.raises(exits.Terminated):
            exits.raise_if_swallowed()
    finally:
        signal.signal(signal.SIGINT, saved[0])
        signal.signal(signal.SIGTERM, saved[1])


def test_a_fused_stage_says_it_is_compiling_then_how_far_its_epochs_are(run_tiny):
    _, display = run_tiny("dataset=iris", "order.stages=[neurons]", "model.epochs=6")
    assert any(s.startswith("4 models: compiling the training program") for s in display.statuses), display.statuses
    assert any(s.startswith("4 models: epoch 1/6") for s in display.statuses), display.statuses
