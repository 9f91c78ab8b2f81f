"""The default command run twice: the second reads the stage store back."""
from __future__ import annotations

from pathlib import Path

from benchmarks.common import cli, row, summary


def warm_rerun(work: Path) -> list[dict]:
    cold = cli(f"hydra.run.dir={work / 'cold'}", cwd=work)
    warm = cli(f"hydra.run.dir={work / 'warm'}", cwd=work)
    fits = int(summary(work / "warm")[0].query("not reused")["fits"].sum())
    return [row("warm_rerun", "default command: warm rerun / cold run (wall clock)", warm, cold, "s", target="≤ 0.10"),
            row("warm_rerun", "fits performed by the warm rerun", fits, 1, "count", target="0")]  # fmt: skip
