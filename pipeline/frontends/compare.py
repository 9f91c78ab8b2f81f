"""Compare finished runs (orderings, strategies, …) over seeds, and say if the gap is noise.

Runs that differ only in ``search.seed`` form one group (one configuration). Groups are ranked by their
held-out test score: unbiased, unlike a run's winning CV score (a maximum over the candidates it tried, inflated
more for strategies that try more). The top two are compared on it, paired by seed (the same seed holds out the
same rows), by the corrected paired t-test, two-sided. It reads no stage table, so every run kind compares
(order=auto, raced, repeated, mixed cv, TPE, random). Used by the multirun callback (``comparison.*`` in the sweep
folder) and by ``python -m pipeline.compare FOLDER...``. Reads only the run folders' tables and JSON.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from pipeline.reports.files import markdown_table
from pipeline.stats.significance import ALPHA, corrected_ttest, interval


@dataclass(frozen=True)
class Run:
    folder: Path
    label: str
    seed: int
    stages: str
    metric: str
    final_cv: float
    final_std: float
    test: float
    fits: int
    seconds: float
    winners: str
    test_size: float = 0.2  # dataset.test_size: the held-out share, what the t-test's correction counts


def load_run(folder: Path) -> Run:
    summary = pd.read_csv(folder / "summary.csv")
    test = json.loads((folder / "test_score.json").read_text())
    overrides = _yaml(folder / ".hydra" / "overrides.yaml") or []
    config = _yaml(folder / ".hydra" / "config.yaml") or {}
    label = " ".join(o for o in overrides if not o.startswith(("search.seed=", "hydra.")))
    decided = [i for i in range(len(summary)) if json.loads(summary["winner"].iloc[i])]  # stages that had candidates
    last = summary.iloc[decided[-1] if decided else len(summary) - 1]
    return Run(
        folder=folder,
        label=label,
        seed=int(config.get("search", {}).get("seed", 0)),
        stages=" → ".join(summary["stage"]),
        metric=test["metric"],
        final_cv=float(last["mean_score"]),
        final_std=float(last["std_score"]),
        test=float(test["value"]),
        fits=int(summary["fits"].sum()),
        seconds=float(summary["seconds"].sum()),
        winners=(folder / "best_params.json").read_text().strip(),
        test_size=float(config.get("dataset", {}).get("test_size", 0.2)),
    )


def find_runs(folders: list[Path]) -> list[Run]:
    """Run folders given directly, or found one level down (a sweep folder)."""
    runs = []
    for folder in folders:
        candidates = [folder] if (folder / "summary.csv").is_file() else sorted(p for p in folder.iterdir() if p.is_dir())
        runs += [load_run(c) for c in candidates if (c / "summary.csv").is_file() and (c / "test_score.json").is_file()]
    common = set.intersection(*(set(r.label.split()) for r in runs)) if runs else set()
    return [replace(r, label=" ".join(o for o in r.label.split() if o not in common) or "(defaults)") for r in runs]


def comparison_table(runs: list[Run]) -> pd.DataFrame:
    rows = []
    for label in dict.fromkeys(r.label for r in runs):
        group = [r for r in runs if r.label == label]
        cv = np.array([r.final_cv for r in group])
        test = np.array([r.test for r in group])
        winners = pd.Series([r.winners for r in group]).value_counts()
        rows.append({
            "label": label, "stages": group[0].stages, "seeds": len(group),
            "cv_mean": cv.mean(), "cv_spread": cv.std(), "test_mean": test.mean(), "test_spread": test.std(),
            "fits": float(np.mean([r.fits for r in group])), "seconds": float(np.mean([r.seconds for r in group])),
            "winners": json.dumps(json.loads(winners.index[0]), sort_keys=True),
            "winner_share": f"{winners.iloc[0]}/{len(group)}",
        })  # fmt: skip
    table = pd.DataFrame(rows).sort_values("test_mean", ascending=False, kind="stable").reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    return table


def noise_statement(runs: list[Run], table: pd.DataFrame) -> str:
    """Does the leader beat the runner-up by more than the noise? Held-out scores, paired by seed, two-sided."""
    if len(table) < 2:
        return "Only one configuration was run: nothing to compare."
    first, second = table["label"][0], table["label"][1]
    by_seed = {label: {r.seed: r for r in runs if r.label == label} for label in (first, second)}
    seeds = sorted(set(by_seed[first]) & set(by_seed[second]))
    if not seeds:
        return f"{first} and {second} share no seed: run both with the same search.seed values to compare them."
    metric = runs[0].metric
    d = np.array([by_seed[first][s].test - by_seed[second][s].test for s in seeds])
    measured = (f"{first} ranks first, {second} second: mean difference in held-out test {metric} {d.mean():+.4f} "
                f"over {len(seeds)} seed(s)")  # fmt: skip
    if len(seeds) < 2:
        return f"{measured}; one seed cannot tell a difference from the noise: run more search.seed values."
    share = by_seed[first][seeds[0]].test_size
    p = corrected_ttest(d, 2, test_train=share / (1 - share))  # the seeds' held-out parts overlap: Nadeau & Bengio
    half = interval(d, 2, test_train=share / (1 - share))
    verdict = "exceeds the noise" if p < ALPHA else "is within the noise"
    return (f"{measured} (95 % interval ± {half:.4f}); corrected paired t-test, two-sided, p = {p:.3f}, so the "
            f"difference {verdict} (α = {ALPHA}).")


def statements(runs: list[Run], table: pd.DataFrame) -> str:
    """The noise statement; where runs differ in ``nuisance=``, one per nuisance setting, each with the spread of
    the held-out score across the orderings it compares (does re-tuning make the order matter less?)."""
    settings = list(dict.fromkeys(_token(r.label, "nuisance=") for r in runs))
    if len(settings) < 2:
        return noise_statement(runs, table)
    parts = []
    for setting in settings:
        group = [r for r in runs if _token(r.label, "nuisance=") == setting]
        sub = comparison_table(group)
        spread = sub["test_mean"].max() - sub["test_mean"].min()
        parts.append(f"**{setting or 'no nuisance re-tuning'}** ({len(sub)} configurations): {noise_statement(group, sub)} "
                     f"Spread of the mean held-out test {runs[0].metric} across them: {spread:.4f}.")  # fmt: skip
    return "\n\n".join(parts)


def _token(label: str, prefix: str) -> str:
    return next((t for t in label.split() if t.startswith(prefix)), "")


def write_comparison(out: Path, runs: list[Run], failed: Sequence[str] = ()) -> tuple[pd.DataFrame, str]:
    """``comparison.csv/.png/.md`` in ``out``; ``failed`` lists jobs of the sweep that did not finish.
    Returns the table and the statement written, for the terminal to print the same words."""
    from pipeline.reports import plots

    table = comparison_table(runs)
    statement = statements(runs, table)
    if failed:
        statement += "\n\nNot compared, because they failed:\n\n" + "\n".join(f"- {line}" for line in failed)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "comparison.csv", index=False)
    plots.comparison_chart(table, out / "comparison.png", runs[0].metric)
    (out / "comparison.md").write_text(
        f"# Comparison of {len(runs)} runs\n\n{markdown_table(table)}\n\n{statement}\n\n![comparison](comparison.png)\n"
    )
    return table, statement


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text()) if path.is_file() else None


def run() -> None:
    """The console script ``staged-search-compare``: ``main`` with the process's arguments."""
    raise SystemExit(main())


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m pipeline.compare", description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="run folders, or sweep folders holding them")
    parser.add_argument("--out", type=Path, help="where to write comparison.* (default: the first folder)")
    args = parser.parse_args(argv)
    missing = [f for f in args.folders if not f.is_dir()]
    if missing:
        print(f"error: {missing[0]}: no such folder", file=sys.stderr)
        return 2
    runs = find_runs(args.folders)
    if not runs:
        print(f"error: no finished runs (summary.csv and test_score.json) in {', '.join(map(str, args.folders))}", file=sys.stderr)
        return 2
    table, statement = write_comparison(args.out or args.folders[0], runs)
    print(table.drop(columns=["winners"]).to_string(index=False))
    print(statement)
    print(f"written: {(args.out or args.folders[0]) / 'comparison.md'}")
    return 0
