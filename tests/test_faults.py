"""The fault catalogue: each case through the real CLI in a subprocess (small data, 1-2 epochs).

Checked every time: the exit code, the one-line message, and what is left in the stage store.
"""
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import FAST, ROOT, TINY, entries, one_line_error, run_cli, run_in_process, start, wait_for, write

# --- 1. bad data: one line each, before any training, exit code 2 -----------------------


def bad_data_cases(tmp: Path) -> dict[str, tuple[list[str], str]]:
    good = pd.DataFrame({"a": range(40), "b": [i % 3 for i in range(40)], "label": ["x", "y"] * 20})
    (tmp / "empty.csv").write_text("")
    (tmp / "garbage.parquet").write_bytes(b"\x00\xffnot parquet at all\xfe" * 10)
    return {
        "missing file": ([f"dataset.path={tmp / 'nope.csv'}", "dataset.target=label"], "no such file"),
        "empty file": ([f"dataset.path={tmp / 'empty.csv'}", "dataset.target=label"], "the file is empty"),
        "unreadable file": ([f"dataset.path={tmp / 'garbage.parquet'}", "dataset.target=label"], "cannot read it"),
        "target missing": ([f"dataset.path={write(tmp / 'g.csv', good)}", "dataset.target=lable"],
                           "no such column in"),
        "class too small": ([f"dataset.path={write(tmp / 's.csv', good.assign(label=['x'] * 37 + ['y'] * 3))}",
                             "dataset.target=label", "search.cv=4"],
                            "class 'y' has 2 rows left for the search after dataset.test_size=0.2 was held out; 4 stratified"),
        "text regression target": ([f"dataset.path={tmp / 'g.csv'}", "dataset.target=label", "dataset.task=regression"],
                                   "is not numeric"),
        "empty column": ([f"dataset.path={write(tmp / 'e.csv', good.assign(b=None))}", "dataset.target=label"],
                         "column 'b' is entirely missing"),
        "constant target": ([f"dataset.path={write(tmp / 'c.csv', good.assign(label='x'))}", "dataset.target=label"],
                            "is constant"),
    }  # fmt: skip


@pytest.mark.parametrize(
    "case", ["missing file", "empty file", "unreadable file", "target missing", "class too small",
             "text regression target", "empty column", "constant target"],
)  # fmt: skip
def test_bad_data(tmp_path, case):
    overrides, expected = bad_data_cases(tmp_path)[case]
    out = run_in_process(*FAST, "dataset=file", *overrides, tmp_path=tmp_path)
    assert out.exit_code == 2
    assert out.line.startswith("error: ") and expected in out.line
    assert entries(tmp_path) == []


def test_missing_target_lists_the_columns(tmp_path):
    path = write(tmp_path / "d.csv", pd.DataFrame({"age": [1, 2], "income": [3, 4], "y": [0, 1]}))
    out = run_in_process("dataset=file", f"dataset.path={path}", "dataset.target=label", tmp_path=tmp_path)
    assert out.exit_code == 2 and "columns: age, income, y" in out.line


# --- 2. bad config: one line each, exit code 2 ----------------------------------------------


@pytest.mark.parametrize(
    "override, expected",
    [
        ("search.cv=[1", "bad override syntax"),
        ("dataset=pima", "dataset=pima: unknown option; choose one of breast_cancer"),
        ("serach.cv=3", "serach.cv: unknown key"),
        ("search.cv=three", "search.cv=three: Value 'three'"),
        ("model.epochs=-1", "model.epochs=-1: must be from 1 to 1,000,000"),
        ("search.cv=1", "search.cv=1: must be at least 2 folds"),
        ("stages.dropout.grid.model__dropout=[0.5,1.0]", "bad value 1.0; dropout must be a number in [0, 1)"),
        ("dataset.test_size=0", "dataset.test_size=0.0: must be between 0 and 1"),
        ("dataset.test_size=1.2", "dataset.test_size=1.2: must be between 0 and 1"),
    ],
)
def test_bad_config(tmp_path, override, expected):
    out = run_in_process(override, tmp_path=tmp_path)
    assert out.exit_code == 2
    assert expected in out.line
    assert entries(tmp_path) == []


# --- 3-5. training that diverges, a stage where every fit fails, scores all NaN --------------

DIVERGING = [*FAST, "dataset=diabetes", "order.stages=[optimizer,lr_momentum]", "stages.optimizer.grid.optimizer=[adam]"]


def test_diverging_fits_are_failed_not_scored_and_the_winner_trained(tmp_path):
    out = tmp_path / "run"
    proc = run_cli(*DIVERGING, "stages.lr_momentum.grid.optimizer__learning_rate=[0.01,10000.0]",
                   f"hydra.run.dir={out}", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = pd.read_csv(out / "summary.csv")
    assert summary.loc[1, "failed_fits"] == 2  # both folds of lr=1e4
    assert json.loads(summary.loc[1, "winner"]) == {"optimizer__learning_rate": 0.01}
    table = pd.read_csv(out / "cv_results" / "02_lr_momentum.csv")
    assert table.loc[table["param_optimizer__learning_rate"] == 1e4, "mean_test_score"].isna().all()


def test_stage_where_every_fit_diverges_stops_with_one_line_and_resumes_after_the_fix(tmp_path):
    proc = run_cli(*DIVERGING, "stages.lr_momentum.grid.optimizer__learning_rate=[10000.0,1000000.0]",
                   cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert "stage lr_momentum: all 4 fits failed" in line and "diverged" in line
    assert len(entries(tmp_path)) == 1  # the optimizer stage stays stored
    fixed = run_cli(*DIVERGING, "stages.lr_momentum.grid.optimizer__learning_rate=[0.01]",
                    f"hydra.run.dir={tmp_path / 'fixed'}", cwd=tmp_path)  # fmt: skip
    assert fixed.returncode == 0, fixed.stderr
    assert list(pd.read_csv(tmp_path / "fixed" / "summary.csv")["reused"]) == [True, False]


def test_stage_where_every_fit_raises_names_the_first_cause(tmp_path):
    out = run_in_process(*DIVERGING, "+stages.lr_momentum.grid.optimizer__rho=[0.9]", tmp_path=tmp_path)
    assert out.exit_code == 2
    assert "stage lr_momentum: all" in out.line and "rho" in out.line  # Adam takes no rho
    assert len(entries(tmp_path)) == 1


# --- 6. a killed worker (what the out-of-memory killer does) -------------------------------


def loky_workers(parent: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and "loky" in cmdline and "resource_tracker" not in cmdline:
            found.append(int(proc.name))
    return found


SLOW = [*TINY, "search.engine=gridsearchcv", "model.epochs=40", "dataset=breast_cancer", "order.stages=[optimizer,neurons]",
        "stages.neurons.grid.model__neurons=[4,8,16,32,64]"]  # fmt: skip


@pytest.mark.signals
def test_killed_worker_gives_a_hint_not_a_nan(tmp_path):
    proc = start(*[a for a in SLOW if not a.startswith("search.n_jobs")], "search.n_jobs=2", cwd=tmp_path)
    wait_for(lambda: len(entries(tmp_path)) == 1)
    wait_for(lambda: loky_workers(proc.pid))
    time.sleep(1.0)
    os.kill(loky_workers(proc.pid)[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1
    line = one_line_error(subprocess.CompletedProcess([], 1, "", err))
    assert "stage neurons: a worker ran out of memory or was killed" in line and "search.n_jobs=1" in line
    assert len(entries(tmp_path)) == 1


# --- 7. Ctrl+C ---------------------------------------------------------------------------------


@pytest.mark.signals
def test_ctrl_c_exits_130_names_the_stage_and_the_next_run_resumes(tmp_path):
    proc = start(*SLOW, cwd=tmp_path)
    wait_for(lambda: len(entries(tmp_path)) == 1)
    time.sleep(0.3)  # inside stage 2: its 4 new candidates (the frozen one is read back) take seconds
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends to the whole foreground group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    line = one_line_error(subprocess.CompletedProcess([], 130, "", err))
    assert line == "error: interrupted in stage 2/2 (neurons); 1 completed stage stored; run the same command to resume"
    assert len(entries(tmp_path)) == 1
    again = run_cli(*SLOW, f"hydra.run.dir={tmp_path / 'again'}", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert list(pd.read_csv(tmp_path / "again" / "summary.csv")["reused"]) == [True, False]


@pytest.mark.signals
@pytest.mark.parametrize("delay", [0.5, 1.0])
def test_ctrl_c_just_after_a_stage_finished_still_ends_the_run_with_130(tmp_path, delay):
    args = [*TINY, "dataset=iris", "model.epochs=30", "order.stages=[optimizer,neurons,depth]"]
    proc = start(*args, cwd=tmp_path)
    wait_for(lambda: len(entries(tmp_path)) >= 1)
    time.sleep(delay)  # the next stage starting: its program compiling or the first chunk of its epochs running
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 130, err[-2000:]
    assert one_line_error(subprocess.CompletedProcess([], 130, "", err)).startswith("error: interrupted ")


# --- 8. determinism ------------------------------------------------------------------------------


@pytest.mark.workers
def test_same_command_in_fresh_processes_gives_the_same_winners_and_scores(tmp_path):
    args = [a for a in TINY if not a.startswith("search.n_jobs")]
    args += ["search.n_jobs=2", "search.engine=gridsearchcv", "dataset=wine", "order.stages=[depth]", "store.mode=off"]
    runs = []
    for name in ("first", "second"):
        proc = run_cli(*args, f"hydra.run.dir={tmp_path / name}", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        runs.append(pd.read_csv(tmp_path / name / "summary.csv"))
    assert list(runs[0]["winner"]) == list(runs[1]["winner"])
    assert (abs(runs[0]["mean_score"] - runs[1]["mean_score"]) <= 1e-6).all()
    assert (abs(runs[0]["std_score"] - runs[1]["std_score"]) <= 1e-6).all()


# --- 9. found while reading the code: each through the CLI --------------------------------

NOTHING_TO_TUNE = [*FAST, "dataset=iris", "order.stages=[optimizer,lr_momentum]", "stages.optimizer.grid.optimizer=[adam]",
                   "~stages.lr_momentum.grid.optimizer__learning_rate"]  # momentum only, and adam takes none  # fmt: skip


@pytest.mark.multirun
def test_a_stage_with_nothing_to_tune_reads_back_everywhere(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", *NOTHING_TO_TUNE, "search.seed=0,1", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(sweep / "comparison.csv")  # the comparison copes with a last stage that fitted nothing
    assert table["seeds"].tolist() == [2]
    again = run_cli(*NOTHING_TO_TUNE, "search.seed=0", f"hydra.run.dir={tmp_path / 'again'}", cwd=tmp_path)
    assert again.returncode == 0 and "corrupt" not in again.stdout + again.stderr
    summary = pd.read_csv(tmp_path / "again" / "summary.csv")
    assert summary["fits"].tolist() == [2, 0] and summary["reused"].tolist() == [True, False]
    for entry in entries(tmp_path):
        shown = subprocess.run([sys.executable, "-m", "pipeline.store", "show", entry.name], cwd=tmp_path, text=True,
                               capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
        assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr


def test_a_simpler_rule_that_cannot_order_text_is_a_config_error(tmp_path):
    out = run_in_process(*FAST, "search.select=one_se", "stages.optimizer.simpler.optimizer=ascending", tmp_path=tmp_path)
    assert out.exit_code == 2
    line = out.line
    assert line.startswith("error: stages.optimizer.simpler.optimizer=ascending: orders numbers, but optimizer has")
    assert entries(tmp_path) == []


@pytest.mark.signals
def test_ctrl_c_during_the_final_refit_says_the_stages_are_kept(tmp_path):
    args = [*TINY, "search.engine=gridsearchcv", "dataset=breast_cancer", "order.stages=[depth]", "stages.depth.grid.model__depth=[1]",
            "model.epochs=500"]  # one stage of 2 fits on half the rows each, then a final refit on all of them  # fmt: skip
    proc = start(*args, cwd=tmp_path)
    wait_for(lambda: len(entries(tmp_path)) == 1)
    time.sleep(0.3)
    for _ in range(5):  # a Ctrl+C that lands while Keras is inside native code is, rarely, dropped: press again
        os.killpg(proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=2)
            break
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    line = one_line_error(subprocess.CompletedProcess([], 130, "", err))
    assert line == "error: interrupted during the final refit; 1 completed stage stored; run the same command to finish"
    assert len(entries(tmp_path)) == 1
