"""The final duel: the tuned configuration against the starting one, on the same repeated folds.

Tuning can make a model worse than not tuning at all (overtuning: a winner picked on a few
noisy folds), so after the last stage the two are scored again on ``cv`` folds reshuffled
``final_repeats`` times and compared pairwise, split by split, by the corrected t-test the
selection rules use. The run says the gain and its interval; with ``search.guard`` it keeps
the starting configuration unless the tuned one beats it beyond the noise.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from pipeline.records import Duel
from pipeline.significance import ALPHA, corrected_ttest, interval
from pipeline.strategies.base import EvaluateStage

NAME = "final duel"  # what the progress display and the engines' messages call it


def duel(evaluate: EvaluateStage, start: dict[str, Any], tuned: dict[str, Any], cv: int, guard: bool) -> Duel:
    """Score ``start`` and ``tuned`` on the same splits; the gain of tuned over start, and which one to keep."""
    if tuned == start:
        return Duel(start, tuned)
    started = time.perf_counter()
    columns = evaluate(NAME, [start, tuned], {}).columns
    splits = sorted((k for k in columns if k.startswith("split") and k.endswith("_test_score")),
                    key=lambda k: int(k[5:-len("_test_score")]))  # fmt: skip
    scores = np.asarray([[columns[k][i] for k in splits] for i in range(2)], dtype=float)
    reused = int(np.sum(columns.get("reused", [False, False]))) * len(splits)
    if not np.isfinite(scores[1]).all():  # the tuned configuration failed on a split: it beats nothing
        gain, half_width, p = float("nan"), float("nan"), 1.0
    elif not np.isfinite(scores[0]).all():  # the starting configuration failed to train: tuning paid
        gain, half_width, p = float("inf"), 0.0, 0.0
    else:
        d = scores[1] - scores[0]
        gain, half_width, p = float(d.mean()), interval(d, cv), corrected_ttest(d, cv, alternative="greater")
    beyond = bool(gain > 0 and p < ALPHA)
    return Duel(start, tuned, len(splits), gain, half_width, p, beyond, kept_start=guard and not beyond,
                fits=2 * len(splits), fits_reused=reused, seconds=time.perf_counter() - started)
