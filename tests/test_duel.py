"""The final duel: did tuning beat the starting configuration, and the guard that keeps the start when it did not."""
import json

import numpy as np
import pytest

from pipeline.significance import corrected_ttest, interval

DUEL = ("search.final_repeats=2", "search.guard=true")
ONE_STAGE = ("order.stages=[lr_momentum]", "model.params.optimizer=adam")


def test_a_tuning_that_pays_is_kept_and_says_its_gain(run_tiny, tmp_path):
    """A start that cannot learn (learning rate 1e-7) against a tuned one that can: the gain is beyond the noise."""
    result, _ = run_tiny(*ONE_STAGE, *DUEL, "model.params.optimizer__learning_rate=0.0000001",
                         "stages.lr_momentum.grid.optimizer__learning_rate=[0.0000001,0.05]", "model.epochs=5")  # fmt: skip
    duel = result.duel
    assert duel.splits == 2 * 2 and duel.fits == 8  # cv=2 folds x 2 repeats, two configurations
    assert duel.start["optimizer__learning_rate"] == 1e-7 and duel.tuned["optimizer__learning_rate"] == 0.05
    assert duel.gain > 0.1 and duel.beyond_noise and not duel.kept_start and duel.p_value < 0.05
    assert result.best_params["optimizer__learning_rate"] == 0.05
    written = json.loads((tmp_path / "duel.json").read_text())
    assert written["says"].startswith(f"tuning gained {duel.gain:+.4f} ± {duel.half_width:.4f} accuracy")


def test_the_guard_keeps_the_start_when_tuning_is_within_the_noise(run_tiny):
    """The stage can only pick a learning rate that trains as the start's does (0.0101 vs 0.01): no gain beyond
    the noise, so the start is refit."""
    args = (*ONE_STAGE, "model.params.optimizer__learning_rate=0.01", "model.epochs=1",
            "stages.lr_momentum.grid.optimizer__learning_rate=[0.0101]")  # fmt: skip
    guarded, _ = run_tiny(*args, *DUEL)
    assert guarded.stages[0].winner["optimizer__learning_rate"] == 0.0101
    assert guarded.duel.splits == 4 and not guarded.duel.beyond_noise and guarded.duel.kept_start and guarded.best_params["optimizer__learning_rate"] == 0.01
    unguarded, _ = run_tiny(*args, "search.final_repeats=2", "search.guard=false")
    assert not unguarded.duel.kept_start and unguarded.best_params["optimizer__learning_rate"] == 0.0101
    assert unguarded.duel.gain == guarded.duel.gain  # the same duel, read back from the candidate store


def test_the_duel_s_fits_are_read_back_on_a_rerun(run_tiny):
    args = (*ONE_STAGE, *DUEL, "stages.lr_momentum.grid.optimizer__learning_rate=[0.001,0.05]")
    first, _ = run_tiny(*args)
    again, _ = run_tiny(*args)
    assert first.duel.fits == 8 and first.duel.fits_reused < 8 and again.duel.fits_reused == 8
    assert again.duel.gain == first.duel.gain and again.duel.p_value == first.duel.p_value


def test_gridsearchcv_duels_the_same_way(run_tiny):
    result, _ = run_tiny(*ONE_STAGE, *DUEL, "search.engine=gridsearchcv", "model.params.optimizer__learning_rate=0.0000001",
                         "stages.lr_momentum.grid.optimizer__learning_rate=[0.0000001,0.05]", "model.epochs=5")  # fmt: skip
    assert result.duel.splits == 4 and result.duel.beyond_noise and result.best_params["optimizer__learning_rate"] == 0.05


def test_no_duel_when_no_stage_changed_anything(run_tiny):
    result, _ = run_tiny(*ONE_STAGE, *DUEL, "stages.lr_momentum.grid.optimizer__learning_rate=[0.001]")
    assert result.duel.splits == 0 and result.duel.fits == 0 and not result.duel.kept_start


@pytest.mark.parametrize("overrides, line", [
    (("search.final_repeats=-1",), "error: search.final_repeats=-1: must be 0 (no final duel) or more, e.g. 3"),
    (("search.final_repeats=0", "search.guard=true"),
     "error: search.guard=True: needs the final duel: set search.final_repeats to 1 or more, or search.guard=false"),
])  # fmt: skip
def test_bad_duel_settings_are_one_line(overrides, line, tmp_path):
    from tests.conftest import run_in_process

    outcome = run_in_process(*overrides, tmp_path=tmp_path)
    assert outcome.exit_code == 2 and outcome.line == line


def test_the_interval_is_the_corrected_t_interval():
    d = np.array([0.02, 0.03, 0.01, 0.04, 0.02, 0.03])
    from scipy import stats

    se = np.sqrt(d.var(ddof=1) * (1 / 6 + 1 / 2))  # 3-fold CV: n_test/n_train = 1/2
    assert interval(d, 3) == pytest.approx(stats.t.ppf(0.975, 5) * se)
    assert corrected_ttest(d, 3, "greater") == pytest.approx(stats.t.sf(d.mean() / se, 5))
