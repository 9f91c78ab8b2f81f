"""The boundaries of DESIGN.md are checked by import-linter; these tests check that the check bites."""
import shutil
import subprocess
import sys
from pathlib import Path

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


# One wrong arrow per contract, all in one copy of the project: one lint run sees them all, and each contract must
# name its own (no two mutations break the same contract, so none passes on another's account).
WRONG_ARROWS = [
    ("search/runner.py", "import keras", "Only the engines use Keras"),
    ("store/__init__.py", "from sklearn.model_selection import KFold", "use scikit-learn or joblib"),
    ("search/stage.py", "from pipeline.engines import gridsearch", "No engine's internals"),
    ("search/stage.py", "import hydra", "use Hydra or OmegaConf"),
    ("store/helpers.py", "import mlflow", "Only the tracking observer imports MLflow"),  # a new module is held too
    ("store/keys.py", "from pipeline.search import runner", "Layers: each folder imports only from the folders below"),
    ("search/reuse.py", "def probe():\n    from pipeline.search import stage", "Inside the search"),  # upwards
    ("frontends/helpers.py", "X = 1", "Inside the front ends"),  # a new module nobody gave a layer
    ("search/strategies/racing.py", "def probe():\n    from pipeline.search.strategies.plan import plan", "No import cycle"),
    ("engines/layout.py", "def probe():\n    from pipeline.reports import terminal", "Engines know nothing"),
]


def test_each_wrong_arrow_breaks_its_contract(tmp_path):
    tree = copy_of_the_project(tmp_path)
    for module, line, _ in WRONG_ARROWS:
        path = tree / "pipeline" / module
        path.write_text((path.read_text() if path.exists() else "") + f"\n{line}  # noqa\n")
    proc = lint(tree)
    assert proc.returncode != 0
    broken = " ".join(proc.stdout[proc.stdout.index("Broken contracts"):].split())
    for _, _, contract in WRONG_ARROWS:
        assert contract in broken, (contract, proc.stdout)
    assert f"{len(WRONG_ARROWS)} broken" in " ".join(proc.stdout.split())
