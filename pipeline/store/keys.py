"""What a stored result is keyed by: a description of everything that decided it, built here and nowhere else.

The key is the sha256 of the description's canonical JSON (sorted keys, one spelling per
float), the stage's display name left out, so renaming a stage reuses its results.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from pipeline.common import space
from pipeline.common.records import Dataset, Stage
from pipeline.common.values import JSON_SCALARS, describe, plain
from pipeline.config.schema import RunSpec

FORMAT = 7  # bump when the entry layout, the meaning of a key, or how a result is computed changes


def canonical(value: Any) -> Any:
    """JSON-ready value with one spelling per meaning: sorted keys, floats by repr, numpy scalars as Python's,
    anything else (an array, an estimator, a function) by what decides it (``values.describe``)."""
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    value = plain(value)
    if isinstance(value, float):
        return {"float": repr(value)} if math.isfinite(value) else {"float": str(value)}
    return value if isinstance(value, JSON_SCALARS) else describe(value)


def is_key(name: str) -> bool:
    """Does ``name`` look like a key (a sha256 in hex): what the store names its entries, and nothing else."""
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def stage_key(description: Mapping[str, Any]) -> str:
    """The key of a description: sha256 of its canonical JSON, the stage's display name left out."""
    keyed = dict(description)
    if isinstance(keyed.get("stage"), dict):
        keyed["stage"] = {k: v for k, v in keyed["stage"].items() if k != "name"}
    text = json.dumps(canonical(keyed), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def describe_run(spec: RunSpec, train: Dataset, preprocessing: int, metric: str, engine: Mapping[str, Any]) -> dict[str, Any]:
    """What every entry of a run shares: the training data, how fits train and are scored, the engine."""
    return {
        "format": FORMAT,
        "dataset": {"name": train.name, "task": train.task, "fingerprint": train.fingerprint, "preprocessing": preprocessing},
        "training": spec.model.training(),
        "evaluation": {"cv": spec.search.cv, "metric": metric, "seed": spec.search.seed, "select": spec.search.select,
                       **({"repeats": spec.search.repeats} if spec.search.repeats > 1 else {})},
        "engine": dict(engine),
    }


def describe_stage(run: Mapping[str, Any], stage: Stage, strategy: Mapping[str, Any], conditions: space.Conditions,
                   current: Mapping[str, Any]) -> dict[str, Any]:  # fmt: skip
    """A stage: its grid, the conditions that can change it, its strategy, and the values it holds frozen."""
    return {
        **run,
        "stage": {"name": stage.name, "grid": stage.grid, "conditions": space.conditions_touching(stage.grid, conditions),
                  "simpler": stage.simpler, "strategy": dict(strategy)},  # fmt: skip
        "frozen": space.frozen_inputs(stage.grid, current, conditions),
    }


def describe_final(run: Mapping[str, Any], params: Mapping[str, Any], test: Dataset) -> dict[str, Any]:
    """The final refit: every winner, and the held-out part it is scored on."""
    return {**run, "stage": {"name": "final refit"}, "frozen": dict(params), "test": {"fingerprint": test.fingerprint}}


def describe_candidate(run: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """One candidate's evaluation: what every stage of the run shares (the winner's rule aside: it picks among
    evaluations, it does not change them) and the candidate's full parameters."""
    evaluation = {k: v for k, v in run["evaluation"].items() if k != "select"}
    return {**run, "evaluation": evaluation, "stage": {"name": "candidate"}, "params": dict(params)}
