"""StagedSearchCV: the staged search from Python, on any scikit-learn estimator, the same core as the command line."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pipeline import Network, StagedSearchCV
from tests.conftest import spec_for

HGB = dict(max_iter=15, random_state=0)


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(return_X_y=True)


def test_two_stages_on_a_non_keras_estimator_match_gridsearchcv_stage_by_stage(cancer, tmp_path, monkeypatch):
    """Each stage scores exactly what GridSearchCV scores on the same stratified folds with the earlier winner
    frozen; nothing is written without memory=; the refitted winner predicts."""
    monkeypatch.chdir(tmp_path)
    X, y = cancer
    stages = [{"learning_rate": [0.03, 0.3]}, {"max_depth": [2, None]}]
    search = StagedSearchCV(HistGradientBoostingClassifier(**HGB), stages, cv=3, select="best").fit(X, y)

    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    first = GridSearchCV(HistGradientBoostingClassifier(**HGB), stages[0], cv=folds).fit(X, y)
    frozen = HistGradientBoostingClassifier(**HGB, **first.best_params_)
    second = GridSearchCV(frozen, stages[1], cv=folds).fit(X, y)
    assert search.best_params_ == {**first.best_params_, **second.best_params_}
    table = pd.DataFrame(search.cv_results_)
    assert list(table["stage"]) == ["learning_rate", "learning_rate", "max_depth", "max_depth"]
    np.testing.assert_allclose(table["mean_test_score"], [*first.cv_results_["mean_test_score"],
                                                          *second.cv_results_["mean_test_score"]])  # fmt: skip
    assert search.best_score_ == pytest.approx(second.best_score_)
    records = pd.DataFrame(search.stage_results_)
    assert list(records["stage"]) == ["learning_rate", "max_depth"] and list(records["fits"]) == [6, 6]
    assert records.loc[1, "winner"] == second.best_params_
    assert search.best_estimator_.get_params()["learning_rate"] == first.best_params_["learning_rate"]
    assert search.score(X, y) == pytest.approx(np.mean(search.predict(X) == y))
    assert list(search.classes_) == [0, 1] and search.n_features_in_ == X.shape[1]
    assert list(tmp_path.iterdir()) == []  # no store, no run folder: nothing written unless asked


def test_conditions_simpler_repeats_and_racing_work_as_on_the_command_line(cancer):
    X, y = cancer
    skipped = StagedSearchCV(HistGradientBoostingClassifier(**HGB), [{"learning_rate": [0.3]}, {"max_depth": [2, 3]}],
                             conditions={"max_depth": {"learning_rate": [0.05]}}, cv=2).fit(X, y)  # fmt: skip
    assert skipped.stage_results_[1]["fits"] == 0 and "max_depth" in skipped.stage_results_[1]["skipped"][0]

    simplest = StagedSearchCV(HistGradientBoostingClassifier(**HGB), [{"max_leaf_nodes": [31, 4, 8]}],
                              simpler={"max_leaf_nodes": "ascending"}, cv=2, repeats=2).fit(X, y)  # fmt: skip
    ranked = simplest.stage_results_[0]
    assert ranked["fits"] == 3 * 2 * 2  # candidates × folds × repeats
    assert all(t["max_leaf_nodes"] > ranked["winner"]["max_leaf_nodes"] for t in ranked["ties"])

    raced = StagedSearchCV(HistGradientBoostingClassifier(max_iter=27, random_state=0),
                           [{"learning_rate": [0.01, 0.03, 0.1, 0.3, 1.0, 2.0]}], cv=2, racing="halving",
                           resource="max_iter").fit(X, y)  # fmt: skip
    rungs = raced.stage_results_[0]["decision"]["rungs"]
    assert len(rungs) >= 2 and rungs[-1][1] == 27 and rungs[0][0] == 6


def test_the_stage_store_is_shared_by_later_searches(cancer, tmp_path):
    X, y = cancer
    make = lambda: StagedSearchCV(HistGradientBoostingClassifier(**HGB), [{"learning_rate": [0.1, 0.3]}], cv=2,  # noqa: E731
                                  memory=tmp_path / "stages")  # fmt: skip
    first, again = make().fit(X, y), make().fit(X, y)
    assert [r["reused"] for r in first.stage_results_] == [False]
    assert [r["reused"] for r in again.stage_results_] == [True]
    assert again.best_params_ == first.best_params_ and again.best_score_ == first.best_score_
    other = StagedSearchCV(HistGradientBoostingClassifier(**{**HGB, "max_iter": 16}), [{"learning_rate": [0.1, 0.3]}],
                           cv=2, memory=tmp_path / "stages").fit(X, y)  # fmt: skip
    assert other.stage_results_[0]["reused"] is False  # another estimator is another key


def test_report_writes_the_command_lines_run_folder(cancer, tmp_path):
    X, y = cancer
    search = StagedSearchCV(make_pipeline(StandardScaler(), LogisticRegression()),
                            [{"logisticregression__C": [0.1, 1.0]}, {"logisticregression__fit_intercept": [True, False]}],
                            cv=2).fit(X, y)  # fmt: skip
    folder = search.report(tmp_path / "report")
    assert {p.name for p in folder.iterdir()} >= {"report.md", "summary.csv", "best_params.json", "cv_results", "charts"}
    assert json.loads((folder / "best_params.json").read_text()) == search.best_params_
    assert "No held-out test" in (folder / "report.md").read_text()
    assert sorted(p.name for p in (folder / "cv_results").iterdir()) == ["01_logisticregression__C.csv", "02_logisticregression__fit_intercept.csv"]


class _NeverFit(ClassifierMixin, BaseEstimator):
    """Fails the test if any fit starts: bad input must be refused before."""

    def __init__(self, alpha=1.0, beta=1.0, step=None):
        self.alpha, self.beta, self.step = alpha, beta, step

    def fit(self, X, y):
        raise AssertionError("a fit started")


@pytest.mark.parametrize("stages, extra, says", [
    ([{"gamma": [1, 2]}], {}, "stages.gamma.grid.gamma: _NeverFit has no parameter 'gamma'"),
    ([{"alpha": [1, 2]}, {}], {}, "stages.stage2.grid={}: is empty; give at least one parameter"),
    ([{"alpha": [1, 2]}, {"beta": [1], "alpha": [3]}], {}, "alpha is already tuned by stage 'alpha'"),
    ([{"alpha": [1, 2]}], {"conditions": {"alpha": {"gamma": [1]}}},
     "stages.alpha.conditions.alpha.gamma: _NeverFit has no parameter 'gamma'"),
    ([{"alpha": []}], {}, "stages.alpha.grid.alpha=[]: a grid must be a non-empty list"),
    ([{"alpha": [1, 2]}], {"simpler": {"beta": "ascending"}}, "simpler.beta: no stage tunes beta"),
    ([{"alpha": [1, 2]}], {"engine": "fused"}, "engine='fused': trains the project's own network only"),
    ([{"alpha": [1, 2]}], {"cv": StratifiedKFold(2)}, "cv=StratifiedKFold"),
    ([{"alpha": [1, 2]}], {"select": "median"}, "select=median: choose one of"),
    ([{"alpha": 1.0}], {}, "stages[0]['alpha']=1.0: a grid is a list of values, e.g. [1.0]"),
    ([{"alpha": "abc"}], {}, "stages[0]['alpha']='abc': a grid is a list of values"),
    ({"first": {"alpha": [1]}, "second": {"beta": 2}}, {}, "stages['second']['beta']=2: a grid is a list"),
    ([{"alpha": [1, 2]}], {"n_jobs": 0}, "n_jobs=0: must be -1 (all cores) or a positive count"),
    ([{"alpha": [1, 2]}], {"n_jobs": 1.5}, "n_jobs=1.5: give a number of workers"),
    ([{"alpha": [1, 2]}], {"random_state": "seed"}, "random_state='seed': give an int"),
    ([{"alpha": [1, 2]}], {"memory": 3}, "memory=3: give a folder for the stage store"),
    ([{"alpha": [1, 2]}], {"racing": "halving", "resource": "rounds"}, "resource='rounds': _NeverFit has no such"),
])  # fmt: skip
def test_bad_settings_raise_one_value_error_before_any_fit(stages, extra, says):
    X, y = make_classification(60, 4, random_state=0)
    with pytest.raises(ValueError) as raised:
        StagedSearchCV(_NeverFit(), stages, **{"cv": 2, **extra}).fit(X, y)
    assert says in str(raised.value) and "\n" not in str(raised.value) and "search." not in str(raised.value)


def test_failed_fits_follow_error_score():
    X, y = make_classification(60, 4, random_state=0)
    stages = [{"C": [1.0, -1.0]}]  # C must be positive: that fit raises
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = StagedSearchCV(LogisticRegression(), stages, cv=2).fit(X, y)
    assert search.best_params_ == {"C": 1.0} and search.stage_results_[0]["failed_fits"] == 2
    with pytest.raises(Exception, match="C"):
        StagedSearchCV(LogisticRegression(), stages, cv=2, error_score="raise").fit(X, y)
    with pytest.raises(ValueError, match="stage C: all 2 fits failed"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        StagedSearchCV(LogisticRegression(), [{"C": [-1.0]}], cv=2).fit(X, y)


def test_scikit_learn_conventions():
    """scikit-learn's own estimator checks: clone, get/set params, nothing done in __init__, not-fitted errors,
    n_features_in_, input validation and its messages, pickling, fit idempotence."""
    from sklearn.utils.estimator_checks import check_estimator

    search = StagedSearchCV(LogisticRegression(), [{"C": [0.1, 1.0]}], cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(search, on_fail=None, expected_failed_checks={
            "check_dtype_object": "an X of Python objects is hashed for the stage store before the estimator sees it"})
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert failed == [] and sum(r["status"] == "passed" for r in results) >= 50


def test_a_pipeline_ending_in_a_scikeras_classifier_gets_stratified_folds():
    """The known trap: scikit-learn 1.9 does not see scikeras' classifiers as classifiers (integer cv would be
    unstratified); StagedSearchCV reads scikeras' own estimator type, through a Pipeline too."""
    from scikeras.wrappers import KerasClassifier, KerasRegressor

    from pipeline.frontends.arguments import task

    y = np.array([0, 1, 2] * 10)
    assert task(make_pipeline(StandardScaler(), KerasClassifier()), y) == "multiclass"
    assert task(KerasClassifier(), y[:4] % 2) == "binary"
    assert task(KerasRegressor(), y) == "regression"


def create_model(meta, neurons=16):
    """The column's network: (neurons, neurons, 8) ReLU layers and a sigmoid output, for Pima's 8 features."""
    import keras

    return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(neurons, activation="relu"),
                             keras.layers.Dense(neurons, activation="relu"), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(1, activation="sigmoid")])  # fmt: skip


def test_the_columns_own_code_shape(tmp_path, monkeypatch):
    """A scikeras KerasClassifier with the user's build function (neurons) and an optimizer, on Pima-shaped data:
    the column's grid as two stages, from a notebook cell, nothing written; early stopping's epochs are shown."""
    import keras
    from scikeras.wrappers import KerasClassifier

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 8)).astype("float32")
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.5, size=160) > 0).astype(int)
    model = KerasClassifier(model=create_model, loss="binary_crossentropy", epochs=3, batch_size=32, verbose=0,
                            random_state=0, callbacks=[keras.callbacks.EarlyStopping], callbacks__0__patience=0,
                            validation_split=0.2)  # fmt: skip
    search = StagedSearchCV(model, [{"optimizer": ["sgd", "adam"]}, {"model__neurons": [4, 8]}], cv=2).fit(X, y)
    assert set(search.best_params_) == {"optimizer", "model__neurons"}
    assert [r["fits"] for r in search.stage_results_] == [4, 4]
    epochs = np.asarray(search.cv_results_["split0_test_epochs_run"], dtype=float)
    assert np.all((epochs >= 1) & (epochs <= 3))
    assert 0.0 <= search.score(X, y) <= 1.0 and list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="the build function 'create_model' takes no argument 'width'"):
        StagedSearchCV(model, [{"model__width": [4, 8]}], cv=2).fit(X, y)


def test_the_command_line_and_staged_search_cv_give_identical_winners_and_scores(run_tiny):
    """Same settings, same seed, same training rows: the same winners and the same scores, stage by stage."""
    from pipeline import data
    from pipeline.config.schema import DatasetSpec

    cli, _ = run_tiny("order.stages=[optimizer,neurons]")
    spec = spec_for("order.stages=[optimizer,neurons]")
    train, _ = data.split(data.load_dataset(DatasetSpec()), spec.dataset.test_size, spec.search.seed)
    stages = {name: dict(spec.stages[name].grid) for name in spec.order.stages}
    simpler = {k: v for name in spec.order.stages for k, v in spec.stages[name].simpler.items()}
    api = StagedSearchCV(Network(epochs=2, early_stopping=False), stages, simpler=simpler, cv=2).fit(train.X, train.y)
    assert [r["winner"] for r in api.stage_results_] == [r.winner for r in cli.stages]
    assert [r["mean_score"] for r in api.stage_results_] == [r.mean_score for r in cli.stages]
    assert api.best_params_ == cli.best_params
    table = pd.DataFrame(api.cv_results_)
    mine = dict(zip(table["params"].map(lambda p: json.dumps(p, sort_keys=True)), table["mean_test_score"]))
    theirs = {p: s for r in cli.stages for p, s in zip(r.cv_results["params"], r.cv_results["mean_test_score"])}
    assert mine == theirs and len(mine) == 4


def test_the_search_strategies_order_auto_and_nuisance_by_argument(cancer):
    X, y = cancer
    stages = {"rate": {"learning_rate": [0.05, 0.3]}, "depth": {"max_depth": [2, 3]}, "leaves": {"max_leaf_nodes": [4, 31]}}
    auto = StagedSearchCV(HistGradientBoostingClassifier(**HGB), stages, cv=2, order="auto").fit(X, y)
    assert auto.stage_results_[0]["stage"] == "screen" and auto.importance_ is not None
    assert [r["stage"] for r in auto.stage_results_[1:]] == [s for s in auto.importance_.order]

    tpe = StagedSearchCV(HistGradientBoostingClassifier(**HGB), stages, cv=2, strategy="tpe", budget=3).fit(X, y)
    assert [r["stage"] for r in tpe.stage_results_] == ["tpe"] and tpe.stage_results_[0]["candidates"] == 3

    retuned = StagedSearchCV(HistGradientBoostingClassifier(**HGB), {"depth": stages["depth"]}, cv=2,
                             nuisance={"learning_rate": {"values": [0.05, 0.3]}}).fit(X, y)  # fmt: skip
    assert retuned.stage_results_[0]["decision"]["retuned"]["learning_rate"] in (0.05, 0.3)
    assert retuned.stage_results_[0]["fits"] == 2 * 2 * 2 and "learning_rate" in retuned.best_params_
