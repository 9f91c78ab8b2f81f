"""order=auto: the screening, each stage's importance, the order and the skips that follow, and why."""
import json

import numpy as np
import pandas as pd
import pytest

from pipeline.reports.words import importance_sentence
from pipeline.stats.importance import order_by_importance
from tests.conftest import run_in_process
from tests.test_config import error_for

FAMILIES = {"optimizer": ["optimizer"], "lr_momentum": ["optimizer__learning_rate", "optimizer__momentum"],
            "activation": ["model__activation"], "depth": ["model__depth"]}  # fmt: skip


CATALOGUE = {**FAMILIES, "init": ["model__init"], "dropout": ["model__dropout"], "neurons": ["model__neurons"]}


def screened(seed: int = 0, rows: int = 24) -> pd.DataFrame:
    """Configurations drawn as the screening draws them; the score depends on depth a lot, on the learning rate a
    little, on nothing else (a trace of noise)."""
    rng = np.random.default_rng(seed)
    params, scores = [], []
    for _ in range(rows):
        p = {"optimizer": str(rng.choice(["sgd", "adam", "rmsprop"])), "optimizer__learning_rate": float(rng.choice([1e-3, 1e-2])),
             "model__activation": str(rng.choice(["relu", "tanh"])), "model__depth": int(rng.choice([1, 2, 3, 4]))}  # fmt: skip
        if p["optimizer"] != "adam":
            p["optimizer__momentum"] = float(rng.choice([0.0, 0.9]))
        params.append(json.dumps(p))
        scores.append(0.6 + 0.08 * p["model__depth"] + 2 * p["optimizer__learning_rate"] + rng.normal(0, 0.002))
    return pd.DataFrame({"params": params, "mean_test_score": scores})


def test_the_stage_that_moves_the_score_comes_first_and_the_idle_ones_are_skipped():
    importance = order_by_importance(screened(), FAMILIES, seed=0, direction="important_first", skip_below=0.05)
    assert importance.stages[0].stage == "depth" and importance.stages[0].low > 0.5
    assert importance.order[0] == "depth"
    assert set(importance.skipped) == {"optimizer", "activation"}  # their intervals lie below 5 %
    assert all(m.low <= m.share <= m.high for m in importance.stages)
    assert abs(sum(m.share for m in importance.stages) - 1) < 1e-9
    assert importance_sentence(importance).startswith("depth explains")
    assert importance_sentence(importance).endswith("less than 5%: skipped")


def test_important_last_reverses_the_order_and_skips_the_same():
    first = order_by_importance(screened(), FAMILIES, seed=0, direction="important_first", skip_below=0.05)
    last = order_by_importance(screened(), FAMILIES, seed=0, direction="important_last", skip_below=0.05)
    assert last.order == first.order[::-1] and last.skipped == first.skipped


def test_a_screening_that_tells_nothing_apart_skips_nothing():
    flat = screened().assign(mean_test_score=0.5)
    importance = order_by_importance(flat, FAMILIES, seed=0, direction="important_first", skip_below=0.05)
    assert importance.skipped == () and set(importance.order) == set(FAMILIES)
    assert "could not tell the stages apart" in importance_sentence(importance)


@pytest.mark.parametrize("override, key", [
    ("order.auto.budget=3", "order.auto.budget=3"),
    ("order.auto.stages=[depth,width]", "order.auto.stages: unknown stage 'width'"),
    ("order.auto.skip_below=1.0", "order.auto.skip_below=1.0"),
    ("search.strategy=exhaustive", "search.strategy=exhaustive"),
    ("order.auto.direction=sideways", "order.auto.direction=sideways"),
    ("order.auto.epochs=0", "order.auto.epochs=0"),
])  # fmt: skip
def test_bad_auto_settings_are_one_line_naming_the_key(override, key):
    message = error_for("order=auto", override)
    assert message.startswith(key)


@pytest.mark.report
def test_order_auto_screens_orders_skips_and_says_why(run_tiny, tmp_path):
    auto = ["order=auto", "order.auto.budget=8", "dataset=iris", "order.auto.skip_below=0.3"]
    result, display = run_tiny(*auto)
    importance, screen = result.importance, result.stages[0]
    assert screen.stage == "screen" and screen.candidates == 8
    ran = [r.stage for r in result.stages[1:]]
    assert tuple(ran) == importance.order
    assert set(ran) | set(importance.skipped) == {"optimizer", "lr_momentum", "init", "activation", "dropout", "neurons", "depth"}
    assert importance.skipped, "a 30 % bar skips something on this data"
    # the stages start from the best screened configuration; what was skipped keeps its screened value
    assert result.stages[1].frozen.items() >= {k: v for k, v in screen.winner.items() if k not in result.stages[1].tuned}.items()
    skipped = [p for name in importance.skipped for p in CATALOGUE[name]]
    assert all(result.best_params[p] == screen.winner[p] for p in skipped if p in screen.winner and p in result.best_params)
    assert [name for _, _, name, _ in display.started][0] == "screen"
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert summary["stage"].tolist() == ["screen", *ran]
    assert (tmp_path / "cv_results" / "00_screen.csv").is_file() and (tmp_path / "cv_results" / f"01_{ran[0]}.csv").is_file()
    written = json.loads((tmp_path / "importance.json").read_text())
    assert written["order"] == list(importance.order) and written["says"] == importance_sentence(importance)
    report = (tmp_path / "report.md").read_text()
    assert "## Order chosen by the data" in report and (tmp_path / "charts" / "importance.png").stat().st_size > 5_000
    # a rerun reads the screening back from the stage store, and orders the same
    again, _ = run_tiny(*auto)
    assert again.stages[0].reused and again.importance == importance


def test_order_auto_from_the_defaults(run_tiny):
    result, _ = run_tiny("order=auto", "order.auto.budget=8", "order.auto.start=defaults", "order.auto.skip_below=0")
    first = result.stages[1]
    assert not result.importance.skipped
    defaults = {"optimizer": "adam", "model__depth": 2, "model__neurons": 16, "model__activation": "relu"}
    assert {k: v for k, v in first.frozen.items() if k in defaults} == {k: v for k, v in defaults.items() if k not in first.tuned}


def test_order_auto_says_what_it_chose_in_the_run(tmp_path):
    from tests.conftest import TINY

    out = run_in_process(*TINY, "order=auto", "order.auto.budget=7", "order.auto.stages=[optimizer,depth]",
                         tmp_path=tmp_path)  # fmt: skip
    assert out.exit_code == 0
    assert json.loads((tmp_path / "run" / "importance.json").read_text())["configurations"] == 4  # 2 × 2: the whole space


def test_a_screening_where_every_configuration_fails_is_the_stage_s_usual_failure(run_tiny):
    from pipeline.common.errors import StageFailed

    with pytest.raises(StageFailed, match=r"stage screen: all 4 fits failed; first cause: training diverged"):
        run_tiny("dataset=diabetes", "order=auto", "order.auto.stages=[lr_momentum]", "order.auto.budget=2",
                 "model.params.optimizer=adam", "stages.lr_momentum.grid.optimizer__learning_rate=[100000.0,1000000.0]")
