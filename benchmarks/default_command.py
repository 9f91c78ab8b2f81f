"""The default command, fused against GridSearchCV, with empty and with filled compile caches."""
from __future__ import annotations

import statistics
from pathlib import Path

from benchmarks.common import cli, row


def default_command(work: Path) -> list[dict]:
    """The default command, fused against GridSearchCV: empty compile caches (a new machine, dataset or model),
    then filled ones (the median of three), whole commands."""
    def run(engine: str, name: str, cache: str) -> float:
        return cli(f"search.engine={engine}", "store.mode=off", f"execution.compile_cache={work / cache}",
                   f"hydra.run.dir={work / name}", cwd=work)  # fmt: skip

    cold = {engine: run(engine, f"default-{engine}-cold", f"xla-default-{engine}") for engine in ("gridsearchcv", "fused")}
    warm = {engine: statistics.median(run(engine, f"default-{engine}-warm-{i}", f"xla-default-{engine}") for i in range(3))
            for engine in ("gridsearchcv", "fused")}  # fmt: skip
    programs = (work / "default-fused-cold" / "pipeline.log").read_text().count("compiled a program for")
    return [row("default_command", f"default command, empty compile caches: fused / gridsearchcv ({programs} fused "
                "programs compiled)", cold["fused"], cold["gridsearchcv"], "s", target="≤ 0.25"),
            row("default_command", "default command, compile caches filled: fused / gridsearchcv (median of 3)",
                warm["fused"], warm["gridsearchcv"], "s"),
            row("default_command", "default command, compile caches filled: fused wall seconds (median of 3)",
                warm["fused"], 1, "s", target="≤ 8 s")]  # fmt: skip
