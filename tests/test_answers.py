"""Right answers: the comparison's statistics, stored results and the numbers in messages."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.frontends.compare import Run, comparison_table, find_runs, main, noise_statement
from pipeline.reports.words import describe


def a_run(label, seed, test, cv_score=0.9):
    return Run(Path("."), label, seed, "a → b", "accuracy", cv_score, 0.01, test, 10, 1.0, "{}")


# --- the comparison -----------------------------------------------------------------------------


def fake_run_folder(folder: Path, label: str, seed: int, test: float, stages=("s",), cv=2) -> Path:
    """A finished run's folder as the runner writes it: its summary (order=auto's screening row first, when asked),
    test score, winners and Hydra's record of the overrides; no cv_results tables (the comparison reads none)."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(f"- {label}\n- search.seed={seed}\n")
    (folder / ".hydra" / "config.yaml").write_text(f"search:\n  seed: {seed}\n  cv: {cv}\ndataset:\n  test_size: 0.2\n")
    pd.DataFrame({"pass": [1] * len(stages), "stage": list(stages), "winner": ['{"x": 1}'] * len(stages),
                  "mean_score": [0.9] * len(stages), "std_score": [0.01] * len(stages), "fits": [2] * len(stages),
                  "seconds": [1.0] * len(stages)}).to_csv(folder / "summary.csv", index=False)  # fmt: skip
    (folder / "test_score.json").write_text(json.dumps({"metric": "accuracy", "value": test}))
    (folder / "best_params.json").write_text('{"x": 1}')
    return folder


def test_every_run_kind_compares_order_auto_s_screening_and_mixed_cv_included(tmp_path):
    """order=auto's summary starts with the screening row (its table is 00_screen.csv): the comparison read stage
    file index + 1 and crashed after every job of experiment=auto; now it reads no stage table at all."""
    for seed in range(3):
        fake_run_folder(tmp_path / f"auto{seed}", "order=auto", seed, 0.90 + 0.01 * seed, stages=("screen", "s"), cv=3)
        fake_run_folder(tmp_path / f"hand{seed}", "order=default", seed, 0.85 + 0.01 * seed, cv=5)
    runs = find_runs([tmp_path])
    table = comparison_table(runs)
    assert list(table["label"]) == ["order=auto", "order=default"]
    assert "p = " in noise_statement(runs, table)


def test_runs_are_ranked_and_tested_on_held_out_scores_not_their_winning_cv():
    """A strategy that tries more candidates wins a higher maximum CV score; the held-out score is unbiased."""
    runs = [a_run("many", s, test=0.80 + 0.002 * s, cv_score=0.99) for s in range(4)] + \
           [a_run("few", s, test=0.85 + 0.001 * s, cv_score=0.90) for s in range(4)]  # fmt: skip
    table = comparison_table(runs)
    assert list(table["label"]) == ["few", "many"]
    said = noise_statement(runs, table)
    assert said.startswith("few ranks first, many second: mean difference in held-out test accuracy +0.0485")


def test_the_held_out_test_is_corrected_for_overlapping_splits_and_two_sided():
    from scipy import stats

    d = np.array([0.01, 0.03, -0.005, 0.02, 0.015])
    t = d.mean() / np.sqrt(d.var(ddof=1) * (1 / 5 + 0.2 / 0.8))  # Nadeau-Bengio: test_size 0.2 of each seed's rows
    runs = [a_run("A", s, 0.9 + d[s]) for s in range(5)] + [a_run("B", s, 0.9) for s in range(5)]
    assert f"p = {2 * stats.t.sf(abs(t), df=4):.3f}" in noise_statement(runs, comparison_table(runs))
    one = [a_run("A", 0, 0.95), a_run("B", 0, 0.9)]
    assert "one seed cannot tell a difference from the noise" in noise_statement(one, comparison_table(one))


def test_the_compare_cli_prints_what_comparison_md_says(tmp_path, capsys):
    """With runs that differ in ``nuisance=``, the statement is one per setting, on the terminal too."""
    for label, nuisance, folds in [("a", "none", 0.9), ("b", "none", 0.8), ("a", "learning_rate", 0.85),
                                   ("b", "learning_rate", 0.86)]:  # fmt: skip
        folder = tmp_path / f"{label}-{nuisance}"
        (folder / ".hydra").mkdir(parents=True)
        (folder / ".hydra" / "overrides.yaml").write_text(f"- order={label}\n- nuisance={nuisance}\n")
        (folder / ".hydra" / "config.yaml").write_text("search:\n  seed: 0\n  cv: 2\n")  # fmt: skip
        pd.DataFrame({"pass": [1], "stage": ["s"], "winner": ['{"x": 1}'], "mean_score": [folds], "std_score": [0.01],
                      "fits": [2], "seconds": [1.0]}).to_csv(folder / "summary.csv", index=False)  # fmt: skip
        (folder / "cv_results").mkdir()
        pd.DataFrame({"params": ['{"x": 1}'], "mean_test_score": [folds], "split0_test_score": [folds],
                      "split1_test_score": [folds + 0.01]}).to_csv(folder / "cv_results" / "01_s.csv", index=False)  # fmt: skip
        (folder / "test_score.json").write_text(json.dumps({"metric": "accuracy", "value": folds}))
        (folder / "best_params.json").write_text('{"x": 1}')
    assert main([str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    paragraphs = [p for p in (tmp_path / "comparison.md").read_text().split("\n\n") if p.startswith("**nuisance=")]
    assert len(paragraphs) == 2
    for paragraph in paragraphs:
        assert paragraph in printed


# --- stored results are a function of their key -------------------------------------------------


def test_a_fused_candidate_with_dropout_scores_the_same_whatever_the_runs_widest_network(run_tiny):
    """The dropout stage's candidates are the same in both runs; only the neurons grid (the layout's width) differs."""
    common = ("dataset=iris", "order.stages=[dropout,neurons]", "search.engine=fused", "store.mode=off", "model.epochs=3",
              "stages.dropout.grid.model__dropout=[0.0,0.2,0.5]")  # fmt: skip
    narrow, _ = run_tiny(*common, "stages.neurons.grid.model__neurons=[4,8]")
    wide, _ = run_tiny(*common, "stages.neurons.grid.model__neurons=[4,64]")
    a, b = narrow.stages[0].cv_results, wide.stages[0].cv_results
    assert list(a["params"]) == list(b["params"])
    splits = [c for c in a.columns if c.startswith("split") and c.endswith("_test_score")]
    np.testing.assert_allclose(a[splits].to_numpy(float), b[splits].to_numpy(float), atol=1e-6)


def test_a_fit_that_raised_is_not_kept_but_a_diverged_one_is(run_tiny, tmp_path):
    from pipeline.store import Store
    from pipeline.store.candidates import read

    raising = ("dataset=iris", "order.stages=[optimizer]", "stages.optimizer.grid.optimizer=[adam,rmsprop]",
               "+stages.optimizer.grid.optimizer__rho=[0.9]")  # fmt: skip  # Adam takes no rho: its fits raise
    first, _ = run_tiny(*raising, "search.engine=gridsearchcv")  # one fit raising, the others scored: GridSearchCV's
    assert first.stages[0].failed_fits == 2 and first.stages[0].winner["optimizer"] == "rmsprop"
    kept = [read(p)["description"] for p in Store(tmp_path / "stages").candidates.kept()]
    assert [d["params"]["optimizer"] for d in kept] == ["rmsprop"]
    diverging = ("dataset=diabetes", "order.stages=[lr_momentum]", "model.params.optimizer=adam",
                 "stages.lr_momentum.grid.optimizer__learning_rate=[0.01,10000.0]")  # fmt: skip
    run, _ = run_tiny(*diverging)
    assert run.stages[0].failed_fits == 2
    assert len(Store(tmp_path / "stages").candidates.kept()) == 3  # both learning rates kept, the NaN one too


@pytest.mark.parametrize("engine", ["gridsearchcv", "fused"])
def test_all_fits_failed_counts_every_split_of_repeated_cv(run_tiny, engine):
    from pipeline.common.errors import StageFailed

    with pytest.raises(StageFailed, match="all 8 fits failed"):
        run_tiny("dataset=iris", "order.stages=[optimizer]", "stages.optimizer.grid.optimizer=[adam,nadam]",
                 "+stages.optimizer.grid.optimizer__rho=[0.9]", "search.repeats=2", f"search.engine={engine}")


def test_all_fits_failed_counts_a_fused_race_s_models_once(run_tiny):
    """Raced on the fused engine, a survivor goes on training the same model: 3 candidates × 2 folds = 6 fits."""
    from pipeline.common.errors import StageFailed

    with pytest.raises(StageFailed, match="all 6 fits failed; first cause: training diverged"):
        run_tiny("dataset=diabetes", "order.stages=[lr_momentum]", "model.params.optimizer=adam", "model.epochs=3",
                 "stages.lr_momentum.grid.optimizer__learning_rate=[10000.0,100000.0,1000000.0]", "search.racing=halving",
                 "search.engine=fused")  # fmt: skip


# --- nuisance re-tuning -------------------------------------------------------------------------


def test_nuisance_finds_the_frozen_value_to_the_last_digit_and_plans_what_it_fits():
    from pipeline.search.strategies.grid import FullGrid
    from pipeline.search.strategies.nuisance import Retuned, aggregate, nuisance_grid

    lr = "optimizer__learning_rate"
    frozen = {lr: 0.0012345678}
    grid = nuisance_grid({lr: {"factors": [0.333, 1.0, 3.0]}}, frozen)
    assert frozen[lr] in grid[lr]
    params = [{"model__depth": 1, lr: v} for v in grid[lr]]
    columns = {"params": params, "mean_test_score": [0.7, 0.8, 0.6], "std_test_score": [0.01] * 3,
               "mean_test_epochs_run": [3.0] * 3}  # fmt: skip
    assert pd.DataFrame(aggregate(columns, [lr], frozen))["mean_test_score_at_frozen"].tolist() == [0.8]
    # factors that give one value (a frozen 0) are planned once, as they are fitted once
    retuned = Retuned(FullGrid(), {lr: {"factors": [0.333, 1.0, 3.0]}})
    assert retuned.planned(4, {lr: 0.0}) == 4 and retuned.planned(4, {lr: 0.01}) == 12


def test_a_worker_s_xla_flags_are_xla_flags(monkeypatch):
    """XLA refuses an unknown ``--`` flag and silently ignores a bare word: every token must be a real flag."""
    import subprocess
    import sys

    from pipeline.engines.execution import thread_cap_env

    monkeypatch.delenv("XLA_FLAGS", raising=False)
    flags = thread_cap_env(1)["XLA_FLAGS"].split()
    assert flags and all(f.startswith("--xla_") for f in flags)
    env = {k: v for k, v in __import__("os").environ.items() if k != "XLA_FLAGS"} | {"XLA_FLAGS": " ".join(flags)}
    proc = subprocess.run([sys.executable, "-c", "import jax.numpy as j; print(float(j.ones(3).sum()))"], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.stdout.strip() == "3.0", proc.stderr


# --- messages that point the right way --------------------------------------------------------------


def test_a_one_row_file_is_too_few_rows_not_a_target_leak(tmp_path):
    from pipeline.common.errors import UserError
    from pipeline.config.schema import DatasetSpec
    from pipeline.data import load_dataset

    (tmp_path / "one.csv").write_text("a,b,y\n1,2,1\n")
    with pytest.raises(UserError, match=r"1 data row with a target; a search needs at least 6 .*; add rows$"):
        load_dataset(DatasetSpec("file", path=str(tmp_path / "one.csv"), target="y"))


def test_an_integer_class_of_one_row_names_regression_as_a_way_out():
    from pipeline.common.errors import UserError
    from pipeline.common.records import Dataset
    from pipeline.data import split

    y = pd.Series([1, 1, 2, 2, 3, 3, 7])
    data = Dataset("t", pd.DataFrame({"a": range(7)}), y, "multiclass")
    with pytest.raises(UserError, match="class '7' has 1 row.*set dataset.task=regression"):
        split(data, 0.3, 0)
    labels = Dataset("t", data.X, y.map(lambda v: f"c{v}"), "multiclass")
    with pytest.raises(UserError, match="add rows or drop the class$"):
        split(labels, 0.3, 0)


def test_options_after_overrides_are_one_line_that_shows_the_order():
    from pipeline.__main__ import options_after_overrides

    assert options_after_overrides(["-m", "search.cv=2", "search.seed=0,1"]) is None
    assert options_after_overrides(["search.cv=2", "-m", "search.seed=0,1"]) == (
        "-m comes after the overrides; put options first: python -m pipeline -m search.cv=2 search.seed=0,1")


# --- the store acts only on what it wrote ----------------------------------------------------------


def _project(tmp_path):
    for name in ("src", "tests", "data"):
        (tmp_path / "project" / name).mkdir(parents=True)
        (tmp_path / "project" / name / "keep.txt").write_text("mine")
    return tmp_path / "project"


@pytest.mark.parametrize("command", [["list"], ["prune", "--damaged"], ["prune", "--older-than", "0"],
                                     ["prune", "--keep-last", "0"]])  # fmt: skip
def test_the_store_cli_refuses_a_folder_that_is_not_a_store_and_touches_nothing(tmp_path, capsys, command):
    from pipeline.store.cli import main as store_main

    project = _project(tmp_path)
    assert store_main(["--dir", str(project), *command]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: --dir {project}: not a stage store") and "\n" not in err
    assert sorted(p.name for p in project.iterdir()) == ["data", "src", "tests"]


def test_a_store_prunes_only_its_own_entries(tmp_path, capsys):
    from pipeline.store import Store
    from pipeline.store.cli import main as store_main
    from tests.test_store import DESCRIPTION, KEY, a_result

    store = Store(tmp_path / "stages").stages
    store.put(KEY, DESCRIPTION, a_result())
    (tmp_path / "stages" / "notes").mkdir()  # the user's own folder inside the store
    (tmp_path / "stages" / KEY / "checksum").unlink()  # damaged
    assert store_main(["--dir", str(tmp_path / "stages"), "list"]) == 0
    assert "1 damaged entry" in capsys.readouterr().out
    assert store_main(["--dir", str(tmp_path / "stages"), "prune", "--damaged"]) == 0
    assert sorted(p.name for p in (tmp_path / "stages").iterdir() if not p.name.startswith(".")) == ["notes"]


@pytest.mark.parametrize("field, value", [("created", 5), ("created", "yesterday"), ("winner", "depth=2"),
                                          ("mean_score", "high"), ("fits", None)])  # fmt: skip
def test_an_entry_of_the_wrong_shape_is_damaged_listed_and_pruned(tmp_path, capsys, field, value):
    import hashlib

    from pipeline.store import Store
    from pipeline.store.cli import main as store_main
    from tests.test_store import DESCRIPTION, KEY, a_result

    store = Store(tmp_path).stages
    store.put(KEY, DESCRIPTION, a_result())
    entry = tmp_path / KEY
    record = json.loads((entry / "result.json").read_text())
    (entry / "result.json").write_text(json.dumps(record | {field: value}))
    names = sorted(p.name for p in entry.iterdir() if p.name != "checksum")  # a checksum that matches the edit
    digest = hashlib.sha256(b"".join(n.encode() + b"\0" + (entry / n).read_bytes() + b"\0" for n in names))
    (entry / "checksum").write_text(digest.hexdigest() + "\n")
    assert store.inspect(KEY).damage.startswith(f"result.json: {field} is")
    assert store.get(KEY) is None  # a run recomputes it
    store.put(KEY, DESCRIPTION, a_result())
    (entry / "result.json").write_text(json.dumps(record | {field: value}))
    (entry / "checksum").write_text(digest.hexdigest() + "\n")
    assert store_main(["--dir", str(tmp_path), "list"]) == 0
    assert "damaged" in capsys.readouterr().out
    assert store_main(["--dir", str(tmp_path), "prune", "--older-than", "1"]) == 0
    assert store_main(["--dir", str(tmp_path), "prune", "--damaged"]) == 0
    assert not entry.exists()


def test_candidate_locks_are_a_fixed_few_whatever_the_number_of_candidates(tmp_path):
    import resource

    from pipeline.store import Store
    from pipeline.store.candidates import LOCKS
    from pipeline.store.keys import stage_key

    keys = [stage_key({"candidate": i}) for i in range(3000)]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(512, hard), hard))
    try:
        store = Store(tmp_path).candidates
        with store.computing(keys):
            for key in keys[:5]:
                store.put(key, {"k": key}, {"split0_test_score": 0.5})
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert store.mode == "readwrite"  # EMFILE would have stopped it keeping candidates
    assert 0 < len(list((tmp_path / ".locks").glob("candidates-*.lock"))) <= LOCKS  # the store's one lock folder
    assert len(store.lookup(keys[:5])) == 5


def test_prune_unlinks_a_stage_lock_only_while_holding_it_and_a_waiter_takes_a_fresh_one(tmp_path):
    import threading

    from pipeline.store import Store

    store = Store(tmp_path).stages
    key = "e" * 64
    entered, order = threading.Event(), []
    with store.locks.hold(key):
        def waiter():
            with store.locks.hold(key):
                order.append("waiter")
                entered.set()

        thread = threading.Thread(target=waiter)
        thread.start()
        import time

        time.sleep(0.2)
        (tmp_path / ".locks" / f"{key}.lock").unlink()  # prune's unlink, done while the lock is held
        order.append("holder")
    thread.join(5)
    assert order == ["holder", "waiter"] and entered.is_set()
    # the waiter re-took the lock on a file that exists: a third process would wait on the same one
    assert (tmp_path / ".locks" / f"{key}.lock").is_file()


# --- numbers as the type each parameter takes ---------------------------------------------------------


def test_numbers_are_normalised_once_to_the_type_each_parameter_takes():
    from pipeline.search.strategies.plan import staged
    from pipeline.store import describe_stage, stage_key
    from tests.conftest import spec_for

    spec = spec_for("stages.lr_momentum.grid.optimizer__momentum=[0,0.5]", "stages.neurons.grid.model__neurons=[4.0,8]",
                    "model.params.model__dropout=0", "stages.dropout.grid.model__dropout=[0,0.0,0.2]")  # fmt: skip
    assert spec.stages["lr_momentum"].grid["optimizer__momentum"] == [0.0, 0.5]
    assert all(type(v) is float for v in spec.stages["lr_momentum"].grid["optimizer__momentum"])
    assert spec.stages["neurons"].grid["model__neurons"] == [4, 8] and type(spec.stages["neurons"].grid["model__neurons"][0]) is int
    assert spec.stages["dropout"].grid["model__dropout"] == [0.0, 0.2] and type(spec.model.params["model__dropout"]) is float
    spelled = spec_for("stages.lr_momentum.grid.optimizer__momentum=[0.0,0.5]", "model.params.model__dropout=0.0")
    run = {"data": "same"}
    for a, b in zip(staged(spec)[:2], staged(spelled)[:2]):
        assert stage_key(describe_stage(run, a, {}, spec.conditions(), spec.model.params)) == \
            stage_key(describe_stage(run, b, {}, spelled.conditions(), spelled.model.params))  # fmt: skip


@pytest.mark.parametrize("engine", ["gridsearchcv", "fused"])
def test_an_integer_momentum_trains_on_both_engines(run_tiny, engine):
    result, _ = run_tiny("dataset=iris", "order.stages=[lr_momentum]", "model.params.optimizer=sgd",
                         "stages.lr_momentum.grid.optimizer__momentum=[0,0.5]", f"search.engine={engine}")  # fmt: skip
    assert result.stages[0].failed_fits == 0 and np.isfinite(result.test_score)


def test_a_stored_winner_that_cannot_be_refit_names_its_stage_and_store_key(run_tiny, tmp_path, capsys):
    """A winner stored by an older version (an integer momentum, which Keras' SGD refuses) is no dead end."""
    import hashlib

    from pipeline.common.errors import UserError
    from pipeline.store.cli import main as store_main

    one = ("dataset=iris", "order.stages=[lr_momentum]", "model.params.optimizer=sgd",
           "stages.lr_momentum.grid.optimizer__momentum=[0.0,0.5]")  # fmt: skip
    first, _ = run_tiny(*one)
    entry = tmp_path / "stages" / first.stages[0].key
    record = json.loads((entry / "result.json").read_text())
    (entry / "result.json").write_text(json.dumps(record | {"winner": {"optimizer__learning_rate": 0.01,
                                                                       "optimizer__momentum": 0}}))  # fmt: skip
    names = sorted(p.name for p in entry.iterdir() if p.name != "checksum")
    digest = hashlib.sha256(b"".join(n.encode() + b"\0" + (entry / n).read_bytes() + b"\0" for n in names))
    (entry / "checksum").write_text(digest.hexdigest() + "\n")
    with pytest.raises(UserError) as caught:
        run_tiny(*one)
    message = str(caught.value)
    assert message.startswith("the final refit with ") and "momentum=0 failed (`momentum` must be a float" in message
    assert f"lr_momentum (store key {entry.name[:12]})" in message and f"prune --key {entry.name[:12]}" in message
    assert store_main(["--dir", str(tmp_path / "stages"), "prune", "--key", entry.name[:12]]) == 0
    again, _ = run_tiny(*one)
    assert not again.stages[0].reused and np.isfinite(again.test_score)


def test_a_race_whose_last_rung_trains_fewer_epochs_says_so(run_tiny):
    from tests.test_racing import NINE

    short, _ = run_tiny(*NINE, "model.epochs=2", "search.racing=halving", "search.engine=fused")
    assert "its last rung trained 1 of model.epochs=2 epochs" in describe(short.stages[0].decision)
    full, _ = run_tiny(*NINE, "search.racing=halving", "search.engine=fused")
    assert full.stages[0].decision.rungs == ((9, 1), (3, 3), (1, 9)) and not full.stages[0].decision.notes


# --- interruptions and internal errors say where they came and what they mean ------------------------


class _CtrlC(__import__("pipeline.reports.observers", fromlist=["Observer"]).Observer):
    """Ctrl+C pressed while an observer works (writing a stage's table, an MLflow upload)."""

    def __init__(self, at: str):
        self.at = at

    def stage_finished(self, index, result):
        if self.at == "stage_finished":
            raise KeyboardInterrupt


@pytest.mark.parametrize("at", ["stage_finished", "after"])
def test_an_interruption_outside_a_stage_says_where_it_came_and_what_was_kept(tmp_path, at):
    from pipeline import engines
    from pipeline.reports.files import RunFolder
    from pipeline.reports.observers import Observers
    from pipeline.search import runner
    from tests.conftest import NullDisplay, spec_for

    spec = spec_for(f"store.dir={tmp_path / 'stages'}", "dataset=iris", "order.stages=[optimizer,depth]",
                    "search.engine=fused")  # fmt: skip
    progress = runner.Progress()
    assert progress.where == "before the first stage started; nothing was lost"
    display = NullDisplay()
    with engines.create(spec, display.note) as engine:
        if at == "stage_finished":
            with pytest.raises(KeyboardInterrupt):
                runner.run(spec, engine, Observers(display, RunFolder(), _CtrlC(at)), tmp_path, progress)
            assert progress.where == ("while writing the results of stage 1/2 (optimizer); 1 completed stage stored; "
                                      "run the same command to resume")  # fmt: skip
        else:
            runner.run(spec, engine, Observers(display, RunFolder()), tmp_path, progress)
            assert progress.where.startswith(f"after the run finished, while closing; its run folder {tmp_path} is "
                                             "complete")  # fmt: skip


def test_a_bug_inside_the_fused_program_is_an_internal_error_not_a_config_error(run_tiny, monkeypatch):
    from pipeline.common.errors import InternalError, StageFailed
    from pipeline.engines import fused_models

    def broken(*args, **kwargs):
        raise IndexError("index 7 is out of bounds for axis 0 with size 4")

    monkeypatch.setattr(fused_models, "run_models", broken)
    with pytest.raises(InternalError) as caught:
        run_tiny("dataset=iris", "order.stages=[optimizer]", "search.engine=fused", "store.mode=off")
    assert caught.value.exit_code == 3 and "IndexError: index 7" in str(caught.value) and "not your config" in str(caught.value)

    def refused(*args, **kwargs):
        raise ValueError("Argument(s) not recognized: {'rho': 0.9}")

    monkeypatch.setattr(fused_models, "run_models", refused)
    with pytest.raises(StageFailed) as caught:
        run_tiny("dataset=iris", "order.stages=[optimizer]", "search.engine=fused", "store.mode=off")
    assert caught.value.exit_code == 2


def test_an_internal_error_on_the_command_line_is_one_line_exit_3_with_the_log(tmp_path):
    """A bug planted where a user cannot reach (the winner pick raises), through the real CLI."""
    from tests.conftest import FAST, run_cli

    (tmp_path / "plant").mkdir()
    (tmp_path / "plant" / "sitecustomize.py").write_text(
        "import pipeline.stats.selection\n"
        "def broken(*args, **kwargs):\n    raise RuntimeError('planted bug')\n"
        "pipeline.stats.selection.pick_winner = broken\n")  # fmt: skip
    from tests.conftest import ROOT

    out = tmp_path / "run"
    proc = run_cli(*FAST, "dataset=iris", "order.stages=[optimizer]", "search.engine=fused", f"hydra.run.dir={out}",
                   "store.mode=off", cwd=tmp_path, env={"PYTHONPATH": f"{tmp_path / 'plant'}:{ROOT}"})  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0] == ("error: internal error (RuntimeError: planted bug); this is a bug, not your "
                                            f"config or data; the traceback is in {out / 'pipeline.log'}")  # fmt: skip
    assert "Traceback (most recent call last)" in (out / "pipeline.log").read_text()
