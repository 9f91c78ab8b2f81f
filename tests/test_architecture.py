"""The boundaries of DESIGN.md are checked by import-linter; these tests check that the check bites."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

LINT = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"


def lint(tree: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(tree), "PATH": str(Path(sys.executable).parent)}
    return subprocess.run([LINT, "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=300)


def copy_of_the_project(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "pipeline", tmp_path / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contracts_hold_today(tmp_path):
    proc = lint(copy_of_the_project(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" in proc.stdout and "0 broken" in proc.stdout


@pytest.mark.parametrize(
    "module, line, contract",
    [
        ("runner.py", "import keras", "Only the engines use Keras"),
        ("store/__init__.py", "import keras", "Only the engines use Keras"),
        ("store/__init__.py", "from sklearn.model_selection import KFold", "use scikit-learn or joblib"),
        ("reports/files.py", "import joblib", "use scikit-learn or joblib"),
        ("runner.py", "from pipeline.engines import gridsearch", "No engine's internals"),
        ("stage.py", "import hydra", "use Hydra or OmegaConf"),
        ("store/helpers.py", "import jax", "Only the engines use Keras"),  # a new module is held by the library contracts
        ("store/helpers.py", "import mlflow", "Only the tracking observer imports MLflow"),
        ("store/keys.py", "from pipeline import runner", "Floors"),  # upwards
        ("helpers.py", "X = 1", "Floors"),  # a new module nobody gave a floor
        ("strategies/racing.py", "def probe():\n    from pipeline.strategies.plan import plan", "No import cycle"),
    ],
)
def test_a_wrong_arrow_breaks_a_contract(tmp_path, module, line, contract):
    tree = copy_of_the_project(tmp_path)
    path = tree / "pipeline" / module
    path.write_text((path.read_text() if path.exists() else "") + f"\n{line}  # noqa\n")
    proc = lint(tree)
    assert proc.returncode != 0
    broken = proc.stdout[proc.stdout.index("Broken contracts"):] if "Broken contracts" in proc.stdout else proc.stdout
    assert contract in " ".join(broken.split()), proc.stdout
