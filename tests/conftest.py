"""Shared helpers: compose the real config, shrink it, run it for real (no mocks)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")  # before anything imports Keras
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from hydra import compose, initialize_config_dir  # noqa: E402

from pipeline.config.compose import load, register  # noqa: E402
from pipeline.reports.files import RunFolder, write_run  # noqa: E402
from pipeline.reports.observers import Observer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    """One temporary compile cache for the whole test run, every process of it (xdist workers, CLI subprocesses):
    never the user's own ``~/.cache``. Set here, in the process that starts the workers, so they inherit it."""
    if hasattr(config, "workerinput") or "STAGED_SEARCH_COMPILE_CACHE" in os.environ:
        return
    import tempfile

    config._compile_cache = tempfile.mkdtemp(prefix="staged-search-xla-")
    os.environ["STAGED_SEARCH_COMPILE_CACHE"] = config._compile_cache
    # Tiny data: a test waits for XLA to compile, not for the program to run. XLA's lowest optimisation level compiles
    # the same programs about twice as fast (a tiny run: 19.3 s cold against 10.4 s; 8.4 s from a warm cache), and
    # the recorded scores hold to 1e-6 (tests/test_golden.py). Scripts run as users run them (tests/user_paths/)
    # start from a clean environment and compile as users do.
    os.environ["XLA_FLAGS"] = " ".join([os.environ.get("XLA_FLAGS", ""), "--xla_backend_optimization_level=0",
                                        "--xla_llvm_disable_expensive_passes=true"]).strip()


def pytest_unconfigure(config):
    import shutil

    if getattr(config, "_compile_cache", None):
        shutil.rmtree(config._compile_cache, ignore_errors=True)
        os.environ.pop("STAGED_SEARCH_COMPILE_CACHE", None)
CONF = ROOT / "conf"
# Small and fast: 2 folds, 2 epochs, a narrow grid per stage, everything in this process, on the fused engine
# (a tiny run there takes about half the time); a test about GridSearchCV itself (loky workers, Dask, scikit-learn's
# halving search) says search.engine=gridsearchcv after these, or parametrizes the engine.
TINY = [
    "search.engine=fused",
    "search.cv=2",
    "search.n_jobs=1",
    "model.epochs=2",
    "model.early_stopping.enabled=false",
    "stages.optimizer.grid.optimizer=[adam,sgd]",
    "stages.lr_momentum.grid.optimizer__learning_rate=[0.01]",
    "stages.lr_momentum.grid.optimizer__momentum=[0.0,0.9]",
    "stages.init.grid.model__init=[glorot_uniform]",
    "stages.activation.grid.model__activation=[relu,tanh]",
    "stages.dropout.grid.model__dropout=[0.0]",
    "stages.neurons.grid.model__neurons=[4,8]",
    "stages.depth.grid.model__depth=[1,2]",
    "search.final_repeats=0",  # no final duel unless a test is about it (tests/test_duel.py)
]


def compose_cfg(*overrides: str):
    register()
    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        return compose(config_name="config", overrides=list(overrides))


def spec_for(*overrides: str, tiny: bool = True):
    return load(compose_cfg(*(TINY if tiny else []), *overrides))


class NullDisplay(Observer):
    """An observer that shows nothing but remembers what it was told."""

    def __init__(self):
        self.started, self.done, self.finished, self.notes, self.statuses = [], 0, [], [], []

    def stage_started(self, index, total, name, fits):
        self.started.append((index, total, name, fits))

    def fits_done(self, count):
        self.done += count

    def stage_finished(self, index, result):
        self.finished.append(result)

    def note(self, message):
        self.notes.append(message)

    def stage_status(self, message):
        self.statuses.append(message)


@pytest.fixture
def run_tiny(tmp_path, report):
    """Run the real staged search in-process on a shrunk config; returns (result, display)."""
    from pipeline import engines
    from pipeline.reports.observers import Observers
    from pipeline.search import runner

    def _run(*overrides: str):
        display = NullDisplay()
        spec = spec_for(f"store.dir={tmp_path / 'stages'}", *overrides)
        folder = RunFolder() if report else TablesOnly()
        with engines.create(spec, display.note, display.stage_status) as engine:
            result = runner.run(spec, engine, Observers(display, folder), tmp_path)
        return result, display

    return _run


@pytest.fixture
def report(request) -> bool:
    return request.node.get_closest_marker("report") is not None


class TablesOnly(RunFolder):
    """The run folder without report.md and its charts (matplotlib: 40 % of a tiny run); tests marked ``report``
    and test_reports get the whole folder."""

    def run_finished(self, result) -> None:
        write_run(self.run_dir, result.stages, result.best_params, result.metric, result.test_score, result.duel,
                  result.importance)


class Outcome:
    """How a command ended, in-process: its exit code, its one ``error: …`` line, and what it said."""

    def __init__(self, exit_code: int, line: str, notes: list[str]):
        self.exit_code, self.line, self.notes = exit_code, line, notes

    @property
    def said(self) -> str:
        return " ".join(" ".join(self.notes).split())


def run_in_process(*overrides: str, tmp_path: Path, run_dir: Path | None = None) -> Outcome:
    """``python -m pipeline OVERRIDES`` without a subprocess: the same composition (Hydra's errors turned into the
    same line), validation, data checks, engine and runner, with the store and run folder under ``tmp_path``.
    For errors and what a run says; the CLI's own plumbing (exit codes, signals, one line on stderr) has its
    tests in test_cli, test_faults and test_reliability, one per kind of exit."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from pipeline import engines
    from pipeline.common.errors import PipelineError, UserError
    from pipeline.config.compose import describe_hydra_error
    from pipeline.reports.observers import Observers
    from pipeline.search import runner

    display = NullDisplay()
    store = [] if any(o.startswith("store.dir=") for o in overrides) else [f"store.dir={tmp_path / 'stages'}"]
    try:
        spec = load(compose_cfg(*store, *overrides))
        folder = run_dir or tmp_path / "run"
        folder.mkdir(parents=True, exist_ok=True)
        with engines.create(spec, display.note) as engine:
            runner.run(spec, engine, Observers(display, RunFolder()), folder)
    except (HydraException, OmegaConfBaseException) as exc:
        error: PipelineError = UserError(describe_hydra_error(exc))
    except PipelineError as exc:
        error = exc
    else:
        return Outcome(0, "", display.notes)
    return Outcome(error.exit_code, f"error: {error}", display.notes)


def run_cli(*args: str, cwd: Path, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """``python -m pipeline ARGS`` in a fresh process, as a user would type it."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "250", **(env or {})}  # no wrapped paths
    full_env.pop("KERAS_BACKEND", None)
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.fixture
def customers_csv(tmp_path) -> Path:
    """A binary target with an ID column, text categories and missing values."""
    import numpy as np

    rng = np.random.default_rng(0)
    n = 120
    plan = rng.choice(["basic", "plus", "pro"], n)
    age = rng.normal(40, 12, n).round()
    spend = rng.gamma(2, 30, n).round(2)
    churn = ((plan == "basic") & (spend < 60)) | (age > 55)
    frame = pd.DataFrame(
        {"customer_id": [f"C{i:04d}" for i in range(n)], "plan": plan, "age": age, "spend": spend,
         "region": rng.choice(["north", "south", None], n), "churned": np.where(churn, "yes", "no")}
    )  # fmt: skip
    frame.loc[rng.choice(n, 10, replace=False), "age"] = None
    path = tmp_path / "customers.csv"
    frame.to_csv(path, index=False)
    return path


# --- the CLI in a subprocess: what tests of faults check ---------------------------------------

FAST = [*TINY, "model.epochs=1"]


def one_line_error(proc) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def entries(path: Path) -> list[Path]:
    store = path / "stages"
    return [p for p in store.iterdir() if not p.name.startswith(".")] if store.is_dir() else []


def write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def start(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "250"}
    env.pop("KERAS_BACKEND", None)
    return subprocess.Popen([sys.executable, "-m", "pipeline", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_ctrl_c_as_in_a_terminal)  # fmt: skip


def _ctrl_c_as_in_a_terminal() -> None:
    """In the child, before exec: SIGINT as a terminal's foreground command has it (a background job started by a
    non-interactive shell, such as CI's, inherits it ignored)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for(condition, seconds: float = 240) -> None:
    deadline = time.time() + seconds
    while not condition() and time.time() < deadline:
        time.sleep(0.1)
    assert condition(), "timed out"
