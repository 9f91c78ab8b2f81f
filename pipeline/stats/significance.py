"""The corrected paired t-test on cross-validation scores: one test for selection, the final duel and comparison."""
from __future__ import annotations

from typing import Any

import numpy as np

ALPHA = 0.05  # "beyond the noise": a p-value below this (selection, the final duel, the comparison of orderings)


def corrected_variance(differences: Any, cv: int, test_train: float | None = None) -> float:
    """The variance of the mean of paired per-split differences, with Nadeau and Bengio's correction.

    Training sets of CV splits overlap, so the plain paired t-test is over-confident: the
    variance is scaled by ``1/J + n_test/n_train`` over the J splits, and with k-fold CV
    ``n_test/n_train = 1/(k - 1)`` whatever the number of repeats or seeds (``cv`` is k); random train/test
    splits (one held-out split per seed) give their own ratio (``test_train``).
    """
    d = np.asarray(differences, dtype=float)
    ratio = test_train if test_train is not None else 1 / max(cv - 1, 1)
    return float(d.var(ddof=1) * (1 / d.size + ratio)) if d.size > 1 else 0.0


def interval(differences: Any, cv: int, level: float = 0.95, test_train: float | None = None) -> float:
    """Half the width of the ``level`` interval of the mean difference (corrected variance, Student's t)."""
    d = np.asarray(differences, dtype=float)
    variance = corrected_variance(d, cv, test_train)
    if variance <= 0:
        return 0.0
    from scipy import stats

    return float(stats.t.ppf(0.5 + level / 2, df=d.size - 1) * np.sqrt(variance))


def corrected_ttest(differences: Any, cv: int, test_train: float | None = None) -> float:
    """Two-sided p-value of paired per-split score differences, with Nadeau and Bengio's correction
    (``corrected_variance``)."""
    d = np.asarray(differences, dtype=float)
    variance = corrected_variance(d, cv, test_train)
    if variance <= 0:
        return 1.0 if not d.size or d.mean() == 0 else 0.0
    from scipy import stats

    t = d.mean() / np.sqrt(variance)
    return float(2 * stats.t.sf(abs(t), df=d.size - 1))
