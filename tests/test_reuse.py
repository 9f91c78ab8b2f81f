"""Never fit the same thing twice: candidate reuse, equal budgets, and every decision said in words."""
import json

import pandas as pd
import pytest

TWO_STAGES = ("dataset=iris", "order.stages=[optimizer,depth]")


def rows_by_params(table: pd.DataFrame) -> dict[str, pd.Series]:
    return {p: table.iloc[i] for i, p in enumerate(table["params"])}


def test_the_incumbent_is_read_back_not_trained_again(run_tiny, tmp_path):
    result, display = run_tiny(*TWO_STAGES, "stages.optimizer.grid.optimizer=[sgd,rmsprop]")  # the base adam is out
    optimizer, depth = result.stages
    assert not optimizer.cv_results["reused"].any()
    assert depth.cv_results["reused"].tolist() == [False, True]  # depth=2 with the frozen optimizer: stage 1's winner
    assert depth.fits_reused == 2 and display.done == optimizer.fits + depth.fits  # the progress counts every fit
    again = depth.cv_results.loc[depth.cv_results["reused"]].iloc[0]
    first = rows_by_params(optimizer.cv_results)[json.dumps(optimizer.winner, sort_keys=True)]
    for column in ("split0_test_score", "split1_test_score", "mean_test_epochs_run"):
        assert again[column] == first[column]  # the same evaluation, read back
    assert json.loads(again["params"]) == {"model__depth": 2}  # the base depth, with stage 1's optimizer frozen:
    assert depth.frozen["optimizer"] == optimizer.winner["optimizer"] != "adam"  # the very candidate stage 1 scored
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert summary["fits_reused"].tolist() == [0, 2]


def test_reuse_changes_no_winner_and_no_score(run_tiny, tmp_path):
    reused, _ = run_tiny(*TWO_STAGES, "search.seed=3")
    fresh, _ = run_tiny(*TWO_STAGES, "search.seed=3", "store.mode=off")
    assert [r.winner for r in reused.stages] == [r.winner for r in fresh.stages]
    assert [r.mean_score for r in reused.stages] == pytest.approx([r.mean_score for r in fresh.stages], abs=1e-6)
    assert reused.stages[1].fits_reused == 2 and fresh.stages[1].fits_reused == 0


def test_a_damaged_candidate_is_reported_and_evaluated_again(run_tiny, tmp_path):
    run_tiny(*TWO_STAGES, "search.engine=fused")  # the candidate store is the same for both engines
    for path in (tmp_path / "stages" / ".candidates").glob("*/*.json"):
        path.write_text(path.read_text().replace('"split0_test_score": ', '"split0_test_score": 1'))
    for entry in (tmp_path / "stages").iterdir():  # stage entries gone, so the stages are computed again
        if not entry.name.startswith("."):
            import shutil

            shutil.rmtree(entry)
    result, display = run_tiny(*TWO_STAGES, "search.engine=fused")
    assert any("candidate" in note and "corrupt" in note for note in display.notes)
    assert not result.stages[0].cv_results["reused"].any()


@pytest.mark.parametrize("engine", ["gridsearchcv", "fused"])
def test_only_new_candidates_are_trained(run_tiny, engine):
    first, _ = run_tiny("dataset=iris", "order.stages=[depth]", f"search.engine={engine}")
    wider, display = run_tiny("dataset=iris", "order.stages=[depth]", "stages.depth.grid.model__depth=[1,2,3]",
                              f"search.engine={engine}")  # fmt: skip
    table = wider.stages[0].cv_results
    assert table["reused"].tolist() == [True, True, False]
    assert list(table["rank_test_score"]).count(1) >= 1 and sorted(table["rank_test_score"])[0] == 1
    stored = rows_by_params(first.stages[0].cv_results)
    for i in (0, 1):
        assert table.iloc[i]["mean_test_score"] == stored[table.iloc[i]["params"]]["mean_test_score"]


def test_the_baselines_get_the_most_the_staged_search_can_evaluate_known_before_any_stage(run_tiny):
    space = ("dataset=iris", "order.stages=[optimizer,lr_momentum]",
             "stages.lr_momentum.grid.optimizer__learning_rate=[0.01,0.1]", "search.engine=fused")  # fmt: skip
    staged, _ = run_tiny(*space)
    for baseline in ("random", "tpe"):
        found, display = run_tiny(*space, f"search.strategy={baseline}")
        assert not display.notes  # resolved with the plan: nothing replayed through the store
        assert found.stages[0].candidates == 2 + 2 * 2  # two optimizers, then the sgd branch: 2 lr x 2 momenta
        assert found.stages[0].candidates >= sum(r.candidates for r in staged.stages)


def test_most_candidates_counts_each_stage_at_the_frozen_values_that_let_most_in():
    from pipeline.common.space import most_candidates

    conditions = {"momentum": {"optimizer": ["sgd"]}}
    grids = [{"optimizer": ["adam", "sgd"]}, {"lr": [0.01, 0.1], "momentum": [0.0, 0.9]}]
    assert most_candidates(grids, {"optimizer": "adam", "lr": 0.01, "momentum": 0.0}, conditions) == 2 + 4
    assert most_candidates(grids[1:], {"optimizer": "adam", "lr": 0.01, "momentum": 0.0}, conditions) == 2  # adam, frozen


# --- every decision in words --------------------------------------------------------------------


@pytest.mark.report
def test_every_stage_says_why_its_winner_won_and_a_rerun_reads_it_back(run_tiny, tmp_path):
    result, _ = run_tiny(*TWO_STAGES)
    assert all(r.decision.why for r in result.stages)
    assert "Decision: " in (tmp_path / "report.md").read_text()
    assert pd.read_csv(tmp_path / "summary.csv")["decision"].notna().all()
    again, _ = run_tiny(*TWO_STAGES)  # read back from the stage store: the same record
    assert all(r.reused for r in again.stages) and [r.decision for r in again.stages] == [r.decision for r in result.stages]


def test_a_store_that_cannot_keep_candidates_says_so_once_and_the_run_goes_on(run_tiny, tmp_path):
    (tmp_path / "stages").mkdir()
    (tmp_path / "stages" / ".candidates").write_text("not a folder")  # every write under it fails, even as root
    result, display = run_tiny(*TWO_STAGES)
    said = [note for note in display.notes if "cannot keep evaluated candidates" in note]
    assert len(said) == 1 and len(result.stages) == 2
    assert not result.stages[1].cv_results["reused"].any()  # nothing kept, so nothing read back


def test_the_store_cli_lists_and_prunes_candidates(run_tiny, tmp_path, capsys):
    from pipeline.store.cli import main

    run_tiny(*TWO_STAGES)
    store = tmp_path / "stages"
    kept = sorted((store / ".candidates").glob("*/*.json"))
    assert len(kept) == 3  # adam, sgd; depth 2 with the winner is stage 1's, depth 1 is new
    assert main(["--dir", str(store), "list"]) == 0 and "3 evaluated candidates kept" in capsys.readouterr().out
    damaged = kept[0]
    damaged.write_text(damaged.read_text()[:-5])
    assert main(["--dir", str(store), "prune", "--damaged", "--dry-run"]) == 0 and damaged.exists()
    assert main(["--dir", str(store), "prune", "--damaged"]) == 0
    assert sorted((store / ".candidates").glob("*/*.json")) == kept[1:]
    assert main(["--dir", str(store), "prune", "--older-than", "0"]) == 0
    assert not list((store / ".candidates").glob("*/*.json"))
