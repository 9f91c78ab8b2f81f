"""search.strategy=tpe: Optuna's TPE over the stages' joint space, conditions included, asked in batches."""
import json

import pytest

SPACE = ("dataset=iris", "order.stages=[optimizer,lr_momentum,neurons]", "stages.optimizer.grid.optimizer=[adam,sgd]",
         "stages.lr_momentum.grid.optimizer__learning_rate=[0.01,0.1]",
         "stages.lr_momentum.grid.optimizer__momentum=[0.0,0.9]", "stages.neurons.grid.model__neurons=[4,8,16]",
         "search.strategy=tpe")  # fmt: skip


@pytest.mark.parametrize("engine, budget", [("fused", 10), ("gridsearchcv", 9)])  # GridSearchCV: two batches, 18 fits
def test_tpe_evaluates_its_budget_of_distinct_candidates_where_their_conditions_hold(run_tiny, engine, budget):
    result, _ = run_tiny(*SPACE, f"search.budget={budget}", f"search.engine={engine}", "search.select=best")
    (stage,) = result.stages
    table = stage.cv_results
    params = [json.loads(p) for p in table["params"]]
    assert stage.candidates == budget and len({json.dumps(p, sort_keys=True) for p in params}) == budget
    assert all(("optimizer__momentum" in p) == (p["optimizer"] == "sgd") for p in params)  # momentum only with sgd
    assert stage.fits == budget * 2 and stage.decision.notes == (f"TPE: {budget} candidates in 2 batches of up to 8",)
    assert sorted(table["rank_test_score"])[0] == 1 and stage.winner == params[int(table["mean_test_score"].idxmax())]


def test_tpe_stops_at_the_size_of_the_space(run_tiny):
    result, _ = run_tiny(*SPACE, "search.budget=100")  # adam: 2 lr x 3 widths; sgd: 2 x 2 momenta x 3 = 18 in all
    assert result.stages[0].candidates == 18


def test_tpe_and_racing_are_refused_together_in_one_line(tmp_path):
    from tests.conftest import run_in_process

    outcome = run_in_process("search.strategy=tpe", "search.racing=halving", tmp_path=tmp_path)
    assert outcome.exit_code == 2 and outcome.line.startswith("error: search.racing=halving: not with search.strategy=tpe")
