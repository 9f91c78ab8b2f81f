"""Every number the tool prints about noise, checked on null data (small versions of ``--only calibration``), and
the store-key holes that let one setting read another's results."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks.calibration import comparison_rates, duel_rates, flip_rates, wilson


@pytest.mark.calibration  # hundreds of small searches: the CI tier
def test_on_null_data_the_duel_claims_a_gain_or_a_loss_about_as_often_as_its_alpha():
    said = duel_rates("null", 40)
    assert said["gain"] <= 6 and said["loss"] <= 6, said  # 5 % of 40 is 2; 6 or more has probability below 2 %
    assert said["kept_start"] == said["loss"]  # a run keeps the start exactly when its duel measured a loss


@pytest.mark.calibration  # hundreds of small searches: the CI tier
def test_the_duel_sees_a_real_gain_and_a_real_loss():
    assert duel_rates("pays", 6)["gain"] >= 4  # a gain of about 0.09, against the corrected test's wide interval
    hurts = duel_rates("hurts", 6)
    assert hurts["loss"] >= 4 and hurts["kept_start"] == hurts["loss"]


@pytest.mark.calibration  # hundreds of small searches: the CI tier
def test_two_orderings_that_cannot_differ_rarely_exceed_the_noise():
    assert comparison_rates(planted=False, n=8) <= 2


def test_wilson_intervals():
    low, high = wilson(25, 500)
    assert 0.034 < low < 0.035 and 0.072 < high < 0.074
    assert np.isnan(wilson(0, 0)[0])


def test_a_frozen_momentum_an_optimizer_stage_trains_into_sgd_is_in_the_key():
    from pipeline.common.space import frozen_inputs

    needs = {"optimizer__momentum": {"optimizer": ["sgd"]}}
    grid = {"optimizer": ["adam", "sgd"]}
    low = frozen_inputs(grid, {"optimizer": "adam", "optimizer__momentum": 0.0}, needs)
    high = frozen_inputs(grid, {"optimizer": "adam", "optimizer__momentum": 0.9}, needs)
    assert low != high and high["optimizer__momentum"] == 0.9


def test_tpe_and_a_user_estimator_are_keyed_by_their_library_versions():
    from importlib import metadata

    from sklearn.linear_model import LogisticRegression

    from pipeline.engines.execution import versions_of
    from pipeline.search.strategies.tpe import Tpe

    assert Tpe(budget=8, seed=0).identity()["optuna"] == metadata.version("optuna")
    assert versions_of(LogisticRegression()) == {"scikit-learn": metadata.version("scikit-learn")}


def test_a_flip_is_reported_only_where_re_tuning_changed_the_raw_best():
    """The selection rule's choice (one_se's simpler candidate) is not a flip: like is compared with like."""
    import pandas as pd

    from pipeline.search.strategies.nuisance import decision

    table = pd.DataFrame({"params": ['{"model__depth": 1}', '{"model__depth": 2}'], "nuisance": ['{"lr": 0.1}'] * 2,
                          "mean_test_score": [0.80, 0.82], "mean_test_score_at_frozen": [0.79, 0.81],
                          "split0_test_score": [0.79, 0.81], "split1_test_score": [0.81, 0.83]})  # fmt: skip
    assert "flipped_from" not in decision(table, winner=0, cv=2)  # depth 1 chosen by one_se; depth 2 best both ways
    flipped = table.assign(mean_test_score_at_frozen=[0.81, 0.79])
    assert decision(flipped, winner=1, cv=2)["flipped_from"] == {"model__depth": 1}


@pytest.mark.calibration  # hundreds of small searches: the CI tier
def test_on_null_data_re_tuning_rarely_claims_a_flip():
    assert flip_rates(planted=False, n=12) <= 2  # a bare change of the argmax came with 5 of 40 null runs
