"""Reliability: whatever the data, config, disk or signal, one line, a defined exit code, nothing lost.

Every case runs the real CLI in a subprocess; where a stage runs, over both engines.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import FAST, ROOT, TINY, entries, one_line_error, run_cli, run_in_process, start, wait_for, write

ENGINES = ["gridsearchcv", "fused"]
ONE_STAGE = [*FAST, "dataset=file", "order.stages=[depth]", "stages.depth.grid.model__depth=[1]"]


def table(rows: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=rows)
    return pd.DataFrame({"a": a, "b": rng.normal(size=rows), "label": np.where(a > 0, "x", "y")})


# --- 1. run folders are unique per process ------------------------------------------------------


@pytest.mark.multirun
def test_two_commands_started_together_get_their_own_run_folders(tmp_path):
    base = [*FAST, "dataset=iris", "store.mode=off"]
    runs = [start(*base, f"order.stages=[{name}]", cwd=tmp_path) for name in ("depth", "neurons")]
    sweeps = [start("-m", *base, "order.stages=[depth]", f"search.seed={seed}", cwd=tmp_path) for seed in (0, 1)]
    for proc in runs + sweeps:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    folders = [p for p in (tmp_path / "outputs").glob("*/*") if p.parent.name != "multirun"]
    stages = sorted(pd.read_csv(f / "summary.csv")["stage"].iloc[0] for f in folders)
    assert stages == ["depth", "neurons"]  # two folders, each with its own run
    assert len(list((tmp_path / "outputs" / "multirun").glob("*/*/comparison.csv"))) == 2


# --- 2. the environment fails ---------------------------------------------------------------------


@pytest.fixture
def mount(tmp_path):
    """A small tmpfs (a disk that fills up), or one remounted read-only."""
    mounted = []

    def _mount(name: str, size: str = "1m") -> Path:
        path = tmp_path / name
        path.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
        if proc.returncode != 0:
            pytest.skip(f"needs root to mount a tmpfs: {proc.stderr.decode().strip()}")
        mounted.append(path)
        return path

    yield _mount
    for path in mounted:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def read_only(path: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)


TWO_STAGES = [*FAST, "dataset=iris", "order.stages=[optimizer,depth]"]


def test_a_full_disk_under_the_store_keeps_the_completed_stage_and_leaves_no_half_entry(tmp_path, mount):
    store = mount("store", "32k")  # a stage entry is four files of one 4 KiB page, a candidate one: room for one stage
    proc = run_cli(*TWO_STAGES, f"store.dir={store}", cwd=tmp_path)
    assert proc.returncode == 1
    line = one_line_error(proc)
    assert line == (f"error: store.dir={store}: cannot write the entry of stage depth (No space left on device); "
                    "free some space or point store.dir elsewhere")  # fmt: skip
    assert [json.loads((e / "result.json").read_text())["stage"] for e in store.iterdir() if not e.name.startswith(".")] == [
        "optimizer"]  # fmt: skip
    assert not list(store.glob(".tmp-*"))


def test_a_full_run_folder_names_it_and_keeps_the_stages(tmp_path, mount):
    run_dir = mount("run", "48k")
    proc = run_cli(*TWO_STAGES, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert proc.returncode == 1
    line = one_line_error(proc)
    assert line.startswith(f"error: hydra.run.dir={run_dir}: cannot write ") and "No space left on device" in line
    assert len(entries(tmp_path)) == 2


def test_a_read_only_store_says_how_to_use_it(tmp_path, mount):
    """In-process: the same composition, validation and runner as the CLI (whose exit codes have their own tests)."""
    store = mount("store")
    assert run_in_process(*TWO_STAGES, f"store.dir={store}", tmp_path=tmp_path, run_dir=tmp_path / "first").exit_code == 0
    read_only(store)
    refused = run_in_process(*TWO_STAGES, f"store.dir={store}", tmp_path=tmp_path)
    assert refused.exit_code == 2
    line = refused.line
    assert f"store.dir={store}: cannot write" in line and "Read-only file system" in line and "store.mode=readonly" in line
    reuse = run_in_process(*TWO_STAGES, f"store.dir={store}", "store.mode=readonly", tmp_path=tmp_path,
                           run_dir=tmp_path / "reuse")  # fmt: skip
    assert reuse.exit_code == 0, reuse.line
    assert pd.read_csv(tmp_path / "reuse" / "summary.csv")["reused"].all()
    from pipeline.store import cli

    pruned = subprocess.run([sys.executable, "-m", "pipeline.store", "--dir", str(store), "prune", "--keep-last", "0"],
                            capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert pruned.returncode == 2 and "store.mode" not in pruned.stderr, pruned.stderr  # a run's setting is no help
    assert pruned.stderr.strip() == f"error: --dir {store}: cannot write there (read-only or not yours); prune removes " \
                                    "entries, so it needs write access to the store folder"  # fmt: skip
    assert cli.main(["--dir", str(store), "list"]) == 0


def test_an_unwritable_run_folder_or_compile_cache(tmp_path, mount):
    place = mount("ro")
    read_only(place)
    proc = run_cli(*TWO_STAGES, f"hydra.run.dir={place / 'run'}", cwd=tmp_path)
    assert proc.returncode == 2
    assert one_line_error(proc).startswith(f"error: hydra.run.dir={place / 'run'}: cannot write the run folder (Read-only")
    proc = run_cli(*TWO_STAGES, f"execution.compile_cache={place / 'xla'}", f"hydra.run.dir={tmp_path / 'run'}",
                   cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    said = " ".join(proc.stdout.split())
    assert f"execution.compile_cache={place / 'xla'}: cannot write there (Read-only file system)" in said


def test_a_malformed_dask_address_is_one_line(tmp_path):
    out = run_in_process(*FAST, "execution=dask", "execution.address=tcp//nowhere", tmp_path=tmp_path)
    assert out.exit_code == 2
    assert out.line.startswith("error: execution.address=tcp//nowhere: not a scheduler address")


def test_a_home_relative_store_is_expanded(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    proc = run_cli(*FAST, "dataset=iris", "order.stages=[depth]", 'store.dir="~/stages"', cwd=tmp_path,
                   env={"HOME": str(home)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert len([p for p in (home / "stages").iterdir() if not p.name.startswith(".")]) == 2  # the stage, the final refit
    assert not (tmp_path / "~").exists()


# --- 3-5. bad data and config: found before any fit, the same on both engines ------------------


def data_cases(tmp: Path) -> dict[str, tuple[pd.DataFrame | Path, list[str], str]]:
    good = table()
    inf, huge, leak = good.copy(), good.copy(), good.copy()
    inf.loc[7, "b"] = np.inf
    huge.loc[3, "a"] = 1e39
    leak["label_copy"] = leak["label"]
    regression = good.assign(label=good["a"] * 3)
    regression.loc[5, "label"] = np.inf
    return {
        "infinite value": (inf, [], "column 'b' has infinite or too large values (data row 8: inf"),
        "float32 overflow": (huge, [], "column 'a' has infinite or too large values (data row 4: 1e+39"),
        "target leak": (leak, [], "column 'label_copy' is a copy of the target 'label' (a target leak"),
        "infinite target": (regression, [], "the target 'label' has infinite or too large values"),
        "scorer for the wrong task": (good.assign(label=good["a"] * 3), ["search.scoring=accuracy"],
                                      "search.scoring=accuracy: cannot score this regression task"),
        "binary-only scorer on three classes": (good.assign(label=["x", "y", "z", "w"] * 10), ["search.scoring=roc_auc"],
                                                "search.scoring=roc_auc: cannot score this multiclass task"),
        "too few rows after the test split": (good.assign(label=["x"] * 36 + ["y"] * 4), ["search.cv=4"],
                                              "class 'y' has 3 rows left for the search after dataset.test_size=0.2"),
    }  # fmt: skip


@pytest.mark.parametrize("case", ["infinite value", "float32 overflow", "target leak", "infinite target",
                                  "scorer for the wrong task", "binary-only scorer on three classes",
                                  "too few rows after the test split"])  # fmt: skip
def test_bad_data_is_refused_before_any_fit_with_the_column_named(tmp_path, case):
    """Refused before any engine work (so for both engines alike: the data is checked once, in pipeline.data)."""
    frame, extra, expected = data_cases(tmp_path)[case]
    path = write(tmp_path / "data.csv", frame)
    out = run_in_process(*ONE_STAGE, f"dataset.path={path}", "dataset.target=label", *extra, tmp_path=tmp_path)
    assert out.exit_code == 2
    assert expected in out.line, out.line
    assert entries(tmp_path) == []


@pytest.mark.parametrize("engine", ENGINES)
def test_what_can_be_fixed_is_fixed_and_said(tmp_path, engine):
    frame = table(60).assign(flag=[True, False, None] * 20, label=lambda f: f["label"].where(f.index % 20 != 0))
    frame.insert(0, "ID", range(60))
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + frame.to_csv(index=False).encode())  # Excel's "CSV UTF-8": a byte-order mark
    out = tmp_path / "run"
    ran = run_in_process(*ONE_STAGE, f"dataset.path={path}", "dataset.target=label", "dataset.drop=[ID]",
                         f"search.engine={engine}", "model.batch_size=100000000", tmp_path=tmp_path)  # fmt: skip
    assert ran.exit_code == 0, ran.line  # a batch larger than the data is all of it, never allocated by size
    said = ran.said
    for note in ("dataset: dropped 3 of 60 rows whose target 'label' is missing", "dataset: column 'flag' holds true/false: used as 1/0",
                 "dataset: task binary, inferred: the target holds 2 distinct labels"):  # fmt: skip
        assert note in said and note in " ".join((out / "report.md").read_text().split())


def latin_1(path: Path) -> list[str]:
    path.write_bytes(table().assign(label=["é", "è"] * 20).to_csv(index=False).encode("latin-1"))
    return ["dataset.target=label"]


def no_header(path: Path) -> list[str]:
    table().assign(label=lambda f: (f["a"] > 0).astype(int)).to_csv(path, index=False, header=False)
    return ["dataset.target=label"]


@pytest.mark.parametrize(
    "make, refused, fix",
    [(latin_1, ("not utf-8 text (byte b'\\xe9'", "dataset.encoding=latin-1"), ["dataset.encoding=latin-1"]),
     (no_header, ("the first row looks like data", "dataset.header=false"), ["dataset.header=false", "dataset.target=2"])],
)  # fmt: skip
def test_other_encodings_and_files_without_a_header_are_named_then_read(tmp_path, make, refused, fix):
    path = tmp_path / "data.csv"
    args = [*ONE_STAGE, f"dataset.path={path}", *make(path)]
    out = run_in_process(*args, tmp_path=tmp_path)
    assert out.exit_code == 2
    assert all(part in out.line for part in refused), out.line
    fixed = run_in_process(*args, *fix, tmp_path=tmp_path)
    assert fixed.exit_code == 0, fixed.line


def test_an_integer_target_with_many_values_says_it_is_taken_for_regression(tmp_path):
    path = write(tmp_path / "ages.csv", table(80).assign(label=np.arange(80) % 40))
    out = run_in_process(*ONE_STAGE, f"dataset.path={path}", "dataset.target=label", tmp_path=tmp_path)
    assert out.exit_code == 0, out.line
    assert ("task regression, inferred: the target holds 40 distinct integers, more than 20 classes; "
            "set dataset.task=multiclass to classify them") in out.said  # fmt: skip


@pytest.mark.parametrize(
    "override, expected",
    [
        ("search.seed=-1", "search.seed=-1: must be a seed from 0 to 2**32 - 1"),
        ("search.seed=4294967296", "search.seed=4294967296: must be a seed"),
        ("order.stages=[depth,neurons,depth]", "order.stages: stage 'depth' appears twice"),
        ("+stages.optimizer.grid.optimizer__beta_1=[fast]", "bad value 'fast'; beta_1 must be a number"),
    ],
)
def test_config_mistakes_are_named_before_any_fit(tmp_path, override, expected):
    out = run_in_process(*FAST, override, tmp_path=tmp_path)
    assert out.exit_code == 2
    assert expected in out.line


# --- 6. the real cause, and its traceback in the log ------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_a_failing_stage_names_the_exception_and_logs_its_traceback(tmp_path, engine):
    out = tmp_path / "run"
    proc = run_cli(*FAST, "dataset=iris", "order.stages=[optimizer]", "stages.optimizer.grid.optimizer=[adam]",
                   "+stages.optimizer.grid.optimizer__rho=[0.9]", f"search.engine={engine}", f"hydra.run.dir={out}",
                   cwd=tmp_path)  # fmt: skip  # Adam takes no rho
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert line.startswith("error: stage optimizer: all 2 fits failed; first cause: ") and "rho" in line
    assert "Traceback (most recent call last)" in (out / "pipeline.log").read_text()


def test_the_exception_line_is_not_a_frameworks_closing_note():
    from pipeline.common.errors import exception_line

    jax_style = ("Traceback (most recent call last):\n  File \"x.py\", line 1, in f\nValueError: bad shape (3, 4)\n"
                 "--------------------\nFor simplicity, JAX has removed its internal frames from the traceback of the "
                 "following exception. Set JAX_TRACEBACK_FILTERING=off to include these.")  # fmt: skip
    assert exception_line(jax_style) == "ValueError: bad shape (3, 4)"
    assert exception_line("jaxlib.xla_extension.XlaRuntimeError: RESOURCE_EXHAUSTED: out of memory") .startswith("jaxlib")


# --- 7. SIGTERM is Ctrl+C with its own exit code ---------------------------------------------------


def session(sid: int) -> list[int]:
    """The processes of a session: the CLI (started as its leader) and everything it started, reparented or not."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[3]) == sid and fields[0] not in "ZX":  # the session id; zombies are already dead
                found.append(int(proc.name))
    return found


@pytest.mark.signals
def test_sigterm_keeps_the_stages_ends_the_workers_and_exits_143(tmp_path):
    args = [*[a for a in TINY if not a.startswith("search.n_jobs")], "search.n_jobs=2", "search.engine=gridsearchcv",
            "model.epochs=40",
            "dataset=breast_cancer", "order.stages=[optimizer,neurons]", "stages.neurons.grid.model__neurons=[4,8,16,32,64]"]  # fmt: skip
    proc = start(*args, cwd=tmp_path)
    wait_for(lambda: len(entries(tmp_path)) == 1)
    wait_for(lambda: len(session(proc.pid)) >= 3)  # the workers of stage 2
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGTERM)  # what `timeout` and `docker stop` send: to the main process only
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143
    line = one_line_error(subprocess.CompletedProcess([], 143, "", err))
    assert line == ("error: terminated (SIGTERM) in stage 2/2 (neurons); 1 completed stage stored; "
                    "run the same command to resume")  # fmt: skip
    wait_for(lambda: not session(proc.pid), seconds=15)  # workers and resource trackers included
    assert len(entries(tmp_path)) == 1


# --- 8. the store CLI on a damaged store ---------------------------------------------------------


def test_the_store_cli_lists_explains_and_prunes_damaged_entries(tmp_path):
    assert run_cli(*FAST, "dataset=iris", "order.stages=[optimizer,depth]", cwd=tmp_path).returncode == 0
    store = tmp_path / "stages"
    damaged, truncated = sorted(entries(tmp_path))[:2]
    (damaged / "result.json").unlink()
    (truncated / "checksum").write_text("0" * 64)
    (store / ".locks" / ("f" * 64 + ".lock")).touch()  # a lock whose writer died before writing anything
    cli = lambda *a: subprocess.run([sys.executable, "-m", "pipeline.store", *a], cwd=tmp_path, capture_output=True,  # noqa: E731
                                    text=True, env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "400"})  # fmt: skip
    listing = cli("list")
    assert listing.returncode == 0 and "Traceback" not in listing.stderr
    assert "damaged: result.json is missing" in listing.stdout and "damaged: checksum mismatch" in listing.stdout
    assert "2 damaged entries" in listing.stdout
    for entry in (damaged, truncated):
        shown = cli("show", entry.name[:10])
        assert shown.returncode == 0 and "damaged" in shown.stdout and "Traceback" not in shown.stderr
    pruned = cli("prune", "--damaged")
    assert pruned.returncode == 0, pruned.stderr
    assert "2 of 3 entries removed; 3 stale lock files removed" in " ".join(pruned.stdout.split())  # theirs, and ours
    assert len(entries(tmp_path)) == 1 and not (store / ".locks" / ("f" * 64 + ".lock")).exists()


# --- 9. a multirun with one bad job ----------------------------------------------------------------


@pytest.mark.multirun
def test_a_multirun_with_one_bad_job_runs_the_others_and_says_which_failed(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", *FAST, "dataset=iris", "order.stages=[depth]", "search.cv=1,2", f"hydra.sweep.dir={sweep}",
                   cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert errors[0] == "error: job 0 (search.cv=1): search.cv=1: must be at least 2 folds"  # what sets it apart
    assert errors[1].startswith("error: 1 of 2 jobs failed")
    assert (sweep / "1" / "summary.csv").is_file()
    comparison = (sweep / "comparison.md").read_text()
    assert "Not compared, because they failed" in comparison and "job 0 (search.cv=1)" in comparison
