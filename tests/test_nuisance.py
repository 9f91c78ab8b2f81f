"""The learning rate as a nuisance (re-tuned inside every stage that does not own it), and repeated CV."""
import json

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, run_cli

from pipeline.common.records import Decision
from pipeline.reports.words import describe
from pipeline.search.strategies.nuisance import aggregate, decision

LR = "optimizer__learning_rate"
TWO = ("dataset=iris", "order.stages=[optimizer,depth]", "model.epochs=3", "model.params.optimizer__learning_rate=0.01")


def test_each_candidate_scores_at_its_best_nuisance_value_and_a_flip_is_said():
    params = [{"model__depth": d, LR: lr} for d in (1, 2) for lr in (0.003, 0.01, 0.03)]
    means = [0.70, 0.80, 0.60, 0.75, 0.78, 0.90]  # at the frozen 0.01 depth 1 wins; re-tuned, depth 2 does
    columns = {"params": params, "mean_test_score": means, "std_test_score": [0.01] * 6,
               "split0_test_score": means, "split1_test_score": means, "mean_test_epochs_run": [3.0] * 6}  # fmt: skip
    out = pd.DataFrame(aggregate(columns, [LR], {LR: 0.01}))
    assert out["params"].tolist() == [{"model__depth": 1}, {"model__depth": 2}]
    assert out["mean_test_score"].tolist() == [0.80, 0.90]
    assert [json.loads(n) for n in out["nuisance"]] == [{LR: 0.01}, {LR: 0.03}]
    assert out["mean_test_score_at_frozen"].tolist() == [0.80, 0.78]
    assert out["mean_test_score_at learning_rate=0.003"].tolist() == [0.70, 0.75]
    out["params"] = [json.dumps(p) for p in out["params"]]
    decided = decision(out, 1, cv=2)
    assert decided == {"retuned": {LR: 0.03}, "flipped_from": {"model__depth": 1}}
    assert describe(Decision(**decided)) == ("re-tuned learning_rate: the winner scored best at learning_rate=0.03; "
                                             "re-tuning flipped the winner (at the frozen values: depth=1)")  # fmt: skip
    noisy = out.assign(split0_test_score=[0.70, 0.95], split1_test_score=[0.90, 0.85])  # 0.80 against 0.90: noise
    assert decision(noisy, 1, cv=2) == {"retuned": {LR: 0.03}}  # a change of the argmax alone is not a flip


@pytest.mark.report
@pytest.mark.parametrize("engine", ["fused"])  # a strategy: the engine sees crossed candidates, nothing more
def test_later_stages_re_tune_the_learning_rate_and_freeze_what_won(run_tiny, tmp_path, engine):
    result, display = run_tiny(*TWO, "nuisance=learning_rate", f"search.engine={engine}")
    optimizer, depth = result.stages
    assert optimizer.fits == 2 * 3 * 2 and depth.fits == 2 * 3 * 2 == display.started[1][3]  # candidates x 3 x folds
    assert optimizer.winner[LR] in (0.00333, 0.01, 0.03)
    grid = sorted(float(f"{optimizer.winner[LR] * f:.6g}") for f in (0.333, 1.0, 3.0))
    table = depth.cv_results
    assert sorted(c.removeprefix("mean_test_score_at learning_rate=") for c in table.columns
                  if c.startswith("mean_test_score_at learning")) == sorted(str(v) for v in grid)  # fmt: skip
    assert depth.winner[LR] == json.loads(table.loc[table["params"] == json.dumps({"model__depth": depth.winner["model__depth"]}),
                                                    "nuisance"].iloc[0])[LR]  # fmt: skip
    assert result.best_params[LR] == depth.winner[LR]
    assert "; re-tuned learning_rate: the winner scored best at" in describe(depth.decision)
    saved = pd.read_csv(tmp_path / "cv_results" / "02_depth.csv")
    assert {"nuisance", "mean_test_score_at_frozen"} <= set(saved.columns)
    assert (tmp_path / "charts" / "02_depth.png").is_file()


def test_the_stage_that_tunes_the_nuisance_is_not_crossed(run_tiny):
    result, _ = run_tiny("dataset=iris", "order.stages=[lr_momentum,depth]", "model.params.optimizer=sgd",
                         "nuisance=learning_rate", "stages.lr_momentum.grid.optimizer__learning_rate=[0.01,0.1]",
                         "search.engine=fused")  # fmt: skip
    owner, depth = result.stages
    assert "nuisance" not in owner.cv_results and owner.fits == 2 * 2 * 2  # learning rate x momentum x folds
    assert "nuisance" in depth.cv_results and depth.fits == 2 * 3 * 2


def test_absolute_values_from_the_command_line(run_tiny):
    result, _ = run_tiny(*TWO, f"+search.nuisance.{LR}.values=[0.001,0.1]", "search.engine=fused")
    assert {c for c in result.stages[1].cv_results.columns if c.startswith("mean_test_score_at ")} == {
        "mean_test_score_at learning_rate=0.001", "mean_test_score_at learning_rate=0.1"}  # fmt: skip


@pytest.mark.parametrize("override, message", [
    (f"~model.params.{LR} +search.nuisance.{LR}.factors=[0.5,2]", f"error: search.nuisance.{LR}.factors=[0.5,2]: multiply the frozen value: "
     f"give a starting value model.params.{LR}=... (or values instead)"),
    (f"+search.nuisance.{LR}={{values:[0.1],factors:[2]}}", f"error: search.nuisance.{LR}={{'values':[0.1],'factors':[2]}}: "
     "give values: [...] or factors: [...] (times the frozen value), e.g. {factors: [0.333, 1, 3]}"),
    ("+search.nuisance.optimizer__momentum.values=[0.0,0.9]", "error: search.nuisance.optimizer__momentum={'values':[0.0,0.9]}: "
     "applies only for some values of optimizer (a stage's conditions): a nuisance parameter must apply to every candidate"),
    (f"+search.nuisance.{LR}.values=[-1]", f"error: search.nuisance.{LR}.values: bad value -1; learning_rate must be a number > 0"),
    ("search.repeats=0", "error: search.repeats=0: must be at least 1 (1 = plain cross-validation)"),
])  # fmt: skip
def test_bad_nuisance_settings_are_one_line(tmp_path, override, message):
    from tests.conftest import run_in_process

    out = run_in_process("dataset=iris", "model.epochs=2", *override.split(), tmp_path=tmp_path)
    assert out.exit_code == 2 and out.line == message


@pytest.mark.parametrize("engine", ["gridsearchcv", "fused"])
def test_repeated_cross_validation_counts_every_split(run_tiny, engine):
    result, display = run_tiny("dataset=iris", "order.stages=[depth]", "search.repeats=2", f"search.engine={engine}")
    stage = result.stages[0]
    splits = [c for c in stage.cv_results.columns if c.startswith("split") and c.endswith("_test_score")]
    assert len(splits) == 4 and stage.fits == 2 * 4 == display.done
    scores = stage.cv_results[splits].to_numpy(dtype=float)
    assert not np.allclose(scores[:, :2], scores[:, 2:])  # the repeat reshuffled the folds
    if engine == "fused":  # the key: plain cross-validation is another evaluation, not the repeated one read back
        once, _ = run_tiny("dataset=iris", "order.stages=[depth]", f"search.engine={engine}")
        assert not once.stages[0].reused


def test_the_comparison_speaks_per_nuisance_setting():
    from pathlib import Path

    from pipeline.frontends.compare import Run, comparison_table, statements

    def run(order, setting, seed, test):
        folds = np.array([0.8, 0.82, 0.81]) + (0.05 if order == "a" and setting == "none" else 0) + seed / 100
        return Run(Path("."), f"order={order} nuisance={setting}", seed, "", "accuracy", float(folds.mean()), 0.01,
                   test + seed / 1000, 10, 1.0, "{}")  # fmt: skip

    runs = [run(o, n, s, 0.9 if (o, n) == ("a", "none") else 0.8) for o in "ab" for n in ("none", "learning_rate")
            for s in (0, 1, 2)]  # fmt: skip
    text = statements(runs, comparison_table(runs))
    none, retuned = text.split("\n\n")
    assert none.startswith("**nuisance=none** (2 configurations): order=a nuisance=none ranks first")
    assert none.endswith("Spread of the mean held-out test accuracy across them: 0.1000.")
    assert retuned.startswith("**nuisance=learning_rate** (2 configurations)") and retuned.endswith("across them: 0.0000.")


@pytest.mark.slow
def test_the_nuisance_experiment_compares_orderings_per_setting(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", *TINY, "dataset=iris", "model.epochs=1", "order=default,architecture_first",
                   "nuisance=none,learning_rate", "search.seed=0", "stages.optimizer.grid.optimizer=[adam]",
                   "stages.activation.grid.model__activation=[relu]", "stages.neurons.grid.model__neurons=[4]",
                   f"hydra.sweep.dir={sweep}", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = (sweep / "comparison.md").read_text()
    assert "**nuisance=none** (2 configurations)" in text and "**nuisance=learning_rate** (2 configurations)" in text
    assert text.count("Spread of the mean held-out test accuracy across them") == 2


def test_racing_and_re_tuning_together(run_tiny):
    """Crossed candidates race; each candidate that ran the whole race is scored at its best nuisance value."""
    result, _ = run_tiny(*TWO, "stages.optimizer.grid.optimizer=[adam,sgd,rmsprop]", "nuisance=learning_rate",
                         "search.racing=halving", "search.engine=fused")  # fmt: skip
    optimizer = result.stages[0]
    assert "raced: 9 → 3 candidates at 1, 3 epochs; re-tuned learning_rate" in describe(optimizer.decision)
    assert optimizer.fits == 9 * 2 and "iter" not in optimizer.cv_results  # fused: a survivor is one model
    assert LR in optimizer.winner and 1 <= len(optimizer.cv_results) <= 3
