"""The final duel: the tuned configuration against the starting one, on splits of its own.

Tuning can make a model worse than not tuning at all (overtuning: a winner picked on a few
noisy folds), so after the last stage the two are scored again on ``cv`` folds reshuffled
``final_repeats`` times, with a seed no stage used (``duel_seed``: re-scoring on the folds the
winner was picked on would lean toward it), and compared split by split by the corrected
t-test, two-sided. The verdict is a gain, a loss or no difference beyond the noise; a run
never ends with a configuration its own duel measured as worse than the start: on a loss it
keeps the starting configuration.
"""
from __future__ import annotations

import hashlib
import time
from typing import Any

import numpy as np

from pipeline.common.records import Duel
from pipeline.search.strategies.base import EvaluateStage
from pipeline.stats.significance import ALPHA, corrected_ttest, interval

NAME = "final duel"  # what the progress display and the engines' messages call it


def duel_seed(seed: int) -> int:
    """The duel's folds' seed: derived from the run's, and never the run's own (whose first repeat are the stages'
    folds: ``RepeatedStratifiedKFold(random_state=s)`` starts with ``StratifiedKFold(shuffle=True, random_state=s)``)."""
    derived = int.from_bytes(hashlib.sha256(f"final duel of seed {seed}".encode()).digest()[:4], "big")
    return derived if derived != seed else (derived + 1) % 2**32


def duel(evaluate: EvaluateStage, start: dict[str, Any], tuned: dict[str, Any], cv: int) -> Duel:
    """Score ``start`` and ``tuned`` on the same splits; the gain of tuned over start, the verdict, and which to keep."""
    if tuned == start:
        return Duel(start, tuned)
    started = time.perf_counter()
    columns = evaluate(NAME, [start, tuned], {}).columns
    splits = sorted((k for k in columns if k.startswith("split") and k.endswith("_test_score")),
                    key=lambda k: int(k[5:-len("_test_score")]))  # fmt: skip
    scores = np.asarray([[columns[k][i] for k in splits] for i in range(2)], dtype=float)
    reused = int(np.sum(columns.get("reused", [False, False]))) * len(splits)
    means = np.nanmean(scores, axis=1) if np.isfinite(scores).any() else np.array([np.nan, np.nan])
    if not np.isfinite(scores[0]).all() and np.isfinite(scores[1]).all():  # the start failed to train: tuning paid
        gain, half_width, p, verdict = float("inf"), 0.0, 0.0, "gain"
    elif not np.isfinite(scores[1]).all():  # the tuned configuration failed on a split: worse than a start that trains
        gain, half_width, p = float("-inf"), 0.0, 0.0
        verdict = "loss" if np.isfinite(scores[0]).all() else "tie"
    else:
        d = scores[1] - scores[0]
        gain, half_width, p = float(d.mean()), interval(d, cv), corrected_ttest(d, cv)
        verdict = "tie" if p >= ALPHA or gain == 0 else "gain" if gain > 0 else "loss"
    return Duel(start, tuned, len(splits), gain, half_width, p, verdict, kept_start=verdict == "loss",
                start_score=float(means[0]), tuned_score=float(means[1]), fits=2 * len(splits), fits_reused=reused,
                seconds=time.perf_counter() - started)  # fmt: skip
