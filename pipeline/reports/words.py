"""A stage's decision in words: the same sentence for the terminal, summary.csv, report.md and the tracker."""
from __future__ import annotations

from collections.abc import Sequence

from pipeline.common.records import Decision, Duel, Importance
from pipeline.common.space import label


def describe(decision: Decision) -> str:
    """``simplest within one SE (0.0113) of the best 0.7639: neurons=16 at 0.7492; raced: 9 → 3 → 1 candidates at
    1, 3, 9 epochs; re-tuned learning_rate: …`` (empty: nothing to say)."""
    parts = [decision.why, f"raced: {rungs_text(decision.rungs)}" if decision.rungs else "", *decision.notes,
             _retuned(decision)]  # fmt: skip
    return "; ".join(p for p in parts if p)


def rungs_text(rungs: Sequence[Sequence[int]]) -> str:
    """``25 → 9 → 3 candidates at 11, 33, 100 epochs``."""
    return (f"{' → '.join(str(n) for n, _ in rungs)} candidates at "
            f"{', '.join(str(e) for _, e in rungs)} epochs")  # fmt: skip


def _retuned(d: Decision) -> str:
    if d.retuned is None:
        return ""
    names = ", ".join(k.split("__")[-1] for k in d.retuned)
    text = f"re-tuned {names}: the winner scored best at {label(d.retuned)}"
    if d.flipped_from is not None:
        text += f"; re-tuning flipped the winner (at the frozen values: {label(d.flipped_from)})"
    return text


def duel_sentence(duel: Duel, metric: str) -> str:
    """``tuning gained +0.0210 ± 0.0120 accuracy over the starting configuration (p = 0.010, two-sided, 9 paired
    splits of the duel's own folds)``, a loss (and that the start was kept), or no difference beyond the noise."""
    if not duel.splits:
        return "the tuned configuration is the starting one (no stage changed it): nothing to compare"
    if duel.gain == float("inf"):
        return "the starting configuration failed to train in the final duel: tuning paid"
    if duel.gain == float("-inf"):
        kept = "kept the starting configuration" if duel.kept_start else "neither trained on every split"
        return f"the tuned configuration failed to train on a split of the final duel: {kept}"
    measured = (f"{duel.gain:+.4f} ± {duel.half_width:.4f} {metric} against the starting configuration "
                f"(p = {duel.p_value:.3f}, two-sided, {duel.splits} paired splits of the duel's own folds)")  # fmt: skip
    if duel.verdict == "gain":
        return f"tuning gained {measured}"
    if duel.verdict == "loss":
        return f"tuning lost {measured}: kept the starting configuration"
    return f"no difference beyond the noise: {measured}; kept the tuned configuration"


def importance_sentence(importance: Importance) -> str:
    """``depth and lr_momentum explain 71% of the variation in CV score on this data; activation and init less
    than 5%: skipped`` (the stages that together explain at least half, then the ones skipped)."""
    ranked = importance.stages
    if not any(m.share > 0 for m in ranked):
        return (f"the screening ({importance.configurations} configurations) could not tell the stages apart: "
                "the catalogue's order, nothing skipped")  # fmt: skip
    leading, explained = [], 0.0
    for m in ranked:
        leading.append(m.stage)
        explained += m.share
        if explained >= 0.5:
            break
    rest = ranked[len(leading):]
    if rest and min(m.low for m in ranked[: len(leading)]) <= max(m.high for m in rest):  # intervals overlap
        top = ranked[0]
        text = (f"the screening ({importance.configurations} configurations) cannot tell the stages apart: their "
                f"intervals overlap ({top.stage} ranks first at {top.share:.0%}, 95 % interval {top.low:.0%} to "
                f"{top.high:.0%}); the order follows the point estimates")  # fmt: skip
    else:
        text = (f"{_and(leading)} explain{'s' if len(leading) == 1 else ''} {explained:.0%} of the variation in CV "
                f"score on this data ({importance.configurations} configurations screened)")  # fmt: skip
    if importance.skipped:
        text += f"; {_and(list(importance.skipped))} less than {importance.skip_below:.0%}: skipped"
    return text


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
