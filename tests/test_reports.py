"""Reports and comparisons: one-SE selection, cyclic passes, report.md charts, multirun comparison."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.frontends.compare import Run, comparison_table, find_runs, main, noise_statement
from pipeline.stats.selection import pick_winner
from tests.conftest import TINY, run_cli


def is_png(path: Path) -> bool:
    data = path.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000


# --- one standard error ----------------------------------------------------------------

TABLE = pd.DataFrame({
    "params": ['{"model__depth": 1}', '{"model__depth": 2}', '{"model__depth": 3}', '{"model__depth": 4}'],
    "mean_test_score": [0.80, 0.90, 0.91, np.nan],
    "std_test_score": [0.01, 0.02, 0.03, np.nan],
})  # fmt: skip


def test_best_picks_the_top_score_and_lists_its_ties():
    winner, ties, why = pick_winner(TABLE, 3, select="best", simpler={"model__depth": "ascending"})
    assert (winner, ties, why) == (2, [1], "best")  # 0.90 >= 0.91 - 0.03 * sqrt(3/2) / sqrt(3)


def test_one_se_picks_the_simplest_candidate_within_one_standard_error_and_says_so():
    winner, ties, why = pick_winner(TABLE, 3, select="one_se", simpler={"model__depth": "ascending"})
    assert winner == 1 and ties == [2]
    assert why == "simplest within one SE (0.0212) of the best 0.9100: depth=2 at 0.9000"


def test_one_se_uses_the_sample_standard_error_of_the_split_scores():
    """scikit-learn's std_test_score is the population SD (ddof=0): at 3 splits its SE is 0.82 of the sample one,
    which would have left depth 1 (0.014 below the best) out of the tie."""
    splits = {"split0_test_score": [0.906, 0.93], "split1_test_score": [0.866, 0.89], "split2_test_score": [0.886, 0.88]}
    table = pd.DataFrame({"params": ['{"model__depth": 1}', '{"model__depth": 2}'], **splits})
    table["mean_test_score"] = table[list(splits)].mean(axis=1)
    table["std_test_score"] = table[list(splits)].std(axis=1, ddof=0)
    sample_se = table.loc[1, list(splits)].astype(float).std(ddof=1) / np.sqrt(3)
    population_se = table.loc[1, "std_test_score"] / np.sqrt(3)
    deficit = table.loc[1, "mean_test_score"] - table.loc[0, "mean_test_score"]
    assert population_se < deficit <= sample_se
    assert pick_winner(table, 3, select="one_se", simpler={"model__depth": "ascending"})[0] == 0


def test_one_se_with_a_preference_list():
    table = TABLE.assign(params=['{"a": "selu"}', '{"a": "tanh"}', '{"a": "relu"}', '{"a": "elu"}'])
    winner, _, why = pick_winner(table, 3, select="one_se", simpler={"a": ["relu", "tanh", "elu", "selu"]})
    assert winner == 2 and why.startswith("best, and the simplest of the 2 within one SE")  # relu: tied and first


@pytest.mark.report
def test_one_se_and_two_passes_on_the_default_dataset(run_tiny, tmp_path):
    result, _ = run_tiny("search.select=one_se", "search.passes=2", "order.stages=[neurons,depth]",
                         "stages.neurons.grid.model__neurons=[2,8,32]")  # fmt: skip
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert summary["pass"].tolist()[:2] == [1, 1] and set(summary["pass"]) <= {1, 2}
    for row, stage in zip(summary.itertuples(), result.stages):
        ties = json.loads(row.ties)
        assert all(isinstance(t, dict) for t in ties)
        table = stage.cv_results
        best = table["mean_test_score"].max()
        se = table.loc[table["mean_test_score"].idxmax(), "std_test_score"] / np.sqrt(2)
        assert stage.mean_score >= best - se - 1e-12  # the winner is within one SE of the best
    # pass 1 moved neurons off the base value (16 is not in the grid), so pass 2 runs, with pass 1's depth frozen
    assert summary["pass"].tolist() == [1, 1, 2, 2]
    assert result.stages[2].frozen["model__depth"] == result.stages[1].winner["model__depth"]
    assert "(pass 2)" in (tmp_path / "report.md").read_text()


def test_passes_stop_when_winners_stop_changing(run_tiny, tmp_path):
    result, _ = run_tiny("search.passes=3", "order.stages=[neurons]", "stages.neurons.grid.model__neurons=[8]",
                         "model.params.model__neurons=8")  # fmt: skip
    assert len(result.stages) == 1  # pass 1 changed nothing, so no pass 2


@pytest.mark.report
def test_report_has_every_chart_as_a_valid_png(run_tiny, tmp_path):
    run_tiny("dataset=iris", "order.stages=[optimizer,depth]")
    report = (tmp_path / "report.md").read_text()
    charts = sorted((tmp_path / "charts").glob("*.png"))
    assert [c.name for c in charts] == ["01_optimizer.png", "02_depth.png", "epochs.png", "path.png"]
    assert all(is_png(c) for c in charts)
    for chart in charts:
        assert f"charts/{chart.name}" in report
    assert "## Early stopping" in report and "fits stopped before" in report


# --- comparisons -----------------------------------------------------------------------


def a_run(label, seed, test):
    return Run(Path("."), label, seed, "a → b", "accuracy", 0.9, 0.01, test, 10, 1.0, "{}")


def test_noise_statement_sees_a_real_gap_and_a_tie():
    clear = [a_run("A", s, 0.90 + 0.001 * s) for s in range(3)] + [a_run("B", s, 0.70 + 0.002 * s) for s in range(3)]
    table = comparison_table(clear)
    assert list(table["label"]) == ["A", "B"]
    assert "exceeds the noise" in noise_statement(clear, table)
    rng = np.random.default_rng(0)
    tie = [a_run(label, s, 0.9 + rng.normal(0, 0.02)) for label in "AB" for s in range(3)]
    assert "within the noise" in noise_statement(tie, comparison_table(tie))


@pytest.mark.multirun
def test_multirun_writes_a_comparison_that_agrees_with_the_runs(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", *TINY, "dataset=iris", "order=default,architecture_first", "search.seed=0,1", "search.engine=fused",
                   f"hydra.sweep.dir={sweep}", cwd=tmp_path, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for name in ("comparison.csv", "comparison.md"):
        assert (sweep / name).is_file()
    assert is_png(sweep / "comparison.png")
    table = pd.read_csv(sweep / "comparison.csv")
    assert set(table["label"]) == {"order=default", "order=architecture_first"}
    assert table["test_mean"].is_monotonic_decreasing and list(table["rank"]) == [1, 2]
    for row in table.itertuples():
        runs = [r for r in find_runs([sweep]) if r.label == row.label]
        summaries = [pd.read_csv(r.folder / "summary.csv") for r in runs]
        assert row.seeds == 2
        assert row.cv_mean == pytest.approx(np.mean([s["mean_score"].iloc[-1] for s in summaries]))
        assert row.fits == pytest.approx(np.mean([s["fits"].sum() for s in summaries]))
        tests = [json.loads((r.folder / "test_score.json").read_text())["value"] for r in runs]
        assert row.test_mean == pytest.approx(np.mean(tests))
    statement = (sweep / "comparison.md").read_text()
    assert f"{table['label'][0]} ranks first, {table['label'][1]} second" in statement
    assert "within the noise" in statement or "exceeds the noise" in statement
    # the same comparison, rebuilt from the finished runs
    assert main([str(sweep), "--out", str(tmp_path / "again")]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "again" / "comparison.csv"), table)


def test_orderings_preset_is_a_multirun_over_orderings_and_seeds():
    from hydra import compose, initialize_config_dir

    from pipeline.config.compose import register

    register()

    from tests.conftest import CONF

    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        cfg = compose(config_name="config", overrides=["experiment=orderings"], return_hydra_config=True)
    assert str(cfg.hydra.mode) == "RunMode.MULTIRUN"
    assert dict(cfg.hydra.sweeper.params) == {"order": "default,architecture_first", "search.seed": "0,1,2"}


def test_the_auto_preset_compares_order_auto_with_the_two_orderings_over_five_seeds():
    from hydra import compose, initialize_config_dir

    from pipeline.config.compose import register
    from tests.conftest import CONF

    register()
    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        cfg = compose(config_name="config", overrides=["experiment=auto"], return_hydra_config=True)
    assert dict(cfg.hydra.sweeper.params) == {"order": "auto,default,architecture_first", "search.seed": "0,1,2,3,4"}


def test_compare_cli_rejects_a_folder_without_runs(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert "no finished runs" in capsys.readouterr().err


def test_the_terminal_summary_fits_80_columns_without_breaking_a_value(tmp_path):
    import io

    from rich.console import Console

    from pipeline.common.records import RunResult, StageResult
    from pipeline.reports.terminal import print_summary

    winners = [{"optimizer": "adam"}, {"optimizer__learning_rate": 0.001, "optimizer__momentum": 0.9},
               {"model__init": "glorot_uniform"}, {"model__activation": "relu"}]  # fmt: skip
    stages = tuple(StageResult(f"stage{i}", tuple(w), {}, w, 0.9758, 0.0083, 9, 27, 0, 123.4, reused=i == 1)
                   for i, w in enumerate(winners))  # fmt: skip
    out = io.StringIO()
    print_summary(Console(file=out, width=80), RunResult(stages, {}, "balanced_accuracy", 0.95, tmp_path))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    text = out.getvalue()
    for value in ("optimizer=adam", "learning_rate=0.001,", "momentum=0.9", "init=glorot_uniform", "reused", "yes"):
        assert value in text, value


def test_every_observer_hears_every_moment(tmp_path):
    from pipeline import engines
    from pipeline.reports.files import RunFolder
    from pipeline.reports.observers import Observers
    from pipeline.search import runner
    from tests.conftest import NullDisplay, spec_for

    first, second = NullDisplay(), NullDisplay()
    spec = spec_for(f"store.dir={tmp_path / 'stages'}", "dataset=iris", "order.stages=[depth]")
    with engines.create(spec, first.note) as engine:
        runner.run(spec, engine, Observers(first, second, RunFolder()), tmp_path)
    for observer in (first, second):
        assert observer.started == [(1, 1, "depth", 4)] and observer.done == 4 and len(observer.finished) == 1
    assert (tmp_path / "report.md").is_file()
