"""Candidate reuse: fits trained against the stage store alone, and the same winners."""
from __future__ import annotations

from pathlib import Path

from benchmarks.common import cli, row, summary


def reuse(work: Path) -> list[dict]:
    """Fits trained with candidate reuse against fits trained with the stage store alone (what ran before),
    for the default command and experiment=orderings; and the same winners and scores as a run that reuses nothing."""
    import pandas as pd

    def fits(folders) -> tuple[int, int]:
        tables = [summary(f)[0] for f in folders]
        before = sum(int(t.loc[~t["reused"], "fits"].sum()) for t in tables)  # the stage store alone
        now = sum(int((t.loc[~t["reused"], "fits"] - t.loc[~t["reused"], "fits_reused"]).sum()) for t in tables)
        return now, before

    cli("search.select=best", "store.dir=default-store", f"hydra.run.dir={work / 'reuse-default'}", cwd=work)
    cli("search.select=best", "store.mode=off", f"hydra.run.dir={work / 'reuse-off'}", cwd=work)
    same = pd.read_csv(work / "reuse-default" / "summary.csv")[["winner", "mean_score"]].equals(
        pd.read_csv(work / "reuse-off" / "summary.csv")[["winner", "mean_score"]])
    cli("-m", "experiment=orderings", "search.select=best", "search.engine=fused", "store.dir=orderings-store",
        f"hydra.sweep.dir={work / 'reuse-orderings'}", cwd=work)  # fmt: skip
    sweep = sorted(p for p in (work / "reuse-orderings").iterdir() if (p / "summary.csv").is_file())
    now, before = fits([work / "reuse-default"])
    now_o, before_o = fits(sweep)
    return [row("reuse", f"default command: fits trained / without candidate reuse (winners and scores "
                f"{'identical' if same else 'DIFFERENT'})", now, before, "fits", target="≤ 0.8"),
            row("reuse", f"experiment=orderings ({len(sweep)} runs, fused): fits trained / with the stage store alone",
                now_o, before_o, "fits", target="≤ 0.7")]  # fmt: skip
