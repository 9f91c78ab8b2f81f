"""The console scripts' door (``staged-search``, ``staged-search-store``, ``staged-search-compare``): a module named
unlike any other, so that it is always this project's. It checks that ``import pipeline`` finds this project's
package before it imports it: another package called ``pipeline`` earlier on the path would otherwise run, or fail
with a traceback, in its place."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

OURS = Path(__file__).resolve().parent / "pipeline"  # installed side by side, or both in the checkout


def _ours_first() -> None:
    found = importlib.util.find_spec("pipeline")
    where = Path(found.origin).resolve().parent if found is not None and found.origin else None
    if where != OURS:
        print(f"error: another package called 'pipeline' ({where}) comes before this project's ({OURS}) on the path; "
              "it would run in its place: uninstall it, take it off PYTHONPATH, or install this project into its own "
              "virtual environment", file=sys.stderr)  # fmt: skip
        raise SystemExit(2)


def search() -> None:
    _ours_first()
    from pipeline.__main__ import cli

    cli()


def store() -> None:
    _ours_first()
    from pipeline.store.cli import run

    run()


def compare() -> None:
    _ours_first()
    from pipeline.frontends.compare import run

    run()
