"""The stage store on disk: keys, atomic entries, reuse across runs and orderings, faults."""
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from pipeline.common.records import StageResult
from pipeline.store import Store, canonical, stage_key
from pipeline.store.cli import main
from tests.conftest import ROOT, TINY, spec_for

DESCRIPTION = {
    "dataset": {"fingerprint": "abc", "task": "binary"},
    "frozen": {"optimizer": "adam", "optimizer__learning_rate": 0.001},
    "stage": {"name": "depth", "grid": {"model__depth": [1, 2]}},
    "search": {"cv": 2, "metric": "accuracy", "seed": 0},
    "versions": {"keras": "3.0"},
}


KEY = stage_key(DESCRIPTION)


def a_result(**changes) -> StageResult:
    table = pd.DataFrame({"params": ['{"model__depth": 1}', '{"model__depth": 2}'], "mean_test_score": [0.8, 0.9]})
    values = dict(stage="depth", tuned=("model__depth",), frozen={"optimizer": "adam"}, winner={"model__depth": 2},
                  mean_score=0.9, std_score=0.01, candidates=2, fits=4, failed_fits=0, seconds=3.5, cv_results=table)  # fmt: skip
    return StageResult(**{**values, **changes})


def changed(path: str, value) -> dict:
    description = json.loads(json.dumps(DESCRIPTION))
    *parents, last = path.split(".")
    node = description
    for part in parents:
        node = node[part]
    node[last] = value
    return description


# --- keys ---------------------------------------------------------------------------


def test_key_ignores_dict_order_and_float_spelling():
    reordered = dict(reversed(list(DESCRIPTION.items())))
    assert stage_key(reordered) == stage_key(DESCRIPTION)
    assert stage_key(changed("frozen.optimizer__learning_rate", 1e-3)) == stage_key(DESCRIPTION)
    assert stage_key(changed("frozen.optimizer__learning_rate", float("0.0010"))) == stage_key(DESCRIPTION)
    assert canonical({"b": 1, "a": 0.5}) == {"a": {"float": "0.5"}, "b": 1}


def first_stage_key(*overrides: str) -> str:
    """The key the runner gives the first stage of a composed config (its own functions, not a hand-made dict)."""
    from pipeline import data, engines
    from pipeline.config.scoring import scoring_for
    from pipeline.search.strategies.plan import plan
    from pipeline.store import describe_run, describe_stage

    spec = spec_for("dataset=iris", *overrides)
    train, _ = data.split(data.load_dataset(spec.dataset), spec.dataset.test_size, spec.search.seed)
    engine = engines.create(spec, print)  # not entered: its identity needs no Keras
    shared = describe_run(spec, train, data.PREPROCESSING_VERSION, scoring_for(spec.search, train.task, train.y),
                          engine.identity())  # fmt: skip
    stage, strategy = plan(spec)[0]
    return stage_key(describe_stage(shared, stage, strategy.identity(), spec.conditions(), dict(spec.model.params)))


@pytest.mark.parametrize("override", [
    "dataset=wine", "dataset.test_size=0.3", "search.seed=1", "search.cv=3", "search.repeats=2",
    "search.scoring=balanced_accuracy", "search.engine=gridsearchcv", "search.racing=halving", "nuisance=learning_rate",
    "model.epochs=3", "model.batch_size=16", "model.early_stopping.enabled=true", "model.params.model__depth=1",
    "stages.optimizer.grid.optimizer=[adam,rmsprop]", "execution.keras_backend=tensorflow", "search.select=best",
    "stages.optimizer.simpler.optimizer=[adam,sgd]",
])  # fmt: skip
def test_every_setting_that_decides_a_result_reaches_the_key(override):
    assert first_stage_key(override) != first_stage_key()


@pytest.mark.parametrize("override", [
    "model.params.optimizer__learning_rate=1e-3", "search.n_jobs=2", "store.mode=readonly", "tracking=mlflow",
    "model.params.model__dropout=0", "stages.depth.grid.model__depth=[1,3]",
    "search.final_repeats=5",  # the final duel and its guard come after every stage: no stage's result changes
])  # fmt: skip
def test_settings_that_decide_nothing_leave_the_key_alone(override):
    assert first_stage_key(override) == first_stage_key()


def test_key_ignores_the_stage_display_name():
    assert stage_key(changed("stage.name", "layers")) == stage_key(DESCRIPTION)


def test_real_config_keys_are_stable_across_equivalent_overrides():
    a = spec_for("model.params.optimizer__learning_rate=0.001")
    b = spec_for("model.params.optimizer__learning_rate=1e-3")
    assert stage_key({"p": a.model.params}) == stage_key({"p": b.model.params})


# --- entries ------------------------------------------------------------------------


def test_put_then_get_round_trips(tmp_path):
    store = Store(tmp_path).stages
    store.put(KEY, DESCRIPTION, a_result())
    got = store.get(KEY)
    assert got.reused and got.winner == {"model__depth": 2} and got.tuned == ("model__depth",)
    assert got.mean_score == 0.9 and got.seconds == 3.5
    assert list(got.cv_results["mean_test_score"]) == [0.8, 0.9]
    files = sorted(p.name for p in (tmp_path / KEY).iterdir())
    assert files == ["checksum", "cv_results.csv", "description.json", "result.json"]  # no pickles


def test_fetch_or_compute_computes_once(tmp_path):
    store, calls = Store(tmp_path).stages, []
    compute = lambda: calls.append(1) or a_result()  # noqa: E731
    first = store.fetch_or_compute(DESCRIPTION, compute)
    second = store.fetch_or_compute(DESCRIPTION, compute)
    assert len(calls) == 1 and not first.reused and second.reused


@pytest.mark.parametrize("damage", ["truncate_table", "edit_result", "delete_checksum"])
def test_corrupt_entry_is_reported_and_recomputed(tmp_path, damage):
    notes = []
    store = Store(tmp_path, report=notes.append).stages
    store.put(KEY, DESCRIPTION, a_result())
    entry = tmp_path / KEY
    if damage == "truncate_table":
        (entry / "cv_results.csv").write_text("params,mean_te")
    elif damage == "edit_result":
        (entry / "result.json").write_text((entry / "result.json").read_text().replace('"model__depth": 2', '"model__depth": 4'))
    else:
        (entry / "checksum").unlink()
    result = store.fetch_or_compute(DESCRIPTION, lambda: a_result(seconds=1.0))
    assert not result.reused and result.winner == {"model__depth": 2}
    assert len(notes) == 1 and "corrupt" in notes[0] and "\n" not in notes[0]
    assert store.get(KEY).seconds == 1.0  # the recomputed entry replaced the bad one


def test_leftover_temporary_folders_are_ignored_and_cleaned(tmp_path):
    (tmp_path / f".tmp-{KEY}-dead1234").mkdir(parents=True)
    (tmp_path / f".tmp-{KEY}-dead1234" / "result.json").write_text("{")
    store = Store(tmp_path).stages
    assert not (tmp_path / f".tmp-{KEY}-dead1234").exists()
    assert store.get(KEY) is None and store.entries() == []


def test_readonly_and_off_modes_never_write(tmp_path):
    for mode in ("readonly", "off"):
        store = Store(tmp_path / mode, mode).stages
        store.fetch_or_compute(DESCRIPTION, a_result)
        assert not (tmp_path / mode / KEY).exists()
    Store(tmp_path / "rw").stages.put(KEY, DESCRIPTION, a_result())
    assert Store(tmp_path / "rw", "readonly").stages.fetch_or_compute(DESCRIPTION, a_result).reused


def test_one_store_prunes_stages_candidates_and_every_lock_it_made(tmp_path):
    """Stage entries, kept candidates and both kinds of lock live in one folder, and one prune sees them all."""
    store = Store(tmp_path)
    store.stages.put(KEY, DESCRIPTION, a_result())
    other = stage_key({"another": "stage"})
    with store.locks.hold(other):  # a stage that was being computed and never stored: its lock stays behind
        pass
    sound, broken = stage_key({"candidate": 1}), stage_key({"candidate": 2})
    with store.candidates.computing([sound, broken]):
        store.candidates.put(sound, {"c": 1}, {"split0_test_score": 0.5})
        store.candidates.put(broken, {"c": 2}, {"split0_test_score": 0.6})
    damaged = next(p for p in store.candidates.kept() if p.stem == broken)
    damaged.write_text(damaged.read_text().replace("0.6", "0.7"))  # its checksum no longer matches
    legacy = tmp_path / ".candidates" / ".locks" / f"{sound}.lock"  # a per-candidate lock of an earlier version
    legacy.parent.mkdir()
    legacy.touch()
    assert (tmp_path / ".locks" / f"{other}.lock").is_file() and list((tmp_path / ".locks").glob("candidates-*.lock"))
    dry = store.prune(damaged=True, dry_run=True)
    assert (dry.entries, dry.candidates, dry.locks) == ([], 1, 2) and damaged.exists() and legacy.exists()
    pruned = store.prune(damaged=True)
    assert (pruned.entries, pruned.of, pruned.candidates, pruned.locks) == ([], 1, 1, 2)
    assert [p.stem for p in store.candidates.kept()] == [sound] and not legacy.exists()
    assert not (tmp_path / ".locks" / f"{other}.lock").exists() and store.stages.get(KEY) is not None
    assert store.prune(keep_last=0).entries == [(KEY, "depth")] and store.stages.entries() == []


# --- reuse in real runs ---------------------------------------------------------------


def test_same_command_twice_fits_nothing_and_a_changed_grid_reruns_only_what_it_changes(run_tiny, tmp_path):
    """One store, four runs: the same command again fits nothing; a new last grid reruns only the last stage; an upstream
    grid that picks the same winner leaves the downstream stage reusable."""
    first, shown_first = run_tiny("dataset=iris", "order.stages=[optimizer,depth]")
    second, shown_second = run_tiny("dataset=iris", "order.stages=[optimizer,depth]")
    assert shown_first.done == 8 and not any(r.reused for r in first.stages)
    assert shown_second.done == 0 and all(r.reused for r in second.stages)
    assert [r.winner for r in second.stages] == [r.winner for r in first.stages]
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert summary["reused"].all() and (summary["seconds_saved"] > 0).all()
    last, _ = run_tiny("dataset=iris", "order.stages=[optimizer,depth]", "stages.depth.grid.model__depth=[1,3]")
    assert [r.reused for r in last.stages] == [True, False]
    winner = first.stages[0].winner["optimizer"]
    upstream, _ = run_tiny("dataset=iris", "order.stages=[optimizer,depth]", f"stages.optimizer.grid.optimizer=[{winner}]")
    assert [r.reused for r in upstream.stages] == [False, True]


def test_orderings_share_their_common_prefix(run_tiny):
    fused = "search.engine=fused"  # the store works the same for both engines; fused is quicker
    run_tiny("dataset=iris", "order.stages=[optimizer,activation,depth]", fused)
    other, shown = run_tiny("dataset=iris", "order.stages=[optimizer,activation,neurons]", fused)
    assert [r.reused for r in other.stages] == [True, True, False]
    assert shown.done == 4  # only the neurons stage was fitted


# --- processes: SIGKILL then resume, and a race for one key ----------------------------

SLOW_STAGES = [*TINY, "dataset=breast_cancer", "model.epochs=30", "order.stages=[optimizer,neurons,depth]",
               "stages.neurons.grid.model__neurons=[4,8,16,32]"]  # fmt: skip


def start_cli(*args: str, cwd) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("KERAS_BACKEND", None)
    return subprocess.Popen([sys.executable, "-m", "pipeline", *args], cwd=cwd, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def stored_entries(store_dir) -> list:
    return [p for p in store_dir.iterdir() if not p.name.startswith(".")] if store_dir.is_dir() else []


def test_two_processes_racing_for_one_key_compute_it_once(tmp_path):
    args = [*SLOW_STAGES, "order.stages=[neurons]"]
    racers = [start_cli(*args, f"hydra.run.dir={tmp_path / name}", cwd=tmp_path) for name in ("a", "b")]
    for proc in racers:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    reused = [bool(pd.read_csv(tmp_path / name / "summary.csv")["reused"][0]) for name in ("a", "b")]
    assert sorted(reused) == [False, True]
    kinds = sorted(json.loads((e / "result.json").read_text())["stage"] for e in stored_entries(tmp_path / "stages"))
    assert kinds == ["final", "neurons"]  # one stage entry, one final-refit entry: each computed once


# --- python -m pipeline.store -----------------------------------------------------------


def test_store_cli_list_show_prune(tmp_path, capsys):
    store = Store(tmp_path).stages
    for i, key in enumerate(k.ljust(64, "0") for k in ["aaa111", "bbb222", "ccc333"]):
        store.put(key, DESCRIPTION, a_result(stage=f"s{i}"))  # created: microsecond stamps, newest last
    assert main(["--dir", str(tmp_path), "list"]) == 0
    listing = capsys.readouterr().out
    assert all(s in listing for s in ("aaa111", "s0", "s2", "depth=2", "0.9000"))
    assert main(["--dir", str(tmp_path), "show", "bbb"]) == 0
    shown = capsys.readouterr().out
    assert "bbb222" in shown and "description.json" in shown and "mean_test_score" in shown
    assert main(["--dir", str(tmp_path), "show", "zzz"]) == 2
    assert main(["--dir", str(tmp_path), "prune", "--keep-last", "1", "--dry-run"]) == 0
    assert len(store.entries()) == 3
    assert main(["--dir", str(tmp_path), "prune", "--keep-last", "1"]) == 0
    assert [e.key for e in store.entries()] == ["ccc333".ljust(64, "0")]
    assert main(["--dir", str(tmp_path), "prune", "--older-than", "0"]) == 0
    assert store.entries() == []


def test_warm_rerun_reuses_the_final_refit_without_importing_keras(tmp_path):
    args = [*TINY, "dataset=iris", "order.stages=[depth]"]
    first = subprocess.run([sys.executable, "-m", "pipeline", *args, f"hydra.run.dir={tmp_path / 'a'}"], cwd=tmp_path,
                           capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert first.returncode == 0, first.stderr
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONPROFILEIMPORTTIME": "1"}
    second = subprocess.run([sys.executable, "-m", "pipeline", *args, f"hydra.run.dir={tmp_path / 'b'}"], cwd=tmp_path,
                            capture_output=True, text=True, env=env)  # fmt: skip
    assert second.returncode == 0
    log = (tmp_path / "b" / "pipeline.log").read_text()
    assert "| matplotlib" in log  # import-time lines of the run went to the run log...
    assert "| keras" not in log and "| tensorflow" not in log  # ...and Keras was never imported
    assert (tmp_path / "b" / "model.keras").read_bytes() == (tmp_path / "a" / "model.keras").read_bytes()
    assert json.loads((tmp_path / "b" / "test_score.json").read_text()) == json.loads((tmp_path / "a" / "test_score.json").read_text())


def test_a_stage_key_holds_only_the_conditions_that_touch_its_grid():
    from pipeline.common.records import Dataset, Stage
    from pipeline.store import describe_run, describe_stage

    spec = spec_for()
    train = Dataset("d", pd.DataFrame({"a": [1.0, 2.0]}), pd.Series([0, 1]), "binary")
    shared = describe_run(spec, train, 1, "accuracy", {"engine": "gridsearchcv"})
    depth, lr = Stage("depth", {"model__depth": [1, 2]}), Stage("lr", {"optimizer__momentum": [0.0, 0.9]})
    momentum = {"optimizer__momentum": {"optimizer": ["sgd", "rmsprop"]}}
    edited = {"optimizer__momentum": {"optimizer": ["sgd"]}}
    frozen = {"optimizer": "adam"}
    key = lambda stage, conditions: stage_key(describe_stage(shared, stage, {"kind": "grid"}, conditions, frozen))  # noqa: E731
    assert key(depth, momentum) == key(depth, edited)  # another stage's condition: not this stage's business
    assert key(lr, momentum) != key(lr, edited)
    other_strategy = stage_key(describe_stage(shared, depth, {"kind": "random", "budget": 3}, momentum, frozen))
    assert other_strategy != key(depth, momentum)
