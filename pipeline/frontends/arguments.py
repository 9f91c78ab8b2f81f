"""``StagedSearchCV`` in the core's terms and back: its arguments as the command line's ``RunSpec`` (grids named and
carried as the core's JSON, the estimator's own values as the start, its training as the report reads it, the
parameter names checked against the estimator's own, scikeras' routed names and build function included), its input
checked as scikit-learn checks it, and the run's records as scikit-learn's attributes."""
from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier, is_regressor
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_X_y

from pipeline import data
from pipeline.common.errors import UserError
from pipeline.common.records import StageResult
from pipeline.common.values import Tokens, plain
from pipeline.config import validation
from pipeline.config.schema import (
    EarlyStoppingSpec,
    ExecutionSpec,
    ModelSpec,
    OrderSpec,
    RunSpec,
    SearchSpec,
    StoreSpec,
)
from pipeline.engines import execution
from pipeline.engines.network_estimator import Network
from pipeline.engines.searchcv import final_step
from pipeline.reports.files import summary_row

ENGINES = ("auto", *validation.ENGINES)  # the command line's engines, and auto: Network fused, the rest gridsearchcv


def run_spec(search: Any, tokens: Tokens) -> RunSpec:
    """The arguments as the command line's run spec, validated by the same checks; grid values the core's JSON
    cannot carry (estimators, arrays, tuples) stand in ``tokens``."""
    if search.engine not in ENGINES:
        raise UserError(f"engine={search.engine!r}: choose one of {', '.join(ENGINES)}")
    if isinstance(search.cv, bool) or not isinstance(search.cv, int | np.integer):
        raise UserError(f"cv={search.cv!r}: give the number of folds (an integer >= 2); the stages share seeded, "
                        "stratified folds, so a splitter object is not taken")  # fmt: skip
    if search.scoring is not None and not isinstance(search.scoring, str):
        raise UserError(f"scoring={search.scoring!r}: give a scorer's name (sklearn.metrics.get_scorer_names()); "
                        "a callable cannot key the stage store")  # fmt: skip
    if search.order not in (None, "auto"):
        raise UserError(f"order={search.order!r}: None (the stages as given) or 'auto' (ordered by the data)")
    if search.n_jobs is not None and (isinstance(search.n_jobs, bool) or not isinstance(search.n_jobs, int | np.integer)):
        raise UserError(f"n_jobs={search.n_jobs!r}: give a number of workers, -1 for every core, or None for one")
    network = isinstance(search.estimator, Network)
    if search.engine == "fused" and not network:
        raise UserError(f"engine='fused': trains the project's own network only (pipeline.Network), not "
                        f"{type(search.estimator).__name__}; use engine='auto' or 'gridsearchcv'")  # fmt: skip
    grids = _named(search.stages, tokens)
    stages: dict[str, dict[str, Any]] = {name: {"grid": grid, "conditions": {}, "simpler": {}}
                                          for name, grid in grids.items()}  # fmt: skip
    for param, requires in (search.conditions or {}).items():
        owner = next((n for n, g in grids.items() if param in g), next(iter(stages), None))
        if owner is not None:
            stages[owner]["conditions"][param] = {k: [tokens.encode(v) for v in _listed(f"conditions.{param}.{k}", v)]
                                                  for k, v in requires.items()}  # fmt: skip
    for param, rule in (search.simpler or {}).items():
        owner = next((n for n, g in grids.items() if param in g), None)
        if owner is None:
            raise UserError(f"simpler.{param}: no stage tunes {param}; name a parameter of a stage")
        stages[owner]["simpler"][param] = [tokens.encode(v) for v in rule] if isinstance(rule, list | tuple) else rule
    racing = search.racing or "none"
    if racing == "halving" and not network:
        _check_resource(search.estimator, search.resource, grids)
    model = search.estimator.model_spec() if network else _model_spec(search, stages, racing)
    spec = RunSpec(
        stages=stages,
        order=OrderSpec(stages=list(stages), **({"auto": dataclasses.replace(OrderSpec().auto, enabled=True)}
                                                if search.order == "auto" else {})),  # fmt: skip
        search=SearchSpec(cv=int(search.cv), scoring=search.scoring or "auto", n_jobs=1 if search.n_jobs is None else int(search.n_jobs),
                          seed=_seed(search.random_state), repeats=search.repeats, select=search.select,
                          passes=search.passes, strategy=search.strategy, budget=search.budget,
                          engine="fused" if network and search.engine != "gridsearchcv" else "gridsearchcv",
                          racing=racing, final_repeats=search.final_repeats,
                          nuisance={k: dict(v) for k, v in (search.nuisance or {}).items()}),  # fmt: skip
        model=model,
        execution=ExecutionSpec(keras_backend=execution.imported_backend() or "jax", compile_cache=None),
        store=_store(search.memory),
    )
    return validation.validate(spec) if network else validation.validate(spec, _parameters_of(search.estimator))


def _model_spec(search: Any, stages: Mapping[str, Mapping[str, Any]], racing: str) -> ModelSpec:
    """A user's estimator's training as the report reads it: its own epochs (or the race's budget) and whether
    an ``EarlyStopping`` callback stops its fits."""
    own = search.estimator.get_params(deep=True)
    epochs = _resource_value(search, racing) if racing == "halving" else own.get("epochs", own.get("fit__epochs"))
    callbacks = [c for key, value in own.items() if key.split("__")[-1] == "callbacks" and isinstance(value, list | tuple)
                 for c in value]  # fmt: skip
    stops = any("EarlyStopping" in getattr(c, "__name__", type(c).__name__) for c in callbacks)
    epochs = epochs if isinstance(epochs, int) and not isinstance(epochs, bool) and epochs >= 1 else ModelSpec().epochs
    return ModelSpec(params=_start(search, stages), epochs=epochs,
                     early_stopping=EarlyStoppingSpec(enabled=stops))  # fmt: skip


def _start(search: Any, stages: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The estimator's own values of the parameters the stages tune, a condition reads or a nuisance factor
    multiplies: what the first stage starts from, and what the final duel compares the tuned values with."""
    own = search.estimator.get_params(deep=True)
    read = {other for s in stages.values() for requires in s["conditions"].values() for other in requires}
    read |= set(search.nuisance or {}) | {param for s in stages.values() for param in s["grid"]}
    return {p: own[p] for p in sorted(read) if p in own and isinstance(own[p], str | int | float | bool)}


def _resource_value(search: Any, racing: str) -> int:
    """The full budget a race works up to: the estimator's own value of ``resource`` (its epochs, say)."""
    if racing != "halving":
        return ModelSpec().epochs
    value = search.estimator.get_params(deep=True)[search.resource]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"resource={search.resource!r}: racing needs a positive integer there (the most epochs, "
                        f"iterations or trees a candidate gets), but the estimator has {value!r}")  # fmt: skip
    return value


def task(estimator: Any, y: Any) -> str:
    """binary / multiclass / regression from the estimator's kind (scikeras' wrappers included: scikit-learn
    no longer recognises them), and from the target for the project's ``Network``."""
    if isinstance(estimator, Network):
        return estimator.task_of(pd.Series(np.asarray(y)))
    kind = getattr(final_step(estimator), "_estimator_type", None)
    if is_regressor(estimator) or kind == "regressor":
        return "regression"
    if is_classifier(estimator) or kind == "classifier":
        return "binary" if pd.Series(np.asarray(y)).nunique() <= 2 else "multiclass"
    return data.infer_task(pd.Series(np.asarray(y)))[0]


def _named(stages: Any, tokens: Tokens) -> dict[str, dict[str, list[Any]]]:
    """Stages as given (a dict of named grids), or a list of grids named by what they tune; each grid's values as
    a list the core can carry (numpy scalars as Python's, other objects as ``tokens``)."""
    if isinstance(stages, Mapping):
        given = [(str(name), grid, f"stages[{name!r}]") for name, grid in stages.items()]
    elif isinstance(stages, str) or not isinstance(stages, Sequence) or len(stages) == 0:
        raise UserError(f"stages={stages!r}: give a list of grids, e.g. [{{'C': [0.1, 1, 10]}}], or a dict of named grids")
    else:
        given = [("+".join(grid) if isinstance(grid, Mapping) else "", grid, f"stages[{i}]") for i, grid in enumerate(stages)]
    named: dict[str, dict[str, list[Any]]] = {}
    for position, (name, grid, where) in enumerate(given, start=1):
        if not isinstance(grid, Mapping):
            raise UserError(f"{where}={grid!r}: a stage is a grid, a dict of parameter -> values")
        name = name or f"stage{position}"
        values = {str(param): [tokens.encode(v) for v in _listed(f"{where}[{param!r}]", grid[param])] for param in grid}
        named[name if name not in named else f"{name}#{position}"] = values
    return named


def _listed(where: str, values: Any) -> list[Any]:
    """A grid's values as a list: a list, tuple, range, set or numpy array is one; a single value is refused."""
    if isinstance(values, str | bytes | Mapping) or not hasattr(values, "__iter__"):
        raise UserError(f"{where}={values!r}: a grid is a list of values, e.g. [{values!r}]")
    return list(values)


def _seed(random_state: Any) -> int:
    """The folds' seed: an int as it is; a ``RandomState`` or None (scikit-learn's default: fresh folds) drawn from."""
    from sklearn.utils import check_random_state

    if isinstance(random_state, int | np.integer) and not isinstance(random_state, bool):
        return int(random_state)
    try:
        return int(check_random_state(random_state).randint(2**31 - 1))
    except ValueError:
        raise UserError(f"random_state={random_state!r}: give an int, a numpy RandomState or None") from None


def _store(memory: Any) -> StoreSpec:
    """``memory``: a folder, a ``joblib.Memory`` (its location), or None (nothing stored)."""
    location = getattr(memory, "location", memory)
    if location is not None and not isinstance(location, str | Path):
        raise UserError(f"memory={memory!r}: give a folder for the stage store, a joblib.Memory, or None")
    return StoreSpec(dir=str(location or "stages"), mode="readwrite" if location else "off")


def _parameters_of(estimator: Any) -> Any:
    """The values check for a user's estimator: its parameter names (nested ones as ``step__param``, scikeras' routed
    ones as ``model__neurons``, which its build function must take); the values themselves are the estimator's
    business (a bad one fails its fits, as in ``GridSearchCV``)."""
    known = estimator.get_params(deep=True)

    def check(key: str, param: str, values: list[Any]) -> list[Any]:
        if not _routed(estimator, known, param, key) and param not in known:
            near = [k for k in known if k.split("__")[-1] == param.split("__")[-1]]
            hint = f"; did you mean {near[0]!r}?" if near else f"; it has {', '.join(sorted(known)[:12])}"
            raise UserError(f"{key}: {type(estimator).__name__} has no parameter {param!r}{hint}")
        return list(values)

    return check


def _routed(estimator: Any, known: Mapping[str, Any], param: str, key: str) -> bool:
    """A scikeras routed parameter (``[step__]model__neurons``, ``optimizer__momentum``): true where the wrapper
    routes that prefix; a ``model__`` one must also be an argument of the build function."""
    parts = param.split("__")
    for i in range(len(parts) - 1):
        owner = estimator if i == 0 else known.get("__".join(parts[:i]))
        if parts[i] == "callbacks" and hasattr(owner, "_routing_prefixes"):
            raise UserError(f"{key}: scikeras sets callbacks__* arguments only when the estimator is made (its "
                            "set_params does not route them, in GridSearchCV either); give them to the constructor, "
                            "e.g. callbacks__0__patience=5, and tune other parameters")  # fmt: skip
        if parts[i] not in getattr(owner, "_routing_prefixes", ()):
            continue
        build = getattr(owner, "model", None)
        if parts[i] == "model" and i + 2 == len(parts) and callable(build) and not isinstance(build, type):
            import inspect

            arguments = inspect.signature(build).parameters.values()
            if not any(a.name == parts[-1] or a.kind == a.VAR_KEYWORD for a in arguments):
                raise UserError(f"{key}: the build function {getattr(build, '__name__', build)!r} takes no argument "
                                f"{parts[-1]!r}; add it to its signature or tune another parameter")  # fmt: skip
        return True
    return False


def _check_resource(estimator: Any, resource: str, grids: Mapping[str, Mapping[str, Any]]) -> None:
    if resource not in estimator.get_params(deep=True):
        raise UserError(f"resource={resource!r}: {type(estimator).__name__} has no such parameter; racing gives each "
                        "rung more of it: name its epochs, max_iter or n_estimators")  # fmt: skip
    for name, grid in grids.items():
        if resource in grid:
            raise UserError(f"stages.{name}.grid.{resource}: racing spends {resource}, so a raced search cannot tune "
                            "it; set racing=None or drop it from the stage")  # fmt: skip


def in_api_words(message: str) -> str:
    """The command line's keys as this estimator's arguments: ``search.n_jobs`` is ``n_jobs`` here."""
    return re.sub(r"\bsearch\.(\w+)", r"\1", message)


def check_input(estimator: Any, X: Any, y: Any) -> None:
    """scikit-learn's input checks, with its messages: dense 2-D ``X`` (NaN left to the estimator's own
    imputation), a 1-D ``y`` of as many rows, a classification target for a classifier."""
    check_X_y(X, y, accept_sparse=False, dtype=None, ensure_all_finite=False, ensure_min_samples=2)
    if task(estimator, y) != "regression":
        check_classification_targets(y)
        classes = pd.unique(np.asarray(y))
        if len(classes) < 2:
            raise ValueError(f"y holds one class ({plain(classes[0])!r}) only: a classifier needs at least two; check "
                             "how the rows were selected, or tune a regressor")  # fmt: skip


def stage_record(result: StageResult, tokens: Tokens) -> dict[str, Any]:
    """A stage's record as ``stage_results_`` shows it: its row of the command line's ``summary.csv``, with the
    user's own objects for the values that stood in ``tokens`` and the decision as a dict."""
    row = summary_row(result)
    return row | {"winner": tokens.decode(row["winner"]), "ties": [tokens.decode(t) for t in row["ties"]],
                  "decision": dataclasses.asdict(row["decision"])}  # fmt: skip


def cv_results(results: Sequence[StageResult], tokens: Tokens) -> dict[str, Any]:
    """Every stage's ``cv_results_`` table stacked, with a ``stage`` column; ``params`` as dicts (scikit-learn's)."""
    tables = [r.cv_results.assign(stage=r.stage) for r in results if len(r.cv_results)]
    if not tables:
        return {"stage": np.array([], dtype=object), "params": []}
    joined = pd.concat(tables, ignore_index=True)
    columns: dict[str, Any] = {c: joined[c].to_numpy() for c in joined.columns if c != "params"}
    columns["params"] = [tokens.decode(json.loads(p)) for p in joined["params"]]
    return columns
