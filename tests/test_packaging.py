"""The package as a user installs it: every subpackage and the configs in the wheel, the console scripts, and a
search run from an empty folder outside the checkout."""
import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from pipeline.common import install
from tests.conftest import ROOT

pytestmark = pytest.mark.packaging


SCRIPTS = ("staged-search", "staged-search-store", "staged-search-compare")


def test_every_subpackage_is_in_the_wheel_s_package_list():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "pipeline").rglob("__init__.py")}
    groups = {"pipeline.conf." + ".".join(p.relative_to(ROOT / "conf").parts) for p in (ROOT / "conf").rglob("*") if p.is_dir()}
    assert folders | {"pipeline.conf"} | groups == listed  # a config group left out: setuptools warns at every install


def test_building_the_package_warns_about_nothing(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v", "-w",
                            str(tmp_path), str(ROOT)], capture_output=True, text=True)  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert "would be ignored" not in built.stdout + built.stderr


def test_another_package_called_pipeline_on_the_path_is_found(tmp_path):
    (tmp_path / "pipeline").mkdir()
    (tmp_path / "pipeline" / "__init__.py").write_text("")
    assert install.other_pipelines([str(tmp_path), str(ROOT)]) == [tmp_path / "pipeline"]
    assert install.other_pipelines([str(ROOT)]) == []


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtual environment outside the checkout with the wheel installed; its dependencies are this
    environment's (a path entry: no download), so the import of ``pipeline`` can only come from the wheel."""
    where = tmp_path_factory.mktemp("installed")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(where / "dist"),
                    str(ROOT)], check=True, capture_output=True)  # fmt: skip
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                    *map(str, (where / "dist").glob("*.whl"))], check=True, capture_output=True)  # fmt: skip
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
    (Path(purelib) / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv


def run_installed(venv: Path, *command: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KERAS_BACKEND", "VIRTUAL_ENV")}
    return subprocess.run([str(venv / "bin" / command[0]), *command[1:]], cwd=cwd, env={**env, "COLUMNS": "200"},
                          capture_output=True, text=True, timeout=600)  # fmt: skip


def test_the_installed_wheel_runs_from_an_empty_folder(installed, tmp_path):
    where = run_installed(installed, "python", "-c", "import pipeline, pipeline.common.install as i; print(pipeline.__file__, i.conf_dir())",
                          cwd=tmp_path)  # fmt: skip
    package, conf = where.stdout.split()
    assert package.startswith(str(installed)) and conf.startswith(str(installed)) and conf.endswith("pipeline/conf")
    for script in SCRIPTS:
        assert run_installed(installed, script, "--help", cwd=tmp_path).returncode == 0, script
    bad = run_installed(installed, "staged-search", "search.cv=1", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith("error: search.cv=1")
    done = run_installed(installed, "staged-search", "dataset=iris", "order.stages=[optimizer]", "stages.optimizer.grid.optimizer=[adam]",
                         "model.epochs=1", "search.cv=2", "search.final_repeats=0", "search.engine=fused", "hydra.run.dir=run",
                         cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "run" / "summary.csv").is_file() and (tmp_path / "stages").is_dir()
    listed = run_installed(installed, "staged-search-store", "list", cwd=tmp_path)
    assert listed.returncode == 0 and "optimizer" in listed.stdout


def test_a_second_pipeline_package_on_the_path_is_one_clear_line(tmp_path):
    from tests.conftest import run_cli

    (tmp_path / "other" / "pipeline").mkdir(parents=True)
    (tmp_path / "other" / "pipeline" / "__init__.py").write_text("")
    proc = run_cli("search.cv=2", cwd=tmp_path, env={"PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path / 'other'}"})
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"error: another package called 'pipeline' is installed ({tmp_path / 'other' / 'pipeline'}) "
                                   f"beside this project ({ROOT / 'pipeline'}); one would shadow the other: uninstall it, "
                                   "or install this project into its own virtual environment")  # fmt: skip


def test_a_pipeline_package_earlier_on_the_path_stops_the_console_script_in_one_line(installed, tmp_path):
    (tmp_path / "other" / "pipeline").mkdir(parents=True)
    (tmp_path / "other" / "pipeline" / "__init__.py").write_text("raise SystemExit('the other package ran')")
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "VIRTUAL_ENV")}
    for script in SCRIPTS:
        proc = subprocess.run([str(installed / "bin" / script), "--help"], cwd=tmp_path, capture_output=True, text=True,
                              env={**env, "PYTHONPATH": str(tmp_path / "other")})  # fmt: skip
        assert proc.returncode == 2, (script, proc.stderr)
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr and "other package ran" not in proc.stderr
        assert proc.stderr.startswith(f"error: another package called 'pipeline' ({tmp_path / 'other' / 'pipeline'}) comes before")
