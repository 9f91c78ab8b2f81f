"""The fused engine: every candidate × fold of a stage trained together, in compiled JAX programs.

The GridSearchCV engine spends almost all of its time in Keras' per-step and per-epoch
Python machinery, not in arithmetic. Here the same Keras layers (``build_network``) and the
same Keras optimizers are driven through Keras 3's stateless API inside ``jax.jit``
programs laid out per width bucket for the run's deepest network (``layout``): ``lax.while_loop`` over
epochs, ``lax.scan`` over batches, ``vmap`` over the stage's (candidate, fold) models, each
with its own width, depth, activation, dropout rate, optimizer, learning rate, momentum,
initializer and epochs (``programs``). One program per width bucket serves every stage of a run;
each fold's rows enter it once, and a stage that would not fit in free memory says so before training.

What it keeps from the GridSearchCV engine: the same folds, each fold's own preprocessing
and target encoding, the same initial weights (same build function, same seed), batch
size with a smaller last batch, reshuffling every epoch, Keras' ``validation_split`` (the
last rows of a fold's training part) and ``EarlyStopping`` per model (a stopped model
keeps its best weights and stops updating; its epochs-run is recorded), divergence
(a non-finite loss) scored NaN, and the same scorer on the same held-out rows.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.common.errors import InternalError, ResourceExhausted, StageFailed, exception_line, out_of_memory
from pipeline.common.records import Budget, Dataset, Evaluation, Problem
from pipeline.config.schema import RunSpec
from pipeline.engines import execution
from pipeline.engines.base import Progress

if TYPE_CHECKING:
    from pipeline.engines.fused_models import Programs
    from pipeline.engines.layout import RunValues
    from pipeline.engines.programs import Compilations

log = logging.getLogger(__name__)
MEMORY_SHARE = 0.8  # of the memory free when a stage starts: the most a stage's programs may need


class FusedEngine:
    """Every candidate × fold of a stage in a few compiled JAX programs, in this process."""

    name = "fused"
    continues = True  # a budget's resume goes on training the paused models (a raced survivor trains on)

    def __init__(self, spec: RunSpec, note: Callable[[str], None] = print,
                 status: Callable[[str], None] = lambda message: None) -> None:  # fmt: skip
        """``status`` hears how far a stage's programs are (compiling, epochs done, time left)."""
        self.model, self.execution, self.note, self.status = spec.model, spec.execution, note, status
        self.run_values = _run_values(spec)
        self._folds: tuple[Problem, list[Any]] | None = None
        self._programs: Programs | None = None  # the run's programs, reused across stages

    @staticmethod
    def unsupported(spec: RunSpec) -> str | None:
        """Why this configuration cannot run fused (the caller falls back to GridSearchCV), or None."""
        if spec.execution.keras_backend != "jax":
            return f"the fused engine needs Keras on JAX, and Keras runs on {spec.execution.keras_backend} here"
        return None

    def identity(self) -> dict[str, Any]:
        # Its own shuffles and dropout noise: its own results. The program's version changes when they do, so a store
        # never hands back results the current program would not produce (2: dropout noise per unit index; 3: width
        # buckets, batches gathered from each fold's rows, validation loss in chunks).
        return {"engine": self.name, "program": 3, **execution.library_versions("jax")}

    def __enter__(self) -> FusedEngine:
        warning = execution.select_backend("jax", self.execution.compile_cache, host_devices=True)
        if warning:
            self.note(warning)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._programs is not None:
            compiled = self._programs.compilations
            log.info("fused engine: %d programs compiled (or read from the compile cache) in %.1f s", compiled.count,
                     compiled.seconds)  # fmt: skip
        self._folds = self._programs = None

    def load(self) -> None:
        """Import JAX and Keras now, so that a stage's seconds leave the imports out."""
        import jax  # noqa: F401
        import keras  # noqa: F401

    def evaluate(self, problem: Problem, stage: str, candidates: list[dict[str, Any]], base: dict[str, Any],
                 progress: Progress = lambda n: None, budget: Budget | None = None) -> Evaluation:  # fmt: skip
        """The candidates GridSearchCV would fit, on the same folds, as ``cv_results_`` columns; with a budget, trained
        to its epochs, the models its ``resume`` paused going on from where they stopped."""
        from pipeline.engines.fused_models import Programs, cv_results, memory_needed, prepare_folds, run_models
        from pipeline.engines.searchcv import folds as cv_folds

        if self._folds is None or self._folds[0] is not problem:  # the same folds and programs serve every stage
            train = problem.train
            self._folds = (problem, prepare_folds(train.X, train.y, train.task, cv_folds(train.task, problem.cv, problem.seed,
                                                                                       problem.repeats)))
            self._programs = Programs(train.task, self.model.training(), problem.seed, self.run_values)
        programs = self._programs
        assert programs is not None  # made with the folds above
        everything = [{**base, **c} for c in candidates]
        self._check_memory(stage, memory_needed(everything, self._folds[1], self.model.training(), execution.devices()))
        try:
            out = run_models(everything, self._folds[1], programs, problem.metric,
                             on_models_done=progress, until=budget.epochs if budget else None,
                             resume=budget.resume if budget else None, status=self.status)  # fmt: skip
        except Exception as exc:  # XLA reports running out of memory as RESOURCE_EXHAUSTED
            if isinstance(exc, MemoryError) or "RESOURCE_EXHAUSTED" in str(exc):
                raise out_of_memory(stage, "the fused program ran out of memory", exc,
                                    "try fewer candidates per stage or search.engine=gridsearchcv") from None
            log.error("stage %s: the fused program raised", stage, exc_info=exc)
            if _refused_value(exc):  # Keras refused a configured value: as GridSearchCV's fits fail on it
                raise StageFailed(stage, problem.fits(len(candidates)),
                                  f"{type(exc).__name__}: {exception_line(str(exc))}") from None
            raise InternalError(f"in stage {stage} (the fused engine)", exc) from None
        return Evaluation(cv_results(candidates, out.scores, out.epochs_run, out.seconds),
                          paused=out if budget is not None else None)

    def _check_memory(self, stage: str, needed: int) -> None:
        """Before training: a stage that would not fit in the memory free now stops with one line saying how
        much it needs and what lowers it, instead of the machine swapping or the kernel killing the run."""
        free = execution.free_memory()
        if free is not None and needed > MEMORY_SHARE * free:
            assert self._folds is not None
            folds, rows = len(self._folds[1]), len(self._folds[0].train.y)
            raise ResourceExhausted(
                f"stage {stage}: the fused programs need about {needed / 2**30:.1f} GiB ({rows} rows in {folds} folds, "
                f"each fold's rows on each of {execution.devices()} devices, and the models' weights) and "
                f"{free / 2**30:.1f} GiB is free; lower search.cv, give the stage fewer candidates, or use "
                "search.engine=gridsearchcv (one model at a time)")  # fmt: skip

    @property
    def compilations(self) -> Compilations | None:
        """Programs compiled so far in this run, and the seconds it took (None before the first stage)."""
        return None if self._programs is None else self._programs.compilations

    def refit(self, problem: Problem, params: dict[str, Any], test: Dataset, path: Path) -> float:
        """The final model is a plain Keras fit, as with GridSearchCV: one model, nothing to fuse."""
        from pipeline.engines.estimators import refit

        return refit(problem, params, self.model, test, path)


def _refused_value(exc: Exception) -> bool:
    """Keras refusing an argument the config gave (an optimizer without ``rho``, say): the user's to fix."""
    text = str(exc)
    return isinstance(exc, ValueError | TypeError) and (
        "not recognized" in text or "unexpected keyword argument" in text or "must be a float" in text)


def _run_values(spec: RunSpec) -> RunValues:
    """Every value the run's stages may ask for: one layout (and so one program) then serves them all."""
    from pipeline.engines.layout import RunValues

    return RunValues.of([spec.model.params, *(spec.stages[name].grid for name in spec.order.names()
                                              if hasattr(spec.stages[name], "grid"))])  # fmt: skip
