"""Engines: where candidates are trained and scored. ``create`` picks one for a run spec.

``gridsearch`` runs scikit-learn's search loop over scikeras fits (one Keras fit per candidate
× fold); ``fused`` trains a stage's models together in compiled JAX programs. Both answer
with scikit-learn's ``cv_results_`` columns (``base.Engine`` is the contract). Building an
engine imports no Keras: that happens when a stage is first computed.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.config.schema import RunSpec
from pipeline.engines.base import Engine


def create(spec: RunSpec, note: Callable[[str], None], status: Callable[[str], None] = lambda message: None,
           **user_estimator: Any) -> Engine:  # fmt: skip
    """The engine ``search.engine`` asks for, or GridSearchCV where fused cannot run (said in one line); ``status``
    hears how far a fused stage is. The one factory of both front ends: ``user_estimator`` (``estimator``,
    ``resource``, ``error_score``, ``decode``, ``fit_params``) is what ``StagedSearchCV`` passes for an estimator
    other than the project's network, which only the GridSearchCV engine searches."""
    if spec.search.engine == "fused":
        from pipeline.engines.fused import FusedEngine

        reason = FusedEngine.unsupported(spec)
        if reason is None:
            if spec.execution.kind == "dask":
                note("search.engine=fused trains every stage in this process; execution=dask is not used")
            return FusedEngine(spec, note, status)
        note(f"search.engine=fused: {reason}; using gridsearchcv")
    from pipeline.engines.gridsearch import GridSearchEngine

    return GridSearchEngine(spec, note, **user_estimator)
