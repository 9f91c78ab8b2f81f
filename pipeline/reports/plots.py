"""PNG charts (matplotlib, no display needed): one per stage, the path across stages,
epochs run under early stopping, and the comparison of orderings.

Reads only tables; every chart has a title, labelled axes with units, and a legend. Figures are
made with matplotlib's object API, not pyplot: no global state, so charts may be drawn off the
main thread (the run folder draws them while later stages train).
"""
from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from pipeline.common.records import Importance, StageResult
from pipeline.common.space import label
from pipeline.reports.words import rungs_text
from pipeline.stats.selection import standard_errors

WINNER, TIE, OTHER, FAILED = "#1b7837", "#7fbf7b", "#999999", "#d6604d"


LABEL_WIDTH = 48  # characters of a candidate's label on one line of a stage chart


def candidate_label(params_json: str) -> str:
    params = json.loads(params_json)
    return label(params) or "(base)"


def last_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Each candidate's row of the last rung it ran (a stage that was not raced: the table itself); not
    ``racing.last_rung``, which keeps only the candidates that ran the whole race."""
    if "iter" not in table:
        return table
    order = table.loc[table["iter"] == 0, "params"].tolist()
    return table.sort_values("iter", kind="stable").groupby("params").tail(1).set_index("params").loc[order].reset_index()


def epochs_run(table: pd.DataFrame, max_epochs: int) -> np.ndarray:
    """Epochs run by each fit that was given the whole budget (a raced stage's earlier rungs were not)."""
    columns = [c for c in table.columns if c.startswith("split") and c.endswith("_test_epochs_run")]
    if "n_resources" in table:
        table = table.loc[table["n_resources"] == max_epochs]
    return table[columns].to_numpy(dtype=float).ravel() if columns else np.array([])


def stage_chart(result: StageResult, path: Path, metric: str) -> None:
    """Mean CV score ± fold std per candidate; winner and one-standard-error ties marked; raced, each candidate
    at the last rung it ran, those dropped on the way hollow, with the epochs they were dropped at."""
    full = result.cv_results
    table = last_rows(full)
    last = full["iter"].max() if "iter" in full else 0
    dropped = (table["iter"] < last).to_numpy() if "iter" in table else np.zeros(len(table), bool)
    labels = [candidate_label(p) + (f"  (dropped at {int(e)} epoch{'s' if e != 1 else ''})" if d else "")
              for p, d, e in zip(table["params"], dropped, table.get("n_resources", np.zeros(len(table))))]  # fmt: skip
    winner = json.dumps({k: v for k, v in result.winner.items() if k in result.tuned}, sort_keys=True)  # nuisance aside
    ties = {json.dumps(t, sort_keys=True) for t in result.ties}
    colours = []
    for params, score in zip(table["params"], table["mean_test_score"]):
        canonical = json.dumps(json.loads(params), sort_keys=True)
        colours.append(FAILED if not np.isfinite(score) else WINNER if canonical == winner else TIE if canonical in ties else OTHER)
    y = np.arange(len(table))
    means = table["mean_test_score"].to_numpy(dtype=float)
    folds = len([c for c in table.columns if c.startswith("split") and c.endswith("_test_score")])
    stds = standard_errors(table, folds)  # the band the one-SE rule uses
    if "nuisance" in table:  # re-tuned: each candidate at its best nuisance values, and at the frozen ones
        labels = [f"{label}  at {candidate_label(n)}" for label, n in zip(labels, table["nuisance"])]
    # Long labels (a screening's seven families) wrap, and the figure widens and heightens with them, so that the
    # plot keeps most of the width instead of a sliver beside its labels.
    labels = [textwrap.fill(text, LABEL_WIDTH, break_long_words=False) for text in labels]
    widest = max((len(line) for text in labels for line in text.splitlines()), default=10)
    lines = sum(text.count("\n") + 1 for text in labels)
    fig = Figure(figsize=(6 + 0.065 * widest, 1.8 + 0.14 * lines + 0.12 * len(table)), layout="constrained")
    ax = fig.subplots()
    for yi, m, sd, colour, out in zip(y, means, stds, colours, dropped):
        if np.isfinite(m):
            ax.errorbar(m, yi, xerr=sd, fmt="o", color=colour, ecolor=colour, capsize=3, markersize=7,
                        markerfacecolor="white" if out else colour)  # fmt: skip
    if "nuisance" in table:
        ax.scatter(table["mean_test_score_at_frozen"].to_numpy(dtype=float), y, marker="x", color="#2166ac", zorder=3)
    finite = means[np.isfinite(means)]
    for yi, m in zip(y, means):
        if not np.isfinite(m):
            ax.text(finite.min() if finite.size else 0, float(yi), "failed (diverged or raised)", va="center", color=FAILED, fontsize=8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_ylim(len(table) - 0.5, -0.5)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel(f"mean CV {metric} over {folds} splits (error bars: ± one standard error, the one-SE rule's band)")
    title = f"Stage {result.stage}: {len(table)} candidates"
    if result.decision.rungs:
        title += f"\nraced {rungs_text(result.decision.rungs)}"
    ax.set_title(title)
    handles = [Line2D([], [], marker="o", linestyle="", color=c) for c in (WINNER, TIE, OTHER, FAILED)]
    names = ["winner", "within 1 SE of the best (tie)", "other", "failed"]
    if "nuisance" in table:
        handles.append(Line2D([], [], marker="x", linestyle="", color="#2166ac"))
        names.append("at the frozen nuisance values")
    if dropped.any():
        handles.append(Line2D([], [], marker="o", linestyle="", color=OTHER, markerfacecolor="white"))
        names.append("dropped by racing (its last rung)")
    fig.legend(handles, names, loc="outside lower center", ncols=len(names), fontsize=8, frameon=False)
    fig.savefig(path, dpi=110)


def _standard_error(result: StageResult) -> float:
    """The winner's standard error from its scikit-learn std (ddof=0) over the stage's splits."""
    n = max(2, sum(1 for c in result.cv_results.columns if c.startswith("split") and c.endswith("_test_score")))
    return float(result.std_score * np.sqrt(n / (n - 1)) / np.sqrt(n))


def path_chart(results: Sequence[StageResult], path: Path, metric: str) -> None:
    """The winner's CV score after each stage, with its fold spread."""
    names = [f"{r.stage}" + (f" (pass {r.pass_number})" if r.pass_number > 1 else "") for r in results]
    means = np.array([r.mean_score for r in results], dtype=float)
    stds = np.array([_standard_error(r) for r in results], dtype=float)
    x = np.arange(len(results))
    fig = Figure(figsize=(max(6, 1.1 * len(results)), 4), layout="constrained")
    ax = fig.subplots()
    ax.plot(x, means, marker="o", color=WINNER, label="winner's mean CV score")
    ax.fill_between(x, means - stds, means + stds, color=TIE, alpha=0.4, label="± one standard error")
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_xlabel("stage (in the order run)")
    ax.set_ylabel(f"mean CV {metric}")
    ax.set_title("Score across stages")
    fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    fig.savefig(path, dpi=110)


def epochs_chart(results: Sequence[StageResult], path: Path, max_epochs: int) -> None:
    """Epochs each fit actually ran, per stage: below the limit means early stopping fired."""
    fig = Figure(figsize=(max(6, 1.1 * len(results)), 4), layout="constrained")
    ax = fig.subplots()
    for x, result in enumerate(results):
        values = epochs_run(result.cv_results, max_epochs)
        jitter = np.random.default_rng(x).uniform(-0.15, 0.15, values.size)
        ax.scatter(x + jitter, values, s=12, alpha=0.6, color=WINNER)
    ax.axhline(max_epochs, color=FAILED, linestyle="--", label=f"limit: {max_epochs} epochs")
    ax.set_xticks(range(len(results)), [r.stage for r in results], rotation=30, ha="right", fontsize=8)
    ax.set_xlabel("stage")
    ax.set_ylabel("epochs run per fit")
    ax.set_ylim(0, max_epochs * 1.1)
    ax.set_title("Early stopping at work: epochs each fit ran")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)


def comparison_chart(table: pd.DataFrame, path: Path, metric: str) -> None:
    """Per configuration: final CV score (mean ± spread over seeds) and held-out test score."""
    y = np.arange(len(table))
    fig = Figure(figsize=(8, 1.5 + 0.6 * len(table)), layout="constrained")
    ax = fig.subplots()
    ax.errorbar(table["cv_mean"], y - 0.1, xerr=table["cv_spread"], fmt="o", color=WINNER, capsize=4,
                label="final CV score (mean ± std over seeds)")  # fmt: skip
    ax.errorbar(table["test_mean"], y + 0.1, xerr=table["test_spread"], fmt="s", color="#2166ac", capsize=4,
                label="held-out test score (mean ± std over seeds)")  # fmt: skip
    ax.set_yticks(y, [f"#{r} {label}" for r, label in zip(table["rank"], table["label"])], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(metric)
    ax.set_title(f"Configurations compared over {int(table['seeds'].max())} seed(s), ranked by final CV score")
    fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    fig.savefig(path, dpi=110)


def importance_chart(importance: Importance, path: Path) -> None:
    """Each stage's share of the variation in CV score with its 95 % bootstrap interval; the skip line; the skipped
    stages greyed."""
    ranked = importance.stages[::-1]  # the most important at the top
    shares = np.array([m.share for m in ranked])
    errors = np.array([[m.share - m.low for m in ranked], [m.high - m.share for m in ranked]]).clip(0)
    colours = [OTHER if m.stage in importance.skipped else WINNER for m in ranked]
    fig = Figure(figsize=(7, 0.5 * len(ranked) + 1.5))
    ax = fig.add_subplot()
    ax.barh([m.stage for m in ranked], shares, xerr=errors, color=colours, capsize=3)
    ax.axvline(importance.skip_below, color=FAILED, linestyle="--", label=f"skip below ({importance.skip_below:.0%})")
    ax.set_xlabel("share of the variation in CV score (95 % bootstrap interval)")
    ax.set_title(f"Stage importance over {importance.configurations} screened configurations")
    ax.legend(handles=[Line2D([], [], color=WINNER, lw=6, label="run"), Line2D([], [], color=OTHER, lw=6, label="skipped"),
                       Line2D([], [], color=FAILED, linestyle="--", label=f"skip below ({importance.skip_below:.0%})")],
              loc="lower right")  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=100)
