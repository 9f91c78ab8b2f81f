"""The config tree: Hydra schema, and its validation into a plain ``RunSpec``.

Only this module and the entry point touch ``DictConfig``. Everything is checked here,
before any fit: a bad key gets one line that names it and says how to fix it.
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from pipeline.errors import UserError
from pipeline.execution import BACKENDS, KINDS
from pipeline.network import NOT_SEARCHABLE, build_network

STORE_MODES = ("readwrite", "readonly", "off")
SELECTIONS = ("best", "one_se")
STRATEGIES = ("staged", "exhaustive", "random")
ENGINES = ("gridsearchcv", "fused")
MONITORS = ("val_loss", "loss")  # what early stopping can watch

# --- Hydra schema: typos and wrong types in YAML or overrides fail loudly -------------


@dataclass
class DatasetConf:
    name: str = MISSING
    path: Optional[str] = None
    target: Optional[str] = None
    task: str = "auto"
    drop: list[str] = field(default_factory=list)
    test_size: float = 0.2


STAGE_KEYS = ("grid", "conditions", "simpler")  # a stage: its grid, its conditions, what "simpler" means


@dataclass
class OrderConf:
    stages: list[str] = MISSING


@dataclass
class SearchConf:
    cv: int = 3
    scoring: str = "auto"
    n_jobs: int = -1
    seed: int = 0
    select: str = "best"  # best | one_se: the simplest candidate within one standard error of the best
    passes: int = 1  # run the order again with the new winners until they stop changing
    strategy: str = "staged"  # staged | exhaustive (one grid over all stages) | random (same space, a budget)
    budget: Optional[int] = None  # random: candidates to sample; default: as many as the staged search fits
    engine: str = "gridsearchcv"  # gridsearchcv (one Keras fit per candidate × fold) | fused (one JAX program per stage)


@dataclass
class EarlyStoppingConf:
    enabled: bool = True
    monitor: str = "val_loss"
    patience: int = 5
    restore_best_weights: bool = True
    validation_split: float = 0.2


@dataclass
class ModelConf:
    params: dict[str, Any] = field(default_factory=dict)
    epochs: int = 50
    batch_size: int = 32
    early_stopping: EarlyStoppingConf = field(default_factory=EarlyStoppingConf)


@dataclass
class ExecutionConf:
    kind: str = "local"  # local (joblib/loky workers on this machine) | dask
    keras_backend: str = "jax"
    address: Optional[str] = None  # dask: the scheduler, e.g. tcp://10.0.0.5:8786; null = start a local cluster
    workers: int = 2  # dask without an address: worker processes of the local cluster
    compile_cache: Optional[str] = "~/.cache/staged-keras-search/xla"


@dataclass
class StoreConf:
    dir: str = "stages"  # relative to the directory the command was started from
    mode: str = "readwrite"  # readwrite | readonly | off


@dataclass
class Config:
    dataset: DatasetConf = MISSING
    stages: dict[str, Any] = field(default_factory=dict)  # name -> {grid, conditions}; checked below
    order: OrderConf = MISSING
    search: SearchConf = field(default_factory=SearchConf)
    model: ModelConf = field(default_factory=ModelConf)
    execution: ExecutionConf = field(default_factory=ExecutionConf)
    store: StoreConf = field(default_factory=StoreConf)


ConfigStore.instance().store(name="schema", node=Config)

# --- What may be searched --------------------------------------------------------------

MODEL_PARAMS = tuple(f"model__{p}" for p in inspect.signature(build_network).parameters if p not in NOT_SEARCHABLE)
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "ftrl", "lion")
OPTIMIZER_KWARGS = (
    "learning_rate", "momentum", "nesterov", "beta_1", "beta_2", "epsilon", "rho", "amsgrad",
    "weight_decay", "clipnorm", "clipvalue", "initial_accumulator_value",
)  # fmt: skip
ACTIVATIONS = (
    "relu", "tanh", "sigmoid", "elu", "selu", "gelu", "silu", "swish", "softplus", "softsign",
    "linear", "leaky_relu", "relu6", "hard_sigmoid", "exponential", "mish",
)  # fmt: skip
INITS = (
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
    "random_uniform", "random_normal", "truncated_normal", "orthogonal", "uniform", "normal", "zeros", "ones",
)  # fmt: skip
SEARCHABLE = ("optimizer", "batch_size", "epochs", *MODEL_PARAMS, *(f"optimizer__{k}" for k in OPTIMIZER_KWARGS))


def _in(allowed):
    return lambda v: v in allowed, f"one of {', '.join(allowed)}"


VALUE_RULES = {
    "optimizer": _in(OPTIMIZERS),
    "model__activation": _in(ACTIVATIONS),
    "model__init": _in(INITS),
    "model__dropout": (lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "model__depth": (lambda v: _integer(v) and v >= 0, "an integer >= 0"),
    "model__neurons": (lambda v: _integer(v) and v >= 1, "an integer >= 1"),
    "optimizer__learning_rate": (lambda v: _number(v) and v > 0, "a number > 0"),
    "optimizer__momentum": (lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "batch_size": (lambda v: _integer(v) and v >= 1, "an integer >= 1"),
    "epochs": (lambda v: _integer(v) and v >= 1, "an integer >= 1"),
}


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _integer(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# --- The validated, Hydra-free description of a run -------------------------------------


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    path: str | None = None
    target: str | None = None
    task: str = "auto"
    drop: tuple[str, ...] = ()
    test_size: float = 0.2


@dataclass(frozen=True)
class StageSpec:
    name: str
    grid: dict[str, list]
    simpler: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainingSpec:
    """How each fit trains, besides the searchable parameters."""

    epochs: int
    batch_size: int
    early_stopping: dict[str, Any] | None  # monitor, patience, restore_best_weights, validation_split


@dataclass(frozen=True)
class SearchSpec:
    cv: int
    scoring: str
    n_jobs: int
    seed: int
    select: str = "best"
    passes: int = 1
    strategy: str = "staged"
    budget: int | None = None
    engine: str = "gridsearchcv"


@dataclass(frozen=True)
class RunSpec:
    dataset: DatasetSpec
    stages: tuple[StageSpec, ...]
    conditions: dict[str, dict[str, list]]
    base_params: dict[str, Any]
    training: TrainingSpec
    search: SearchSpec
    keras_backend: str
    compile_cache: str | None
    store_dir: str
    store_mode: str
    execution: str = "local"
    dask_address: str | None = None
    dask_workers: int = 2


def build_run_spec(cfg: DictConfig) -> RunSpec:
    """Validate the composed config; raise ``UserError`` naming the first bad key."""
    try:
        return _build(cfg)
    except MissingMandatoryValue as exc:
        key = getattr(exc, "full_key", "") or "a required key"
        raise UserError(f"{key} is required: add {key}=<value> on the command line") from None


def _build(cfg: DictConfig) -> RunSpec:
    ds = cfg.dataset
    _check(0 < ds.test_size < 1, "dataset.test_size", ds.test_size, "must be between 0 and 1, e.g. 0.2")
    dataset = DatasetSpec(ds.name, ds.path, ds.target, ds.task, tuple(ds.drop), float(ds.test_size))

    search = cfg.search
    _check(search.cv >= 2, "search.cv", search.cv, "must be at least 2 folds")
    _check(search.n_jobs != 0, "search.n_jobs", search.n_jobs, "must be -1 (all cores) or a positive count")
    _check(search.select in SELECTIONS, "search.select", search.select, f"choose one of {', '.join(SELECTIONS)}")
    _check(search.passes >= 1, "search.passes", search.passes, "must be at least 1")
    _check(search.strategy in STRATEGIES, "search.strategy", search.strategy, f"choose one of {', '.join(STRATEGIES)}")
    _check(search.budget is None or search.budget >= 1, "search.budget", search.budget, "must be at least 1 (or null)")
    _check(search.engine in ENGINES, "search.engine", search.engine, f"choose one of {', '.join(ENGINES)}")
    m = cfg.model
    _check(m.epochs >= 1, "model.epochs", m.epochs, "must be at least 1")
    _check(m.batch_size >= 1, "model.batch_size", m.batch_size, "must be at least 1")
    es = m.early_stopping
    early_stopping = None
    if es.enabled:
        _check(0 < es.validation_split < 1, "model.early_stopping.validation_split", es.validation_split, "must be between 0 and 1")
        _check(es.patience >= 0, "model.early_stopping.patience", es.patience, "must be >= 0")
        _check(es.monitor in MONITORS, "model.early_stopping.monitor", es.monitor,
               f"choose {' or '.join(MONITORS)} (the networks are compiled without metrics)")  # fmt: skip
        early_stopping = {
            "monitor": es.monitor,
            "patience": es.patience,
            "restore_best_weights": es.restore_best_weights,
            "validation_split": es.validation_split,
        }
    _check(cfg.execution.keras_backend in BACKENDS, "execution.keras_backend", cfg.execution.keras_backend, f"choose one of {', '.join(BACKENDS)}")

    _check(cfg.execution.kind in KINDS, "execution.kind", cfg.execution.kind, f"choose one of {', '.join(KINDS)}")
    _check(cfg.execution.workers >= 1, "execution.workers", cfg.execution.workers, "must be at least 1")
    _check(cfg.store.mode in STORE_MODES, "store.mode", cfg.store.mode, f"choose one of {', '.join(STORE_MODES)}")

    base_params = _plain(m.params)
    for name, value in base_params.items():
        _check_param(f"model.params.{name}", name, [value])

    order = list(cfg.order.stages)
    _check(len(order) > 0, "order.stages", order, "must name at least one stage")
    stages, tuned_by = [], {}
    for name in order:
        if name not in cfg.stages:
            raise UserError(
                f"order.stages: unknown stage {name!r}; known: {', '.join(cfg.stages)} "
                f"(or define it with +stages.{name}.grid.<param>=[...])"
            )
        entry = cfg.stages[name]
        unknown = [k for k in entry if k not in STAGE_KEYS]
        if unknown:
            raise UserError(f"stages.{name}.{unknown[0]}: unknown key; a stage has {', '.join(STAGE_KEYS)}")
        grid = {}
        for param, values in entry.get("grid", {}).items():
            key = f"stages.{name}.grid.{param}"
            if not isinstance(values, ListConfig | list) or len(values) == 0:
                raise UserError(f"{key}={_show(values)}: a grid must be a non-empty list, e.g. {param}=[a,b]")
            _check_param(key, param, _plain(values))
            if param in tuned_by:
                raise UserError(f"{key}: {param} is already tuned by stage {tuned_by[param]!r}; tune it in one stage only")
            tuned_by[param] = name
            grid[param] = _plain(values)
        _check(bool(grid), f"stages.{name}.grid", {}, "is empty; give at least one parameter")
        simpler = _plain(entry.get("simpler", {}))
        for param, rule in simpler.items():
            key = f"stages.{name}.simpler.{param}"
            _check(param in grid, key, rule, "names a parameter this stage does not tune")
            _check(rule in ("ascending", "descending") or isinstance(rule, list), key, rule,
                   "must be ascending, descending or a list of values, simplest first")  # fmt: skip
        stages.append(StageSpec(name, grid, simpler))

    conditions: dict[str, dict[str, list]] = {}
    for name, stage in cfg.stages.items():
        for param, requires in _plain(stage.get("conditions", {})).items():
            _check(param in SEARCHABLE, f"stages.{name}.conditions.{param}", requires, "names an unknown parameter")
            for other, allowed in requires.items():
                key = f"stages.{name}.conditions.{param}.{other}"
                _check(other in SEARCHABLE, key, allowed, "names an unknown parameter")
                _check(isinstance(allowed, list) and len(allowed) > 0, key, allowed, "must be a non-empty list")
            conditions.setdefault(param, {}).update(requires)

    return RunSpec(
        dataset=dataset,
        stages=tuple(stages),
        conditions=conditions,
        base_params=base_params,
        training=TrainingSpec(m.epochs, m.batch_size, early_stopping),
        search=SearchSpec(search.cv, search.scoring, search.n_jobs, search.seed, search.select, search.passes,
                          search.strategy, search.budget, search.engine),  # fmt: skip
        keras_backend=cfg.execution.keras_backend,
        compile_cache=cfg.execution.compile_cache,
        store_dir=cfg.store.dir,
        store_mode=cfg.store.mode,
        execution=cfg.execution.kind,
        dask_address=cfg.execution.address,
        dask_workers=cfg.execution.workers,
    )


def _check_param(key: str, param: str, values: list) -> None:
    if param not in SEARCHABLE:
        raise UserError(f"{key}: unknown parameter {param!r}; searchable: {', '.join(SEARCHABLE)}")
    rule = VALUE_RULES.get(param)
    if rule:
        ok, expected = rule
        bad = [v for v in values if not ok(v)]
        if bad:
            raise UserError(f"{key}: bad value {bad[0]!r}; {param.split('__')[-1]} must be {expected}")


def _check(ok: bool, key: str, value: Any, fix: str) -> None:
    if not ok:
        raise UserError(f"{key}={_show(value)}: {fix}")


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig | ListConfig) else node


def _show(value: Any) -> str:
    return str(_plain(value)).replace(" ", "")


def describe_hydra_error(exc: Exception) -> str:
    """Hydra's composition errors (bad override syntax, unknown option or key) as one line."""
    text = str(exc)
    cause = str(exc.__cause__ or "")
    missing = re.search(r"Could not find '(.+)/([^/']+)'", text)
    if missing:
        group, option = missing.groups()
        options = re.findall(r"^\t(\S+)$", text.split("Config search path")[0], flags=re.M)
        if options:
            return f"{group}={option}: unknown option; choose one of {', '.join(options)}"
        return f"{group}: unknown config group; see python -m pipeline --help"
    unknown_key = re.search(r"Could not override '(.+?)'", text)
    if unknown_key:
        key = unknown_key.group(1)
        return f"{key}: unknown key; check the spelling (python -m pipeline --cfg job lists every key)"
    merging = re.search(r"Error merging override (\S+)", text)
    if merging and cause:
        return f"{merging.group(1)}: {cause.splitlines()[0]}"
    if "override_grammar" in text or "no viable alternative" in text or "mismatched input" in text:
        return f"bad override syntax: {text.splitlines()[0]} (quote overrides that hold brackets or spaces)"
    lines = [ln.strip() for ln in (text + "\n" + cause).splitlines() if ln.strip() and "full_key" not in ln]
    return "; ".join(lines[:2])
