"""The fused engine: every candidate × fold of a stage trained together, in compiled JAX programs.

The GridSearchCV engine spends almost all of its time in Keras' per-step and per-epoch
Python machinery, not in arithmetic. Here the same Keras model (``build_network``) and the
same Keras optimizer are driven through Keras 3's stateless API inside one ``jax.jit``
program per group of models that share shapes: ``lax.while_loop`` over epochs,
``lax.scan`` over batches, ``vmap`` over the group's (candidate, fold) models. Values that
only change numbers (learning rate, momentum of sgd/rmsprop, initializer) vary inside a
program; values that change the program (optimizer, activation, dropout, depth, neurons,
batch size, epochs) start another group.

What it keeps from the GridSearchCV engine: the same folds, each fold's own preprocessing
and target encoding, the same initial weights (same build function, same seed), batch
size with a smaller last batch, reshuffling every epoch, Keras' ``validation_split`` (the
last rows of a fold's training part) and ``EarlyStopping`` per model (a stopped model
keeps its best weights and stops updating; its epochs-run is recorded), divergence
(a non-finite loss) scored NaN, and the same scorer on the same held-out rows.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pipeline.config.schema import RunSpec
from pipeline.engines import execution
from pipeline.errors import ResourceExhausted, StageFailed, exception_line
from pipeline.records import Dataset, Evaluation, Problem

log = logging.getLogger(__name__)


class FusedEngine:
    """Every candidate × fold of a stage in a few compiled JAX programs, in this process."""

    name = "fused"

    def __init__(self, spec: RunSpec, note=print):
        self.model, self.execution, self.note = spec.model, spec.execution, note
        self._folds: tuple[Problem, list] | None = None

    @staticmethod
    def unsupported(spec: RunSpec) -> str | None:
        """Why this configuration cannot run fused (the caller falls back to GridSearchCV), or None."""
        if spec.execution.keras_backend != "jax":
            return f"the fused engine compiles JAX programs; execution.keras_backend={spec.execution.keras_backend}"
        return None

    def identity(self) -> dict[str, Any]:
        return {"engine": self.name, **execution.library_versions("jax")}  # its own shuffles: its own results

    def __enter__(self) -> FusedEngine:
        warning = execution.select_backend("jax", self.execution.compile_cache, host_devices=True)
        if warning:
            self.note(warning)
        return self

    def __exit__(self, *exc) -> None:
        self._folds = None

    def load(self) -> None:
        """Import JAX and Keras now, so that a stage's seconds leave the imports out."""
        import jax  # noqa: F401
        import keras  # noqa: F401

    def evaluate(self, problem: Problem, stage: str, candidates: list[dict], base: dict, progress=lambda n: None) -> Evaluation:
        """The candidates GridSearchCV would fit, on the same folds, as ``cv_results_`` columns."""
        from pipeline.engines.fused_models import cv_results, prepare_folds, run_models
        from pipeline.engines.searchcv import folds as cv_folds

        if self._folds is None or self._folds[0] is not problem:  # the same folds serve every stage of a run
            train = problem.train
            self._folds = (problem, prepare_folds(train.X, train.y, train.task, cv_folds(train.task, problem.cv, problem.seed)))
        try:
            out = run_models([{**base, **c} for c in candidates], self._folds[1], task=problem.train.task,
                             metric=problem.metric, training=self.model.training(), seed=problem.seed,
                             on_models_done=progress)  # fmt: skip
        except Exception as exc:  # XLA reports running out of memory as RESOURCE_EXHAUSTED
            if isinstance(exc, MemoryError) or "RESOURCE_EXHAUSTED" in str(exc):
                raise ResourceExhausted(
                    f"stage {stage}: the fused program ran out of memory ({exception_line(str(exc))[:200]}); "
                    "try fewer candidates per stage or search.engine=gridsearchcv"
                ) from None
            # As GridSearchCV turns a fit that raises into a failed fit: one line, the traceback in the run log.
            log.error("stage %s: the fused program raised", stage, exc_info=exc)
            raise StageFailed(stage, len(candidates) * problem.cv, f"{type(exc).__name__}: {exception_line(str(exc))}") from None
        return Evaluation(cv_results(candidates, out["scores"], out["epochs"], out["seconds"]))

    def refit(self, problem: Problem, params: dict, test: Dataset, path: Path) -> float:
        """The final model is a plain Keras fit, as with GridSearchCV: one model, nothing to fuse."""
        from pipeline.engines.estimators import refit

        return refit(problem, params, self.model, test, path)


