"""Racing inside a stage: scikit-learn's successive-halving schedule over epochs, on both engines."""
import json

import numpy as np
import pandas as pd
import pytest

from pipeline.reports.words import describe
from pipeline.search.strategies.racing import Halving, rungs, survivors

# Nine candidates (learning rate x momentum, SGD), 9 epochs: raced 9 -> 3 -> 1 at 1, 3, 9 epochs.
NINE = ("dataset=iris", "order.stages=[lr_momentum]", "model.params.optimizer=sgd", "model.epochs=9",
        "stages.lr_momentum.grid.optimizer__learning_rate=[0.01,0.05,0.2]",
        "stages.lr_momentum.grid.optimizer__momentum=[0.0,0.5,0.9]")  # fmt: skip


@pytest.mark.parametrize("n, factor, least, most", [
    (9, 3, None, 9), (25, 3, None, 100), (25, 3, 5, 100), (4, 2, None, 50), (7, 3, None, 50), (2, 3, None, 50),
    (30, 4, 2, 20), (5, 3, 1, 2), (81, 3, None, 10), (6, 2.5, None, 40),
])  # fmt: skip
def test_the_schedule_is_scikit_learns(n, factor, least, most):
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import HalvingGridSearchCV

    X, y = np.random.default_rng(0).normal(size=(40, 2)), np.arange(40) % 2
    search = HalvingGridSearchCV(SGDClassifier(), {"alpha": list(np.logspace(-5, 0, n))}, resource="max_iter",
                                 max_resources=most, min_resources=least or "exhaust", factor=factor, cv=2, refit=False)  # fmt: skip
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    assert rungs(n, Halving(factor, least, most)) == list(zip(search.n_resources_, search.n_candidates_))


def test_survivors_are_the_best_with_failed_ones_last():
    assert survivors([0.5, np.nan, 0.9, 0.7], 2) == [2, 3]
    assert survivors([np.nan, np.nan, 0.1], 2) == [1, 2]  # as scikit-learn: NaNs first, the last k taken


def test_a_raced_stage_has_rungs_and_its_winner_ran_the_whole_race(run_tiny, tmp_path):
    """The race is the strategy's, the same on both engines (the GridSearchCV engine's rungs are scikit-learn's own:
    ``test_a_gridsearchcv_race_is_halvinggridsearchcvs_own``); the fused engine's survivors go on training."""
    engine = "fused"
    result, display = run_tiny(*NINE, "search.racing=halving", f"search.engine={engine}")
    stage = result.stages[0]
    table = stage.cv_results
    assert table.groupby("iter").agg(n=("params", "size"), epochs=("n_resources", "first")).values.tolist() == [
        [9, 1], [3, 3], [1, 9]]  # fmt: skip
    assert stage.candidates == 9 and display.started[0][3] == (9 + 3 + 1) * 2 == display.done  # the rungs' evaluations
    # GridSearchCV fits every rung afresh; the fused engine's survivors go on training the same 9 x 2 models
    assert stage.fits == ((9 + 3 + 1) * 2 if engine == "gridsearchcv" else 9 * 2)
    last = table.loc[table["iter"] == 2].iloc[0]
    assert json.loads(last["params"]) == stage.winner and last["mean_test_score"] == stage.mean_score
    assert "epochs" not in stage.winner  # the resource is n_resources, not a parameter
    assert stage.decision.rungs == ((9, 1), (3, 3), (1, 9))
    assert describe(stage.decision) == f"{stage.decision.why}; raced: 9 → 3 → 1 candidates at 1, 3, 9 epochs"
    full = 9 * 9 * 2
    assert stage.model_epochs <= full / 3
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert summary["model_epochs"].tolist() == [stage.model_epochs]
    saved = pd.read_csv(tmp_path / "cv_results" / "01_lr_momentum.csv")
    assert {"iter", "n_resources"} <= set(saved.columns) and len(saved) == 13
    if engine == "fused":  # survivors went on from where they paused: 9x1 + 3x2 + 1x6 epochs per fold
        assert stage.model_epochs == (9 * 1 + 3 * 2 + 1 * 6) * 2
    else:  # scikit-learn trains each rung from scratch
        assert stage.model_epochs == (9 * 1 + 3 * 3 + 1 * 9) * 2


def test_a_fused_survivor_scores_as_an_uninterrupted_run(run_tiny):
    """Continued from its pauses, the winner trains exactly as the same candidate trained without racing
    (the same shuffles, dropout draws and early-stopping state)."""
    es = ("model.early_stopping.enabled=true", "model.early_stopping.patience=1", "model.params.model__dropout=0.2")
    raced, _ = run_tiny(*NINE, *es, "search.racing=halving", "search.engine=fused", "store.mode=off")
    full, _ = run_tiny(*NINE, *es, "search.engine=fused", "store.mode=off")
    winner = raced.stages[0].cv_results.query("iter == 2").iloc[0]
    same = full.stages[0].cv_results.set_index("params").loc[winner["params"]]
    for column in ("split0_test_score", "split1_test_score", "split0_test_epochs_run", "split1_test_epochs_run"):
        assert winner[column] == pytest.approx(same[column], abs=1e-6)


def test_racing_per_stage_and_in_the_store_key(run_tiny):
    stages = ("dataset=iris", "order.stages=[optimizer,depth]", "model.epochs=3",
              "stages.optimizer.grid.optimizer=[adam,sgd,rmsprop]")  # fmt: skip
    result, _ = run_tiny(*stages, "+stages.optimizer.racing=halving", "search.engine=fused")
    optimizer, depth = result.stages
    assert "iter" in optimizer.cv_results and "iter" not in depth.cv_results
    again, _ = run_tiny(*stages, "search.engine=fused")  # not raced: another stage entry, not the raced one read back
    assert not again.stages[0].reused and "iter" not in again.stages[0].cv_results


def test_one_se_and_the_baselines_race_too(run_tiny):
    one_se, _ = run_tiny(*NINE, "search.racing=halving", "search.select=one_se", "search.engine=fused")
    assert one_se.stages[0].decision.rungs
    exhaustive, _ = run_tiny("dataset=iris", "order.stages=[optimizer,depth]", "model.epochs=3", "search.racing=halving",
                             "search.strategy=exhaustive", "stages.optimizer.grid.optimizer=[adam,sgd,rmsprop]",
                             "search.engine=fused")  # fmt: skip
    assert describe(exhaustive.stages[0].decision) == f"{exhaustive.stages[0].decision.why}; raced: 6 → 2 candidates at 1, 3 epochs"


@pytest.mark.parametrize("override, message", [
    ("search.halving.factor=1.05", "error: search.halving.factor=1.05: must be at least 2, e.g. 3: a smaller factor "
     "keeps every candidate of a small stage at every rung, so nothing is raced"),
    ("search.halving.min_epochs=20", "error: search.halving.min_epochs=20: must be from 1 to model.epochs (2), or null"),
    ("search.racing=hyperband", "error: search.racing=hyperband: choose one of none, halving"),
    ("+stages.depth.racing=yes", "error: stages.depth.racing=yes: choose one of none, halving"),
    ("+stages.depth.grid.epochs=[1,2]", "error: stages.depth.grid.epochs: racing spends epochs, so a raced stage cannot "
     "tune them; set stages.depth.racing=none or tune epochs without racing"),
])  # fmt: skip
def test_bad_racing_settings_are_one_line(override, message):
    from pipeline.common.errors import UserError
    from tests.conftest import spec_for

    with pytest.raises(UserError) as caught:
        spec_for("dataset=iris", "model.epochs=2", "search.racing=halving", override, tiny=False)
    assert f"error: {caught.value}" == message


def test_a_gridsearchcv_race_is_halvinggridsearchcvs_own():
    """The racing strategy asks the GridSearchCV engine for each rung; its table is the one scikit-learn's
    ``HalvingGridSearchCV`` makes over the same candidates, folds and resource (the routed epochs)."""
    import warnings

    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV

    from pipeline import data, engines
    from pipeline.common.records import Problem
    from pipeline.config.schema import DatasetSpec, ModelSpec, RunSpec, SearchSpec
    from pipeline.engines.estimators import make_estimator
    from pipeline.engines.searchcv import NET, EpochsRun, FitScore, folds
    from pipeline.search.strategies.grid import FullGrid
    from pipeline.search.strategies.racing import Raced

    train, _ = data.split(data.load_dataset(DatasetSpec("iris")), 0.2, 0)
    model = ModelSpec(epochs=3, batch_size=32)
    model.early_stopping.enabled = False
    problem, base = Problem(train, "accuracy", 2, 0), {"optimizer": "sgd"}
    grid = {"optimizer__learning_rate": [0.01, 0.05, 0.2]}
    with engines.create(RunSpec(search=SearchSpec(cv=2, n_jobs=1, engine="gridsearchcv"), model=model), print) as engine:
        raced = Raced(FullGrid(), Halving(3, None, 3)).run_search(
            [grid], lambda c, budget=None: engine.evaluate(problem, "lr", c, base, budget=budget), base)

    both = lambda est, X, y: {"score": FitScore("accuracy")(est, X, y), "epochs_run": EpochsRun()(est, X, y)}  # noqa: E731
    halving = HalvingGridSearchCV(make_estimator(train, base, model, seed=0), {f"{NET}__{k}": v for k, v in grid.items()},
                                  scoring=both, cv=folds("multiclass", 2, 0), refit=False, resource=f"{NET}__epochs",
                                  max_resources=3, min_resources="exhaust", factor=3, error_score=np.nan)  # fmt: skip
    with warnings.catch_warnings(), pytest.raises(AttributeError, match="best_index_"):  # no refit: no best index
        warnings.simplefilter("ignore")
        halving.fit(train.X, train.y)
    theirs = pd.DataFrame({k: v for k, v in halving.cv_results_.items() if k != "params"})
    theirs["params"] = [json.dumps({k.removeprefix(f"{NET}__"): v for k, v in p.items() if k != f"{NET}__epochs"},
                                   sort_keys=True) for p in halving.cv_results_["params"]]  # fmt: skip
    ours = pd.DataFrame({k: v for k, v in raced.columns.items() if k != "params"})
    ours["params"] = [json.dumps(p, sort_keys=True) for p in raced.columns["params"]]
    columns = ["iter", "n_resources", "params", "split0_test_score", "split1_test_score", "mean_test_epochs_run"]
    # a rung's survivors in the order they first ran (scikit-learn lists them by score): the same rows
    pd.testing.assert_frame_equal(ours[columns].sort_values(["iter", "params"]).reset_index(drop=True),
                                  theirs[columns].sort_values(["iter", "params"]).reset_index(drop=True), check_dtype=False)
    assert ours["n_resources"].tolist() == [1, 1, 1, 3]
