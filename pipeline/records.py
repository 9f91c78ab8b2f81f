"""The records modules pass to each other: data, stages, results. Immutable, and free of
estimators, Keras and Hydra, so the store, the reports and the runner can all share them."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Dataset:
    """Features and target of the search (training part only once split)."""

    name: str
    X: pd.DataFrame
    y: pd.Series
    task: str  # binary | multiclass | regression
    notes: tuple[str, ...] = field(default=(), compare=False)  # what loading decided: rows dropped, task inferred, …

    @property
    def fingerprint(self) -> str:
        """Hash of the content (not the path): same rows, same fingerprint."""
        h = hashlib.sha256()
        h.update(repr((list(self.X.columns), [str(t) for t in self.X.dtypes], self.task)).encode())
        h.update(pd.util.hash_pandas_object(self.X, index=False).to_numpy().tobytes())
        h.update(pd.util.hash_pandas_object(self.y, index=False).to_numpy().tobytes())
        return h.hexdigest()[:16]


@dataclass(frozen=True)
class Problem:
    """What every evaluation of a run shares: the training data, the scorer, the folds."""

    train: Dataset
    metric: str
    cv: int
    seed: int
    repeats: int = 1  # repeated cross-validation: cv folds, reshuffled this many times

    def fits(self, candidates: int) -> int:
        """Fits (models) that evaluating ``candidates`` makes: one per candidate per split."""
        return candidates * self.cv * self.repeats


@dataclass(frozen=True)
class Stage:
    """A stage to run: a grid in scikeras' routed names, and what "simpler" means in it."""

    name: str
    grid: dict[str, list[Any]]
    simpler: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Budget:
    """How far to train each model: ``epochs`` in all, going on from ``resume`` (an earlier ``Evaluation.paused``
    of the same engine) where the engine can continue its models, else from scratch."""

    epochs: int
    resume: Any = None


@dataclass(frozen=True)
class Evaluation:
    """An engine's answer for a list of candidates: scikit-learn's ``cv_results_`` columns.

    Raced, the racing strategy joins its rungs' into a halving search's: a row per candidate per rung (``iter``,
    ``n_resources``). ``params`` holds the candidates in the user's routed names; ``first_error`` is the first
    exception a fit raised (such fits score NaN), for the message when nothing trained.
    """

    columns: dict[str, Any]
    first_error: str | None = None
    model_epochs: int | None = None  # epochs trained, summed over models, where not the sum of the rows' (racing, fused)
    fitted: dict[str, Any] | None = None  # every fit's columns, where ``columns`` aggregates them (nuisance re-tuning)
    continued: bool = False  # raced survivors went on training the same models (fused): a rung's row is no new fit
    notes: tuple[str, ...] = ()  # what the strategy says of how it evaluated (into the stage's decision)
    paused: Any = None  # the engine's models as they stopped, for a later ``Budget.resume`` (engines that continue)


@dataclass(frozen=True)
class Decision:
    """Why a stage's winner won, as data; the observers put it into words (``pipeline.reports.words``).

    ``rungs``: (candidates, epochs) of each rung of a race. ``notes``: what the strategy said of how it evaluated.
    ``incumbent``: the verdict of select=incumbent: ``kept`` (no candidate beat the frozen value beyond the noise),
    ``kept_best`` (the frozen value scored best), ``switched`` (the best beat it beyond the noise), ``failed`` (the
    frozen value failed to train), ``absent`` (it was not among the final candidates); with the best candidate
    (``challenger``), its mean gain over the frozen value and the one-sided p-value. ``retuned``: the nuisance
    values the winner won at, and ``flipped_from`` the winner at the frozen values where re-tuning changed it.
    """

    rungs: tuple[tuple[int, int], ...] = ()
    notes: tuple[str, ...] = ()
    incumbent: str | None = None
    challenger: dict[str, Any] | None = None
    gain: float | None = None
    p_value: float | None = None
    retuned: dict[str, Any] | None = None
    flipped_from: dict[str, Any] | None = None

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Decision:
        """Back from its JSON (the stage store): tuples where JSON has lists."""
        return cls(**{**record, "rungs": tuple(tuple(r) for r in record.get("rungs", ())),
                      "notes": tuple(record.get("notes", ()))})  # fmt: skip


@dataclass(frozen=True)
class StageResult:
    """What a stage decided; immutable so the store and the report can share it."""

    stage: str
    tuned: tuple[str, ...]
    frozen: dict[str, Any]  # the earlier winners and base values every candidate shared
    winner: dict[str, Any]
    mean_score: float
    std_score: float
    candidates: int
    fits: int
    failed_fits: int
    seconds: float
    skipped: tuple[str, ...] = ()
    ties: tuple[dict[str, Any], ...] = ()  # other candidates within one standard error of the best
    cv_results: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)
    reused: bool = False  # read from the stage store instead of computed by this run
    pass_number: int = 1  # which pass over the order (search.passes) produced it
    fits_reused: int = 0  # fits of candidates that an earlier stage, ordering or run had already evaluated
    decision: Decision = field(default_factory=Decision)  # why the winner won, where it is more than "the best score"
    model_epochs: int = 0  # epochs trained, summed over every fit (racing trains fewer)
    key: str = ""  # its stage store key ("" when not stored)
    metric: str = ""  # the scorer its scores are in (accuracy, r2, …)


@dataclass(frozen=True)
class FinalModel:
    """The final refit: where its network is saved and how it scored on the test split."""

    metric: str
    test_score: float
    model_path: Path
    reused: bool = False


@dataclass(frozen=True)
class StageImportance:
    """A stage's share of the variation in CV score over the screened configurations, with a 95 % bootstrap interval."""

    stage: str
    share: float
    low: float
    high: float


@dataclass(frozen=True)
class Importance:
    """What order=auto measured and chose: each stage's importance (most important first), the order the stages
    then ran in, the stages skipped (interval wholly below ``skip_below``), and how many configurations it rests on."""

    stages: tuple[StageImportance, ...]
    order: tuple[str, ...]
    skipped: tuple[str, ...]
    configurations: int
    skip_below: float
    direction: str


@dataclass(frozen=True)
class Duel:
    """Did tuning pay? The tuned configuration against the starting one (``model.params``) on the same repeated
    folds: the paired per-split gain, its 95 % interval and the one-sided p-value of the corrected t-test."""

    start: dict[str, Any]
    tuned: dict[str, Any]
    splits: int = 0  # paired scores (cv x final_repeats); 0: the tuned configuration is the starting one
    gain: float = 0.0  # mean of tuned minus start over the splits
    half_width: float = 0.0  # of the 95 % interval of the gain
    p_value: float = 1.0  # that tuned beats start
    beyond_noise: bool = False  # gain > 0 with p below significance.ALPHA
    kept_start: bool = False  # search.guard kept the starting configuration
    fits: int = 0
    fits_reused: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class RunResult:
    stages: tuple[StageResult, ...]
    best_params: dict[str, Any]
    metric: str
    test_score: float | None  # None: no held-out part (StagedSearchCV searched all the data it was given)
    run_dir: Path
    duel: Duel | None = None  # None: search.final_repeats=0
    importance: Importance | None = None  # None: no order=auto
