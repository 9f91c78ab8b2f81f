"""Conditions and winner selection: pure functions over grids and result tables."""
import numpy as np
import pandas as pd

from pipeline.common.space import candidate_grids, count_candidates, effective_params
from pipeline.stats.selection import pick_winner

MOMENTUM_NEEDS = {"optimizer__momentum": {"optimizer": ["sgd", "rmsprop"]}}
LR_MOMENTUM = {"optimizer__learning_rate": [0.001, 0.01], "optimizer__momentum": [0.0, 0.9]}


def test_momentum_is_searched_for_sgd():
    grids, base, skipped = candidate_grids(LR_MOMENTUM, {"optimizer": "sgd"}, MOMENTUM_NEEDS)
    assert grids == [LR_MOMENTUM] and skipped == [] and base == {"optimizer": "sgd"}
    assert count_candidates(LR_MOMENTUM, {"optimizer": "sgd"}, MOMENTUM_NEEDS) == 4


def test_momentum_is_skipped_for_adam_and_the_skip_is_reported():
    grids, base, skipped = candidate_grids(LR_MOMENTUM, {"optimizer": "adam"}, MOMENTUM_NEEDS)
    assert grids == [{"optimizer__learning_rate": [0.001, 0.01]}]
    assert len(skipped) == 1 and "optimizer__momentum" in skipped[0] and "optimizer=adam" in skipped[0]


def test_condition_on_a_parameter_tuned_in_the_same_stage_splits_the_grid():
    grid = {"optimizer": ["adam", "sgd"], "optimizer__momentum": [0.0, 0.9]}
    grids, _, skipped = candidate_grids(grid, {}, MOMENTUM_NEEDS)
    assert grids == [{"optimizer": ["sgd"], "optimizer__momentum": [0.0, 0.9]}, {"optimizer": ["adam"]}]
    assert skipped == []  # momentum is tuned wherever it applies: a summary must not call it skipped (TPE's did)


def test_a_frozen_momentum_follows_the_optimizer_being_tuned():
    grids, base, _ = candidate_grids({"optimizer": ["adam", "sgd"]}, {"optimizer__momentum": 0.9}, MOMENTUM_NEEDS)
    assert grids == [{"optimizer": ["sgd"], "optimizer__momentum": [0.9]}, {"optimizer": ["adam"]}]
    assert "optimizer__momentum" not in base


def test_stage_with_every_parameter_skipped_has_nothing_to_fit():
    assert count_candidates({"optimizer__momentum": [0.5]}, {"optimizer": "adam"}, MOMENTUM_NEEDS) == 0


def test_effective_params_drop_what_does_not_apply():
    assert effective_params({"optimizer": "adam", "optimizer__momentum": 0.9}, MOMENTUM_NEEDS) == {"optimizer": "adam"}
    assert effective_params({"optimizer": "sgd", "optimizer__momentum": 0.9}, MOMENTUM_NEEDS)["optimizer__momentum"] == 0.9


def test_winner_ignores_failed_candidates_and_ties_go_to_the_first():
    table = pd.DataFrame({"mean_test_score": [np.nan, 0.8, 0.9, 0.9], "std_test_score": [np.nan, 0.0, 0.0, 0.0],
                          "params": ["{}"] * 4})  # fmt: skip
    assert pick_winner(table) == (2, [3], "best")


def test_all_nan_scores_never_pick_a_winner():
    assert pick_winner(pd.DataFrame({"mean_test_score": [np.nan, np.nan]})) is None
