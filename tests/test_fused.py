"""The fused engine: real Keras models trained in compiled JAX programs, compared with GridSearchCV."""
import json
import os

import numpy as np
import pandas as pd
import pytest

from pipeline import data, engines
from pipeline.common.records import Problem, Stage
from pipeline.config.schema import DatasetSpec, EarlyStoppingSpec, ModelSpec, RunSpec, SearchSpec
from pipeline.search.stage import run_stage
from pipeline.search.strategies.grid import FullGrid, RandomBudget
from tests.conftest import ROOT, TINY, run_cli

NO_EARLY_STOP = ModelSpec(epochs=3, batch_size=16, early_stopping=EarlyStoppingSpec(enabled=False))


def stage(engine: str, dataset: str, grid: dict, base: dict, model: ModelSpec, cv: int = 2, seed: int = 0,
          budget: int | None = None):  # fmt: skip
    """One stage through the engine seam, as the runner runs it."""
    train, _ = data.split(data.load_dataset(DatasetSpec(dataset)), 0.2, seed)
    problem = Problem(train, "r2" if train.task == "regression" else "accuracy", cv, seed)
    spec = RunSpec(search=SearchSpec(cv=cv, seed=seed, n_jobs=1, engine=engine), model=model)
    strategy = FullGrid() if budget is None else RandomBudget(budget, seed)
    with engines.create(spec, print) as chosen:
        assert chosen.name == engine
        return run_stage(Stage("stage", grid), strategy, base, {}, lambda s, c, b, budget=None: chosen.evaluate(problem, s, c, b, budget=budget), cv=cv)


@pytest.mark.parametrize(
    "dataset, grid",
    [("iris", {"model__activation": ["relu", "tanh"]}),  # two programs
     ("diabetes", {"model__init": ["he_normal", "glorot_uniform"]})],  # one
)  # fmt: skip  # softmax and regression heads (binary: the runs below)
def test_fused_table_has_the_gridsearchcv_columns_candidates_and_folds(dataset, grid):
    base = {"optimizer": "adam", "model__neurons": 8}
    tables = {e: stage(e, dataset, grid, base, NO_EARLY_STOP).cv_results for e in ("gridsearchcv", "fused")}
    grid_table, fused_table = tables["gridsearchcv"], tables["fused"]
    assert list(fused_table.columns) == list(grid_table.columns)
    assert list(fused_table["params"]) == list(grid_table["params"])  # same candidates, same order
    assert (fused_table[["split0_test_epochs_run", "split1_test_epochs_run"]].to_numpy() == 3).all()
    assert np.isfinite(fused_table["mean_test_score"]).all()
    assert fused_table["rank_test_score"].min() == 1


def test_early_stopping_stops_each_model_on_its_own():
    training = ModelSpec(epochs=80, batch_size=32, early_stopping=EarlyStoppingSpec(patience=2))
    grid = {"optimizer__learning_rate": [0.0001, 0.3]}  # creeps along / overshoots quickly
    result = stage("fused", "breast_cancer", grid, {"optimizer": "sgd"}, training)
    epochs = result.cv_results[["split0_test_epochs_run", "split1_test_epochs_run"]].to_numpy()
    assert (epochs >= 1).all() and (epochs <= 80).all()
    assert epochs.min() < 80  # someone stopped early ...
    assert len(np.unique(epochs)) > 1  # ... and not all at the same epoch: per model, not per program


def test_diverging_models_score_nan_and_count_as_failed():
    grid = {"optimizer__learning_rate": [0.001, 1e9]}
    result = stage("fused", "diabetes", grid, {"optimizer": "sgd"}, NO_EARLY_STOP)
    assert result.failed_fits == 2
    assert result.winner == {"optimizer__learning_rate": 0.001}
    assert np.isnan(result.cv_results.loc[1, "mean_test_score"])


def test_a_random_budget_draws_the_same_candidates_as_randomizedsearchcv():
    from sklearn.model_selection import RandomizedSearchCV

    from pipeline.engines.estimators import make_estimator

    grid = {"optimizer__learning_rate": [0.001, 0.003, 0.01, 0.03, 0.1], "model__init": ["he_normal", "glorot_uniform"]}
    train, _ = data.split(data.load_dataset(DatasetSpec("iris")), 0.2, 0)
    one_epoch = ModelSpec(epochs=1, early_stopping=EarlyStoppingSpec(enabled=False))
    theirs = RandomizedSearchCV(make_estimator(train, {}, one_epoch, seed=0), {f"net__{k}": v for k, v in grid.items()},
                                n_iter=2, random_state=0, cv=2).fit(train.X, train.y)  # fmt: skip
    expected = [json.dumps({k.removeprefix("net__"): v for k, v in p.items()}, sort_keys=True)
                for p in theirs.cv_results_["params"]]  # fmt: skip
    # Both engines get their candidates from the same strategy; the fused one is the cheaper to run.
    assert list(stage("fused", "iris", grid, {"optimizer": "adam"}, NO_EARLY_STOP, budget=2).cv_results["params"]) == expected


def test_fused_runs_end_to_end_and_its_stages_are_stored_apart(run_tiny, tmp_path):
    args = ("order.stages=[optimizer,lr_momentum]", "stages.optimizer.grid.optimizer=[sgd,adam]")
    result, display = run_tiny("search.engine=fused", *args)
    assert [r.stage for r in result.stages] == ["optimizer", "lr_momentum"]
    assert display.done == sum(r.fits for r in result.stages)  # progress counted every model
    assert 0 <= result.test_score <= 1
    table = pd.read_csv(tmp_path / "cv_results" / "01_optimizer.csv")
    assert {"mean_test_epochs_run", "split1_test_score"} <= set(table.columns)
    again, _ = run_tiny("search.engine=fused", *args)
    assert all(r.reused for r in again.stages)  # the stage store works unchanged
    other, _ = run_tiny(*args, "search.engine=gridsearchcv")
    assert not any(r.reused for r in other.stages)  # a GridSearchCV run never reads fused results


@pytest.mark.tensorflow
def test_a_tensorflow_run_falls_back_to_gridsearchcv_with_one_line(tmp_path):
    proc = run_cli(*TINY, "search.engine=fused", "execution.keras_backend=tensorflow", "order.stages=[depth]",
                   "stages.depth.grid.model__depth=[1]", "store.mode=off", f"hydra.run.dir={tmp_path / 'run'}",
                   cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    said = " ".join((proc.stdout + proc.stderr).split())  # the terminal may wrap the line
    assert said.count("search.engine=fused") == 1
    assert "search.engine=fused: the fused engine needs Keras on JAX, and Keras runs on tensorflow here; using gridsearchcv" in said
    assert pd.read_csv(tmp_path / "run" / "summary.csv")["fits"].sum() == 2


def test_a_program_too_big_for_memory_is_one_line_and_exit_1(tmp_path):
    """Said before training (the stage's estimate against the memory free), not found out by the kernel."""
    import subprocess
    import sys

    limit_kb = 12 * 2**20  # address space: enough to start, not for two 30000-wide layers per model
    proc = subprocess.run(
        ["bash", "-c", f'ulimit -v {limit_kb} && exec "$0" "$@"', sys.executable, "-m", "pipeline", *TINY,
         "search.engine=fused", "order.stages=[neurons]", "stages.neurons.grid.model__neurons=[30000]", "store.mode=off",
         f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("error: stage neurons: the fused programs need about") and "GiB is free" in error
    assert "lower search.cv" in error and "search.engine=gridsearchcv" in error


@pytest.mark.slow
def test_engines_agree_within_noise_and_pick_the_same_winners():
    """Mean CV score per candidate, over 3 seeds × 3 folds, fused vs GridSearchCV.

    The engines share folds, preprocessing, initial weights and every training setting, but
    not the random stream (shuffles, dropout masks), so they may differ only by training
    noise. Tolerance: two standard errors of the difference of the two means, each from the
    spread of its 9 split scores (seeds × folds), with a floor of 0.01 (about one held-out
    row of ~150) for candidates whose scores barely vary. Winners: stage by stage from the
    same frozen values, the same winner in most stages.
    """
    training = ModelSpec(epochs=20, batch_size=32, early_stopping=EarlyStoppingSpec(patience=3))
    stages = [
        ({"optimizer": ["sgd", "adam", "adagrad"]}, {}),
        ({"optimizer__learning_rate": [0.0003, 0.003, 0.03]}, {"optimizer": "adam"}),
        ({"optimizer__momentum": [0.0, 0.9]}, {"optimizer": "sgd"}),
        ({"model__neurons": [1, 8, 32]}, {"optimizer": "adam"}),
        ({"model__depth": [1, 2, 4]}, {"optimizer": "adam"}),
        ({"model__dropout": [0.0, 0.2, 0.5], "model__activation": ["relu", "tanh", "elu"]}, {"optimizer": "adam"}),
        ({"optimizer": ["rmsprop", "nadam"], "model__neurons": [4, 32], "model__depth": [1, 3]}, {}),  # all at once
    ]
    same_winner, checked = 0, 0
    for grid, base in stages:
        splits, winners = {}, {}
        for engine in ("gridsearchcv", "fused"):
            runs = [stage(engine, "breast_cancer", grid, base, training, cv=3, seed=seed) for seed in (0, 1, 2)]
            splits[engine] = np.stack([r.cv_results[[f"split{i}_test_score" for i in range(3)]].to_numpy() for r in runs], 1)
            mean = np.mean([r.cv_results["mean_test_score"].to_numpy() for r in runs], axis=0)
            winners[engine] = json.dumps(runs[0].cv_results["params"].iloc[int(np.argmax(mean))])
        g, f = (splits[e].reshape(len(splits[e]), -1) for e in ("gridsearchcv", "fused"))
        se = np.sqrt(g.var(1, ddof=1) / g.shape[1] + f.var(1, ddof=1) / f.shape[1])
        gap = np.abs(g.mean(1) - f.mean(1))
        print(f"{grid}: gridsearchcv {np.round(g.mean(1), 4)} fused {np.round(f.mean(1), 4)} gap/2se "
              f"{np.round(gap / np.maximum(2 * se, 0.01), 2)} winners {winners['gridsearchcv']} {winners['fused']}")
        assert (gap <= np.maximum(2 * se, 0.01)).all(), (grid, g.mean(1), f.mean(1), se)
        same_winner += winners["gridsearchcv"] == winners["fused"]
        checked += 1
    assert same_winner > checked / 2


def test_a_stage_holds_each_folds_rows_once_whatever_the_number_of_candidates():
    """The memory a stage needs: every fold's rows once per device, plus the models' weights; 25 candidates add
    only weights to 5 (the rows were copied per model before: 125 copies of the data for the column's grid)."""
    from pipeline.engines.fused_models import memory_needed, prepare_folds
    from pipeline.engines.searchcv import folds as cv_folds

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(3000, 20)))
    y = pd.Series((X[0] > 0).astype(int))
    folds = prepare_folds(X, y, "binary", cv_folds("binary", 3, 0))
    training = ModelSpec(early_stopping=EarlyStoppingSpec(enabled=False)).training()
    rows = sum(f.x_train.nbytes + f.y_train.nbytes for f in folds)
    few, many = ([{"optimizer__learning_rate": 0.001 * (i + 1), "model__neurons": 16} for i in range(n)] for n in (5, 25))
    per_model = memory_needed(few[:1], folds, training, 1) - rows
    assert per_model > 0
    assert memory_needed(few, folds, training, 2) == 2 * rows + 5 * per_model
    assert memory_needed(many, folds, training, 2) == 2 * rows + 25 * per_model
