"""The same winners and scores as the recorded ones, on the default order, for both engines.

``tests/golden/default_order.json`` was written by the code before the one-home-per-concept
refactor (commit 7636f30) with ``dataset=iris`` and the tiny grids of ``TINY``. A change that
means to change results (a new selection rule, a new default) rewrites it on purpose:
``GOLDEN_WRITE=1 python -m pytest tests/test_golden.py``, and says why in its commit.
"""
import json
import os
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden" / "default_order.json"


@pytest.mark.parametrize("engine", ["fused", "gridsearchcv"])
def test_the_default_order_finds_the_recorded_winners_and_scores(run_tiny, engine):
    result, _ = run_tiny(f"search.engine={engine}", "dataset=iris")
    got = {"stages": [{"stage": s.stage, "winner": s.winner, "mean_score": s.mean_score, "std_score": s.std_score}
                      for s in result.stages], "test_score": result.test_score}  # fmt: skip
    recorded = json.loads(GOLDEN.read_text())
    if os.environ.get("GOLDEN_WRITE") == "1":
        GOLDEN.write_text(json.dumps(recorded | {engine: got}, indent=1, sort_keys=True, default=str) + "\n")
    expected = recorded[engine]
    assert [(s["stage"], s["winner"]) for s in got["stages"]] == [(s["stage"], s["winner"]) for s in expected["stages"]]
    for mine, theirs in zip(got["stages"], expected["stages"], strict=True):
        assert mine["mean_score"] == pytest.approx(theirs["mean_score"], abs=1e-6), mine["stage"]
        assert mine["std_score"] == pytest.approx(theirs["std_score"], abs=1e-6), mine["stage"]
    assert got["test_score"] == pytest.approx(expected["test_score"], abs=1e-6)
