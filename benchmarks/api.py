"""StagedSearchCV's cost over running the same stages by hand as GridSearchCVs (issue: ≤ 5 % wall time)."""
from __future__ import annotations

from pathlib import Path

from benchmarks.common import row, script

ROUNDS, EPOCHS = 5, 20


def api_overhead(work: Path) -> list[dict]:
    """The column's setup (scikeras KerasClassifier, its build function, Pima-shaped data), two stages of three,
    cv=3, 20 epochs: StagedSearchCV against two GridSearchCVs by hand, alternated in one process, medians of 5."""
    measured = script("api_overhead", str(work / "pima_like.csv"), str(ROUNDS), str(EPOCHS))
    same = "same winners" if measured["winners"]["staged"] == measured["winners"]["by_hand"] else "DIFFERENT winners"
    return [row("api_overhead", f"StagedSearchCV / two GridSearchCVs by hand (18 fits + refit, {EPOCHS} epochs, "
                f"median of {ROUNDS}; {same})", measured["staged"], measured["by_hand"], "s", target="≤ 1.05")]  # fmt: skip
