"""The staged search end to end, in this process, on tiny real data (1-3 epochs, 2 folds)."""
import json

import keras
import pandas as pd

from pipeline.reports.files import SUMMARY_COLUMNS


def test_stages_run_in_order_and_write_every_file(run_tiny, tmp_path):
    result, display = run_tiny("dataset=iris", "order.stages=[optimizer,neurons,depth]")
    assert [r.stage for r in result.stages] == ["optimizer", "neurons", "depth"]
    assert [s[:3] for s in display.started] == [(1, 3, "optimizer"), (2, 3, "neurons"), (3, 3, "depth")]
    assert display.done == 3 * 2 * 2  # every fit reported to the progress display
    for name in ("summary.csv", "best_params.json", "test_score.json", "model.keras"):
        assert (tmp_path / name).stat().st_size > 0
    assert sorted(p.name for p in (tmp_path / "cv_results").iterdir()) == [
        "01_optimizer.csv", "02_neurons.csv", "03_depth.csv"
    ]  # fmt: skip
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert tuple(summary.columns) == SUMMARY_COLUMNS and len(summary) == 3
    test_score = json.loads((tmp_path / "test_score.json").read_text())
    assert test_score["metric"] == "accuracy" and 0 <= test_score["value"] <= 1


def test_frozen_winners_reach_later_stages_and_the_final_model(run_tiny, tmp_path):
    result, _ = run_tiny(
        "dataset=wine", "order.stages=[neurons,depth]", "stages.neurons.grid.model__neurons=[3]",
        "stages.depth.grid.model__depth=[1,3]",
    )  # fmt: skip
    neurons, depth = result.stages
    assert neurons.winner == {"model__neurons": 3}
    assert depth.frozen["model__neurons"] == 3
    best = json.loads((tmp_path / "best_params.json").read_text())
    assert best["model__neurons"] == 3 and best["model__depth"] == depth.winner["model__depth"]
    model = keras.models.load_model(tmp_path / "model.keras")
    hidden = [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)][:-1]
    assert hidden == [3] * best["model__depth"]


def test_momentum_skipped_for_adam_is_reported(run_tiny, tmp_path):
    result, _ = run_tiny(
        "dataset=iris", "order.stages=[optimizer,lr_momentum]", "stages.optimizer.grid.optimizer=[adam]"
    )
    lr = result.stages[1]
    assert lr.candidates == 1 and "optimizer__momentum" in lr.skipped[0]
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert "optimizer__momentum" in summary.loc[1, "skipped"]
    assert "optimizer__momentum" not in json.loads((tmp_path / "best_params.json").read_text())


def test_momentum_searched_for_sgd(run_tiny):
    result, _ = run_tiny("dataset=iris", "order.stages=[optimizer,lr_momentum]", "stages.optimizer.grid.optimizer=[sgd]")
    lr = result.stages[1]
    assert lr.candidates == 2 and lr.skipped == () and "param_optimizer__momentum" in lr.cv_results


def test_epochs_run_shows_early_stopping_at_work(run_tiny):
    result, _ = run_tiny(
        "dataset=breast_cancer", "order.stages=[dropout]", "model.epochs=40",
        "model.early_stopping.enabled=true", "model.early_stopping.patience=1",
        "model.params.optimizer__learning_rate=0.05",
    )  # fmt: skip
    table = result.stages[0].cv_results
    epochs = table[["split0_test_epochs_run", "split1_test_epochs_run"]].to_numpy()
    assert ((epochs >= 2) & (epochs <= 40)).all()
    assert (epochs < 40).any()  # at least one fit stopped early


def test_csv_with_categories_and_missing_values(run_tiny, customers_csv, tmp_path):
    result, _ = run_tiny(
        "dataset=file", f"dataset.path={customers_csv}", "dataset.target=churned",
        "dataset.drop=[customer_id]", "order.stages=[activation]",
    )  # fmt: skip
    assert result.metric == "accuracy" and result.stages[0].failed_fits == 0
    assert 0 <= result.test_score <= 1


def test_regression_scores_r2(run_tiny, tmp_path):
    result, _ = run_tiny("dataset=diabetes", "order.stages=[neurons]", "model.epochs=3")
    assert result.metric == "r2" and result.stages[0].failed_fits == 0
    assert json.loads((tmp_path / "test_score.json").read_text())["metric"] == "r2"
