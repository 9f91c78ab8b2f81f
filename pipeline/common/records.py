"""The records modules pass to each other: data, stages, results. Immutable, and free of
estimators, Keras and Hydra, so the store, the reports and the runner can all share them."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
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

    ``why``: why the winner won, in words (``best``, or the simplest within one standard error of the best and by
    how much). ``rungs``: (candidates, epochs) of each rung of a race. ``notes``: what the strategy said of how it
    evaluated. ``retuned``: the nuisance values the winner won at, and ``flipped_from`` the best candidate at the
    frozen values where it differs from the best candidate once re-tuned (like with like: both by raw score).
    """

    why: str = ""
    rungs: tuple[tuple[int, int], ...] = ()
    notes: tuple[str, ...] = ()
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
    """Did tuning pay? The tuned configuration against the starting one (``model.params``) on splits of the duel's
    own: the paired per-split gain, its 95 % interval, the two-sided p-value of the corrected t-test, the verdict."""

    start: dict[str, Any]
    tuned: dict[str, Any]
    splits: int = 0  # paired scores (cv x final_repeats); 0: the tuned configuration is the starting one
    gain: float = 0.0  # mean of tuned minus start over the splits
    half_width: float = 0.0  # of the 95 % interval of the gain
    p_value: float = 1.0  # two-sided: that tuned and start score alike
    verdict: str = "tie"  # gain | loss (beyond the noise, p below significance.ALPHA) | tie
    kept_start: bool = False  # a loss: the run keeps the starting configuration
    start_score: float = float("nan")  # each one's mean score over the duel's splits
    tuned_score: float = float("nan")
    fits: int = 0
    fits_reused: int = 0
    seconds: float = 0.0

    @property
    def beyond_noise(self) -> bool:
        return self.verdict != "tie"


@dataclass(frozen=True)
class RunResult:
    stages: tuple[StageResult, ...]
    best_params: dict[str, Any]
    metric: str
    test_score: float | None  # None: no held-out part (StagedSearchCV searched all the data it was given)
    run_dir: Path
    duel: Duel | None = None  # None: search.final_repeats=0
    importance: Importance | None = None  # None: no order=auto


SCREEN = "screen"  # order=auto's screening: its store entry, cv_results/00_screen.csv, its summary row


def first_number(results: Sequence[StageResult]) -> int:
    """The run folder's number of ``results[0]``: the screening is 0, the stages then count from 1 (the runner's
    progress, the cv_results files, the charts and the tracker's stage runs all number stages by it)."""
    return 0 if results and results[0].stage == SCREEN else 1


def numbered(results: Sequence[StageResult]) -> list[tuple[int, StageResult]]:
    """Stages with their numbers as the run folder has them (``first_number``)."""
    return list(enumerate(results, start=first_number(results)))
