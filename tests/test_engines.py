"""Every engine through the same small suite: what the runner and the strategies ask of the engine seam."""
import inspect

import numpy as np
import pytest

from pipeline import data, engines
from pipeline.common.records import Budget, Problem
from pipeline.config.schema import DatasetSpec, ModelSpec, RunSpec, SearchSpec
from pipeline.engines.base import Engine

CANDIDATES = [{"optimizer__learning_rate": 0.01}, {"optimizer__learning_rate": 0.1}]


@pytest.fixture(scope="module")
def problem():
    train, test = data.split(data.load_dataset(DatasetSpec("iris")), 0.2, 0)
    return Problem(train, "accuracy", 2, 0), test


def engine_for(name: str):
    model = ModelSpec(epochs=3, batch_size=32)
    model.early_stopping.enabled = False
    return engines.create(RunSpec(search=SearchSpec(cv=2, n_jobs=1, engine=name), model=model), print)


@pytest.mark.parametrize("name", ["gridsearchcv", "fused"])
def test_every_engine_keeps_the_seam(name, problem, tmp_path):
    problem, test = problem
    declared = {n for n, _ in inspect.getmembers(Engine) if not n.startswith("_")} | {"name", "continues"}
    with engine_for(name) as engine:
        assert {n for n in declared if hasattr(engine, n)} == declared
        assert engine.name == name and engine.identity()["engine"] == name and isinstance(engine.continues, bool)
        seen = []
        full = engine.evaluate(problem, "lr", CANDIDATES, {"optimizer": "sgd"}, seen.append)
        assert full.columns["params"] == CANDIDATES  # in the order asked, in the names given
        assert sum(seen) == len(CANDIDATES) * problem.cv  # progress heard every fit
        assert np.isfinite(full.columns["mean_test_score"]).all()
        assert full.columns["mean_test_epochs_run"].tolist() == [3, 3]  # the configured epochs
        first = engine.evaluate(problem, "lr", CANDIDATES, {"optimizer": "sgd"}, seen.append, Budget(1))
        assert first.columns["mean_test_epochs_run"].tolist() == [1, 1]  # the budget's epochs
        assert (first.paused is not None) == engine.continues
        on = engine.evaluate(problem, "lr", CANDIDATES[1:], {"optimizer": "sgd"}, seen.append, Budget(3, first.paused))
        # going on from the pause is training 3 epochs uninterrupted; an engine that cannot continue trains from scratch
        np.testing.assert_allclose(on.columns["split0_test_score"], full.columns["split0_test_score"][1:], atol=1e-6)
        score = engine.refit(problem, {"optimizer": "sgd", **CANDIDATES[0]}, test, tmp_path / "model.keras")
        assert 0 <= score <= 1 and (tmp_path / "model.keras").is_file()


def test_the_engines_leave_no_trace_on_import():
    """Importing the scikeras engine under JAX skips TensorFlow, yet the process can still import it; and
    importing the config's Hydra side registers nothing until the entry point asks."""
    import subprocess
    import sys

    code = ("import importlib.util, os, sys\n"
            "os.environ['KERAS_BACKEND'] = 'jax'\n"
            "import pipeline.engines.estimators\n"
            "assert 'tensorflow' not in sys.modules, 'scikeras loaded TensorFlow under JAX'\n"
            "assert importlib.util.find_spec('tensorflow') is not None, 'TensorFlow left unimportable'\n"
            "from hydra.core.config_store import ConfigStore\n"
            "import pipeline.config.compose as compose\n"
            "assert 'schema.yaml' not in ConfigStore.instance().repo, 'registered on import'\n"
            "compose.register()\n"
            "assert 'schema.yaml' in ConfigStore.instance().repo\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
