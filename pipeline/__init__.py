"""Tune a Keras network (or any scikit-learn estimator) stage by stage.

``python -m pipeline`` is the command line; ``from pipeline import StagedSearchCV, Network`` the Python API.
Both are imported on first use, so the command line's ``--help`` and the store CLI never load scikit-learn.
"""
from __future__ import annotations

from typing import Any

__all__ = ["Network", "StagedSearchCV"]


def __getattr__(name: str) -> Any:
    if name == "StagedSearchCV":
        from pipeline.frontends.estimator import StagedSearchCV

        return StagedSearchCV
    if name == "Network":
        from pipeline.engines.network_estimator import Network

        return Network
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
