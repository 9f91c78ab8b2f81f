"""Every setting of a ``RunSpec`` checked before any data is read or any fit starts: ``UserError`` names the first
bad key and how to fix it."""
from __future__ import annotations

import copy
import importlib.util
import re
from collections.abc import Callable
from typing import Any

from pipeline.common.errors import UserError
from pipeline.config.catalogue import check_values, normalised, number
from pipeline.config.schema import RunSpec, StageSpec

STORE_MODES = ("readwrite", "readonly", "off")
MAX_EPOCHS = 1_000_000  # the fused engine counts epochs and steps in 32-bit integers
SELECTIONS = ("one_se", "best")
STRATEGIES = ("staged", "exhaustive", "random", "tpe")
ENGINES = ("gridsearchcv", "fused")
AUTO_DIRECTIONS = ("important_first", "important_last")
AUTO_STARTS = ("best_screened", "defaults")
RACING = ("none", "halving")
TRACKERS = ("none", "mlflow")
MONITORS = ("val_loss", "loss")  # what early stopping can watch (the networks are compiled without metrics)
BACKENDS = ("jax", "tensorflow")
EXECUTIONS = ("local", "dask")
TASKS = ("auto", "binary", "multiclass", "regression")
STAGE_KEYS = ("grid", "conditions", "simpler", "racing")
DASK_ADDRESS = r"((tcp|tls|ucx|ws|wss)://)?([\w\-]+(\.[\w\-]+)*|\[[0-9a-fA-F:]+\])(:\d{1,5})?"  # host[:port]

MLFLOW_MISSING = "tracking=mlflow: MLflow is not installed; pip install -e '.[mlflow]' (or tracking=none)"


ValuesCheck = Callable[[str, str, list[Any]], list[Any]]  # (key, param, values) -> the values, normalised


def validate(given: RunSpec, values: ValuesCheck = check_values) -> RunSpec:
    """Check every setting; raise ``UserError`` naming the first bad key and how to fix it. ``values`` checks a
    parameter's name and values: the project's network's catalogue, or (``StagedSearchCV``) a user estimator's.
    Returns the spec normalised (each value as the type its parameter takes, stages as ``StageSpec``s, duplicates
    dropped): a copy, so the spec given is left as it was."""
    spec = copy.deepcopy(given)
    ds, search, model, es, ex = spec.dataset, spec.search, spec.model, spec.model.early_stopping, spec.execution
    _check(0 < ds.test_size < 1, "dataset.test_size", ds.test_size, "must be between 0 and 1, e.g. 0.2")
    _check(ds.task in TASKS, "dataset.task", ds.task, f"choose {', '.join(TASKS)}")
    _check(search.cv >= 2, "search.cv", search.cv, "must be at least 2 folds")
    _check(0 <= search.seed < 2**32, "search.seed", search.seed, "must be a seed from 0 to 2**32 - 1")
    _check(search.final_repeats >= 0, "search.final_repeats", search.final_repeats,
           "must be 0 (no final duel) or more, e.g. 3")
    _check(search.repeats >= 1, "search.repeats", search.repeats, "must be at least 1 (1 = plain cross-validation)")
    _check(search.n_jobs != 0, "search.n_jobs", search.n_jobs, "must be -1 (all cores) or a positive count")
    _one_of("search.select", search.select, SELECTIONS)
    _check(search.passes >= 1, "search.passes", search.passes, "must be at least 1")
    _one_of("search.strategy", search.strategy, STRATEGIES)
    _check(search.budget is None or search.budget >= 1, "search.budget", search.budget, "must be at least 1 (or null)")
    _one_of("search.engine", search.engine, ENGINES)
    _one_of("search.racing", search.racing, RACING)
    _check(not (search.strategy == "tpe" and search.racing == "halving"), "search.racing", search.racing,
           "not with search.strategy=tpe (TPE learns from each candidate's full score, a race stops most of them "
           "early); race the staged, exhaustive or random search, or set search.racing=none")
    _check(number(search.halving.factor) and search.halving.factor >= 2, "search.halving.factor", search.halving.factor,
           "must be at least 2, e.g. 3: a smaller factor keeps every candidate of a small stage at every rung, so "
           "nothing is raced")  # fmt: skip
    _check(search.halving.min_epochs is None or 1 <= search.halving.min_epochs <= model.epochs,
           "search.halving.min_epochs", search.halving.min_epochs, f"must be from 1 to model.epochs ({model.epochs}), "
           "or null")  # fmt: skip
    _check(1 <= model.epochs <= MAX_EPOCHS, "model.epochs", model.epochs, f"must be from 1 to {MAX_EPOCHS:,}")
    _check(model.batch_size >= 1, "model.batch_size", model.batch_size, "must be at least 1")
    if es.enabled:
        _check(0 < es.validation_split < 1, "model.early_stopping.validation_split", es.validation_split,
               "must be between 0 and 1")  # fmt: skip
        _check(es.patience >= 0, "model.early_stopping.patience", es.patience, "must be >= 0")
        _one_of("model.early_stopping.monitor", es.monitor, MONITORS)
    _one_of("execution.keras_backend", ex.keras_backend, BACKENDS)
    _one_of("execution.kind", ex.kind, EXECUTIONS)
    _check(ex.workers >= 1, "execution.workers", ex.workers, "must be at least 1")
    _check(ex.address is None or re.fullmatch(DASK_ADDRESS, ex.address) is not None,
           "execution.address", ex.address, "not a scheduler address; e.g. tcp://10.0.0.5:8786 (or null for a local "
           "cluster)")  # fmt: skip
    port = re.search(r":(\d+)$", ex.address or "")
    _check(port is None or 1 <= int(port.group(1)) <= 65535, "execution.address", ex.address,
           "the port must be from 1 to 65535; e.g. tcp://10.0.0.5:8786")  # fmt: skip
    _one_of("store.mode", spec.store.mode, STORE_MODES)
    _one_of("tracking.kind", spec.tracking.kind, TRACKERS)
    if spec.tracking.kind == "mlflow" and importlib.util.find_spec("mlflow") is None:
        raise UserError(MLFLOW_MISSING)
    for name, value in model.params.items():
        model.params[name] = values(f"model.params.{name}", name, [value])[0]
    _check_stages(spec, values)
    _check_auto(spec)
    _check_nuisance(spec, values)
    return spec


def _check_nuisance(spec: RunSpec, values: ValuesCheck) -> None:
    conditioned = spec.conditions()
    for param, how in spec.search.nuisance.items():
        key = f"search.nuisance.{param}"
        values(key, param, [])
        given = [k for k in ("values", "factors") if isinstance(how, dict) and how.get(k) is not None]
        _check(isinstance(how, dict) and len(given) == 1 and set(how) == set(given), key, how,
               "give values: [...] or factors: [...] (times the frozen value), e.g. {factors: [0.333, 1, 3]}")  # fmt: skip
        _check(param not in conditioned, key, how, f"applies only for some values of {', '.join(conditioned.get(param, {}))} "
               "(a stage's conditions): a nuisance parameter must apply to every candidate")  # fmt: skip
        entries = how[given[0]]
        _check(isinstance(entries, list) and len(entries) > 0, f"{key}.{given[0]}", entries, "must be a non-empty list")
        if given[0] == "values":
            how["values"] = values(f"{key}.values", param, entries)
            continue
        _check(all(number(f) and f > 0 for f in entries), f"{key}.factors", entries, "must be numbers > 0")
        _check(number(spec.model.params.get(param)), f"{key}.factors", entries,
               f"multiply the frozen value: give a starting value model.params.{param}=... (or values instead)")  # fmt: skip


def _check_auto(spec: RunSpec) -> None:
    auto, screened = spec.order.auto, len(spec.order.names())
    if not auto.enabled:
        return
    _check(auto.stages is None or len(auto.stages) > 0, "order.auto.stages", auto.stages,
           "must name at least one stage to screen, or be null (= order.stages)")
    _check(spec.search.strategy == "staged", "search.strategy", spec.search.strategy,
           "order=auto orders the stages of the staged search; use search.strategy=staged (or drop order=auto)")
    _check(auto.budget >= screened, "order.auto.budget", auto.budget,
           f"must be at least the number of stages screened ({screened}), e.g. 16: fewer configurations cannot "
           "tell the stages' importance apart")  # fmt: skip
    _check(0 <= auto.skip_below < 1, "order.auto.skip_below", auto.skip_below,
           "must be a share from 0 (skip nothing) to below 1, e.g. 0.05")
    _one_of("order.auto.direction", auto.direction, AUTO_DIRECTIONS)
    _one_of("order.auto.start", auto.start, AUTO_STARTS)
    _check(auto.epochs is None or 1 <= auto.epochs <= spec.model.epochs, "order.auto.epochs", auto.epochs,
           f"must be from 1 to model.epochs ({spec.model.epochs}), or null (= model.epochs)")


def _check_stages(spec: RunSpec, values: ValuesCheck) -> None:
    for name, entry in list(spec.stages.items()):
        if not isinstance(entry, StageSpec):
            _check(isinstance(entry, dict), f"stages.{name}", entry, f"a stage is a mapping of {', '.join(STAGE_KEYS)}")
            unknown = [k for k in entry if k not in STAGE_KEYS]
            if unknown:
                raise UserError(f"stages.{name}.{unknown[0]}: unknown key; a stage has {', '.join(STAGE_KEYS)}")
            fields: dict[str, Any] = {k: v if k == "racing" else v or {} for k, v in entry.items()}
            spec.stages[name] = StageSpec(**fields)
    names = spec.order.names()
    listed = "order.auto.stages" if spec.order.auto.enabled and spec.order.auto.stages else "order.stages"
    _check(len(names) > 0, listed, names, "must name at least one stage")
    tuned_by: dict[str, str] = {}
    for position, name in enumerate(names):
        if name in names[:position]:
            raise UserError(f"{listed}: stage {name!r} appears twice; a stage runs once per pass "
                            "(search.passes=2 runs the whole order again)")  # fmt: skip
        if name not in spec.stages:
            raise UserError(f"{listed}: unknown stage {name!r}; known: {', '.join(spec.stages)} "
                            f"(or define it with +stages.{name}.grid.<param>=[...])")  # fmt: skip
        stage = spec.stages[name]
        _check(bool(stage.grid), f"stages.{name}.grid", {}, "is empty; give at least one parameter")
        if stage.racing is not None:
            _one_of(f"stages.{name}.racing", stage.racing, RACING)
        joint = spec.search.strategy != "staged"  # the baselines race their one joint stage as search.racing says
        if spec.racing(None if joint else name) == "halving" and "epochs" in stage.grid:
            raise UserError(f"stages.{name}.grid.epochs: racing spends epochs, so a raced stage cannot tune them; "
                            f"set stages.{name}.racing=none or tune epochs without racing")  # fmt: skip
        for param, grid in stage.grid.items():
            key = f"stages.{name}.grid.{param}"
            if not isinstance(grid, list) or len(grid) == 0:
                raise UserError(f"{key}={_show(grid)}: a grid must be a non-empty list, e.g. {param}=[a,b]")
            stage.grid[param] = list(dict.fromkeys(values(key, param, grid)))
            if param in tuned_by:
                raise UserError(f"{key}: {param} is already tuned by stage {tuned_by[param]!r}; tune it in one stage only")
            tuned_by[param] = name
        for param, rule in stage.simpler.items():
            key = f"stages.{name}.simpler.{param}"
            _check(param in stage.grid, key, rule, "names a parameter this stage does not tune")
            _check(rule in ("ascending", "descending") or isinstance(rule, list), key, rule,
                   "must be ascending, descending or a list of values, simplest first")  # fmt: skip
            text = [v for v in stage.grid[param] if not number(v)] if rule in ("ascending", "descending") else []
            if text:
                raise UserError(f"{key}={rule}: orders numbers, but {param} has {text[0]!r}; "
                                f"list the values simplest first instead, e.g. {_show(stage.grid[param])}")  # fmt: skip
    for name, stage in spec.stages.items():
        for param, requires in stage.conditions.items():
            values(f"stages.{name}.conditions.{param}", param, [])
            _check(isinstance(requires, dict) and bool(requires), f"stages.{name}.conditions.{param}", requires,
                   "must map a parameter to the values it applies for, e.g. {optimizer: [sgd]}")  # fmt: skip
            for other, allowed in requires.items():
                key = f"stages.{name}.conditions.{param}.{other}"
                values(key, other, [])
                _check(isinstance(allowed, list) and len(allowed) > 0, key, allowed, "must be a non-empty list")
                requires[other] = [normalised(other, v) for v in allowed]


def _one_of(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    _check(value in allowed, key, value, f"choose one of {', '.join(allowed)}")


def _check(ok: bool, key: str, value: Any, fix: str) -> None:
    if not ok:
        raise UserError(f"{key}={_show(value)}: {fix}")


def _show(value: Any) -> str:
    return str(value).replace(" ", "")
