"""The user-path suite: scripts in ``tests/user_paths/`` written exactly as users write scripts and notebook cells,
each run in a fresh process with a clean environment (no variable of this project set, no conftest help, a fresh
home folder, the working folder a temporary one). Each script asserts what its user would look at and ends by
printing ``OK``; the harness also holds the terminal to what a user should see: no framework start-up lines."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "user_paths"
SCRIPTS = sorted(p for p in HERE.glob("*.py") if p.name[:2].isdigit())
OURS = ("KERAS_BACKEND", "XLA_FLAGS", "TF_CPP_MIN_LOG_LEVEL", "GRPC_VERBOSITY", "ABSL_MIN_LOG_LEVEL", "HYDRA_FULL_ERROR",
        "JAX_COMPILATION_CACHE_DIR", "JAX_PLATFORMS", "PYTHONWARNINGS", "OMP_NUM_THREADS")  # fmt: skip
# What TensorFlow, absl, XLA and CUDA print at start-up, which a user's terminal or notebook cell must not show.
NOISE = re.compile(r"^(I|W|E)0000 |oneDNN custom operations|absl::InitializeLog|cuda|TF-TRT|rebuild TensorFlow|"
                   r"All log messages before absl", re.IGNORECASE | re.MULTILINE)  # fmt: skip

pytestmark = pytest.mark.user_paths


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in OURS and not k.startswith(("STAGED_SEARCH", "PYTEST"))}
    env["HOME"] = str(home)  # a fresh user: no ~/.keras, no compile cache of ours
    return env


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def imports_noise(home: Path) -> int:
    """The start-up lines a user's own ``import keras`` prints (TensorFlow's, before anything of ours runs)."""
    done = subprocess.run([sys.executable, "-c", "import keras"], env=clean_env(home), capture_output=True, text=True)
    return len(NOISE.findall(done.stdout + done.stderr))


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_user_path(script: Path, home: Path, imports_noise: int, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=clean_env(home), capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    shown = done.stdout + done.stderr
    assert done.returncode == 0, f"{script.name} exited {done.returncode}:\n{shown[-4000:]}"
    assert done.stdout.rstrip().endswith("OK"), f"{script.name} did not finish:\n{shown[-4000:]}"
    theirs = imports_noise if re.search(r"^import keras|^from scikeras", script.read_text(), re.MULTILINE) else 0
    ours = [ln for ln in shown.splitlines() if NOISE.search(ln)]
    assert len(ours) <= theirs, f"{script.name} showed framework start-up lines beyond its own imports':\n{ours}"


def test_there_are_enough_user_paths() -> None:
    assert len(SCRIPTS) >= 25
