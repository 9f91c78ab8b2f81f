"""The run's settings: one dataclass tree that is both Hydra's schema and the validated run spec.

``pipeline.config.compose`` registers ``RunSpec`` with Hydra (so a typo or a wrong type fails
while composing) and turns the composed config into an instance of it; ``validation.validate``
then checks every value, before any data is read or any fit starts. Nothing here imports Hydra,
so the runner, the store and the reports can read a spec without loading it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass
class DatasetSpec:
    name: str = "breast_cancer"
    path: Optional[str] = None
    target: Optional[str] = None
    task: str = "auto"
    drop: list[str] = field(default_factory=list)
    test_size: float = 0.2
    header: bool = True  # false: the file's first row is data; columns are then named 0, 1, 2, …
    encoding: str = "utf-8"  # of a CSV file; a UTF-8 byte-order mark (Excel's "CSV UTF-8") is dropped


@dataclass
class StageSpec:
    """One family of parameters: its grid (routed names), conditions, and what "simpler" means."""

    grid: dict[str, Any] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)  # param -> {other param: [values it applies for]}
    simpler: dict[str, Any] = field(default_factory=dict)  # param -> ascending | descending | [simplest first]
    racing: Optional[str] = None  # none | halving for this stage; null = search.racing


@dataclass
class AutoSpec:
    """order=auto: screen the stages' joint space, measure each stage's importance, run them in that order."""

    enabled: bool = False
    stages: Optional[list[str]] = None  # the stages screened and ordered; null = order.stages
    budget: int = 16  # configurations screened (each on the cv folds)
    epochs: Optional[int] = None  # screening epochs; null = model.epochs (screened fits then serve the stages too)
    direction: str = "important_first"  # important_first | important_last
    skip_below: float = 0.05  # skip a stage whose importance interval lies wholly below this share
    start: str = "best_screened"  # best_screened | defaults (model.params): what the stages then refine


@dataclass
class OrderSpec:
    stages: list[str] = field(default_factory=list)
    auto: AutoSpec = field(default_factory=AutoSpec)

    def names(self) -> list[str]:
        """The stages of the order (with order=auto: the ones screened, in the catalogue's order until measured)."""
        return list(self.auto.stages or self.stages) if self.auto.enabled else list(self.stages)


@dataclass
class HalvingSpec:
    factor: float = 3  # keep the best 1/factor of the candidates at each rung, give them factor times the epochs
    min_epochs: Optional[int] = None  # epochs of the first rung; null = so that the last rung trains model.epochs


@dataclass
class SearchSpec:
    cv: int = 3
    scoring: str = "auto"
    n_jobs: int = -1
    seed: int = 0
    repeats: int = 1  # repeated cross-validation: the cv folds reshuffled this many times (standard errors count seeds)
    select: str = "one_se"  # one_se (the simplest within one standard error of the best) | best
    passes: int = 1  # run the order again with the new winners until they stop changing
    strategy: str = "staged"  # staged | exhaustive (one grid over all stages) | random | tpe (same space, a budget)
    budget: Optional[int] = None  # random, tpe: candidates to evaluate; default: the most the staged search can evaluate
    engine: str = "gridsearchcv"  # gridsearchcv (a Keras fit per candidate × fold) | fused (compiled JAX programs)
    racing: str = "none"  # none | halving (successive halving over epochs inside each stage)
    halving: HalvingSpec = field(default_factory=HalvingSpec)
    # param -> {values: [...]} or {factors: [...]} (times the value frozen then): re-tuned inside every stage that
    # does not tune it, each candidate scored at its best (preset: nuisance=learning_rate)
    nuisance: dict[str, Any] = field(default_factory=dict)
    final_repeats: int = 2  # the final duel (tuned vs starting configuration) on cv folds of its own, reshuffled this often; 0: none


@dataclass
class EarlyStoppingSpec:
    enabled: bool = True
    monitor: str = "val_loss"
    patience: int = 5
    restore_best_weights: bool = True
    validation_split: float = 0.2


@dataclass
class ModelSpec:
    """How every fit trains, besides the searched parameters (``params`` are their starting values)."""

    params: dict[str, Any] = field(default_factory=dict)
    epochs: int = 50
    batch_size: int = 32
    early_stopping: EarlyStoppingSpec = field(default_factory=EarlyStoppingSpec)

    def training(self) -> dict[str, Any]:
        """What decides a fit besides its parameters: epochs, batch size, early stopping (or None)."""
        es = self.early_stopping
        stopping = None
        if es.enabled:
            stopping = {"monitor": es.monitor, "patience": es.patience, "restore_best_weights": es.restore_best_weights,
                        "validation_split": es.validation_split}  # fmt: skip
        return {"epochs": self.epochs, "batch_size": self.batch_size, "early_stopping": stopping}


@dataclass
class ExecutionSpec:
    kind: str = "local"  # local (joblib/loky workers on this machine) | dask
    keras_backend: str = "jax"
    address: Optional[str] = None  # dask: the scheduler, e.g. tcp://10.0.0.5:8786; null = start a local cluster
    workers: int = 2  # dask without an address: worker processes of the local cluster
    compile_cache: Optional[str] = "~/.cache/staged-keras-search/xla"


@dataclass
class StoreSpec:
    dir: str = "stages"  # relative to the directory the command was started from
    mode: str = "readwrite"  # readwrite | readonly | off


@dataclass
class TrackingSpec:
    kind: str = "none"  # none | mlflow
    uri: Optional[str] = None  # null: a SQLite store in ./mlruns (where the command was started); or a server URL
    experiment: Optional[str] = None  # null: the dataset's name


@dataclass
class RunSpec:
    dataset: DatasetSpec = field(default_factory=DatasetSpec)
    # The catalogue: name -> StageSpec once validated (Hydra sees plain dicts, so that new stages and
    # grids can be added from the command line: +stages.width.grid.model__neurons=[4,8]).
    stages: dict[str, Any] = field(default_factory=dict)
    order: OrderSpec = field(default_factory=OrderSpec)
    search: SearchSpec = field(default_factory=SearchSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    execution: ExecutionSpec = field(default_factory=ExecutionSpec)
    store: StoreSpec = field(default_factory=StoreSpec)
    tracking: TrackingSpec = field(default_factory=TrackingSpec)

    def ordered_stages(self) -> list[tuple[str, StageSpec]]:
        return [(name, self.stages[name]) for name in self.order.names()]

    def racing(self, stage: str | None) -> str:
        """The racing of a stage (its own setting, else search.racing); ``None``: the baselines' joint stage."""
        own = self.stages[stage].racing if stage is not None else None
        return own or self.search.racing

    def conditions(self) -> dict[str, dict[str, list[Any]]]:
        """Every condition of the catalogue (momentum needs sgd or rmsprop, whichever stage tunes it)."""
        merged: dict[str, dict[str, list[Any]]] = {}
        for stage in self.stages.values():
            for param, requires in stage.conditions.items():
                merged.setdefault(param, {}).update(requires)
        return merged
