"""``python -m pipeline.store list|show|prune``: look inside the stage store (no Hydra, no estimators)."""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.common.errors import UserError
from pipeline.common.space import label
from pipeline.store import MARKER, Store, damaged_candidate, is_store

if TYPE_CHECKING:
    from rich.console import Console


def _list(store: Store, console: Console) -> None:
    from rich.table import Table

    table = Table(title=f"stage store {store.root}", title_justify="left")
    for column in ("key", "stage", "dataset", "frozen inputs", "winner", "score", "date", "size"):
        table.add_column(column, overflow="fold")
    entries = store.stages.entries()
    for e in entries:
        dataset = e.description.get("dataset", {})
        score = e.result.get("mean_score", e.result.get("test_score", float("nan")))
        stage = f"[red]damaged: {e.damage}[/red]" if e.damage else e.result.get("stage", "?")
        table.add_row(
            e.key[:12], stage, f"{dataset.get('name', '?')} ({str(dataset.get('fingerprint', ''))[:8]})",
            label(dict(sorted(e.description.get("frozen", {}).items())), " "),
            label(dict(sorted(e.result.get("winner", {}).items())), " ") or "-",
            f"{score:.4f}" if isinstance(score, int | float) else "?", str(e.result.get("created", ""))[:16].replace("T", " "),
            f"{e.size / 1024:.1f} KiB",
        )  # fmt: skip
    console.print(table)
    kept = store.candidates.kept()
    if kept:
        size = sum(p.stat().st_size for p in kept) / 1024
        console.print(f"{len(kept)} evaluated candidates kept in {store.root / '.candidates'} ({size:.1f} KiB): "
                      "a stage that asks for one again reads it instead of training it")  # fmt: skip
        broken = sum(damaged_candidate(p) for p in kept)
        if broken:
            console.print(f"[red]{broken} damaged candidate{'s' if broken > 1 else ''}[/red]: a run evaluates "
                          f"{'them' if broken > 1 else 'it'} again; `python -m pipeline.store prune --damaged` removes "
                          f"{'them' if broken > 1 else 'it'}")  # fmt: skip
    damaged = sum(e.damage is not None for e in entries)
    if damaged:
        them = "them" if damaged > 1 else "it"
        console.print(f"{damaged} damaged entr{'ies' if damaged > 1 else 'y'}: a run that needs {them} recomputes {them}; "
                      f"`python -m pipeline.store prune --damaged` removes {them}")  # fmt: skip


def _show(store: Store, prefix: str, console: Console) -> None:
    import pandas as pd

    entry = store.stages.inspect(store.stages.resolve(prefix))
    folder = store.root / entry.key
    console.print(f"[bold]{entry.key}[/bold]  ({folder})")
    if entry.damage:
        console.print(f"[red]damaged: {entry.damage}[/red]: a run that needs it recomputes it; "
                      "`python -m pipeline.store prune --damaged` removes it. What is readable follows.")  # fmt: skip
    for name, content in (("description.json", entry.description), ("result.json", entry.result)):
        console.print(f"[bold]{name}[/bold]")
        console.print_json(data=content) if content else console.print("(missing or unreadable)")
    if not (folder / "cv_results.csv").is_file():
        return
    try:
        table = pd.read_csv(folder / "cv_results.csv")
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        console.print(f"[bold]cv_results.csv[/bold]: unreadable ({type(exc).__name__})")
        return
    columns = [c for c in table.columns if c in ("params", "mean_test_score", "std_test_score", "mean_test_epochs_run")]
    console.print("[bold]cv_results.csv[/bold]")
    console.print(table[columns].to_string(index=False) if len(table) else "(no candidates)")


def _prune(store: Store, older_than: float | None, keep_last: int | None, damaged: bool, dry_run: bool,
           console: Console) -> None:  # fmt: skip
    pruned = store.prune(older_than, keep_last, damaged, dry_run)
    would = "would be " if dry_run else ""
    for key, what in pruned.entries:
        console.print(f"{'would remove' if dry_run else 'removed'} {key[:12]} ({what})")
    console.print(f"{len(pruned.entries)} of {pruned.of} entries {would}removed"
                  + (f"; {pruned.candidates} evaluated candidates {would}removed" if pruned.candidates else "")
                  + (f"; {pruned.locks} stale lock files {would}removed" if pruned.locks else ""))  # fmt: skip


class _BadNumber(Exception):
    pass


def _at_least_zero(kind: type, option: str) -> Any:
    """An argparse type: a finite number >= 0 (a negative count or age would select every entry)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise _BadNumber(f"{option} {text}: not a number; e.g. {option} 30") from None
        if not math.isfinite(value) or value < 0:
            raise _BadNumber(f"{option} {text}: must be 0 or more; e.g. {option} 30")
        return value

    return parse


def run() -> None:
    """The console script ``staged-search-store``: ``main`` with the process's arguments."""
    raise SystemExit(main())


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    from rich.console import Console

    parser = argparse.ArgumentParser(prog="python -m pipeline.store", description="Look inside the stage store.")
    parser.add_argument("--dir", default="stages", help="the store folder (default: stages)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="one line per stored stage")
    show = commands.add_parser("show", help="everything about one entry")
    show.add_argument("key", help="a key or a unique prefix of one (see list)")
    prune = commands.add_parser("prune", help="remove old entries")
    prune.add_argument("--older-than", type=_at_least_zero(float, "--older-than"), metavar="DAYS",
                       help="remove entries created more than DAYS ago")  # fmt: skip
    prune.add_argument("--keep-last", type=_at_least_zero(int, "--keep-last"), metavar="N",
                       help="keep only the N newest entries")
    prune.add_argument("--damaged", action="store_true", help="remove damaged entries (a run would recompute them)")
    prune.add_argument("--key", metavar="PREFIX", help="remove the entry with this key (or unique prefix of one)")
    prune.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")
    try:
        args = parser.parse_args(argv)
    except _BadNumber as exc:  # one line naming the option, not argparse's usage text
        print(f"error: {exc}", file=sys.stderr)
        return 2
    console = Console()
    try:
        if args.command == "prune" and args.older_than is None and args.keep_last is None and not args.damaged \
                and not args.key:  # fmt: skip
            raise UserError("prune: give --older-than DAYS, --keep-last N, --damaged and/or --key PREFIX")
        if not Path(args.dir).expanduser().is_dir():
            raise UserError(f"--dir {args.dir}: no stage store there; run the pipeline first or pass --dir")
        if not is_store(Path(args.dir).expanduser()):
            raise UserError(f"--dir {args.dir}: not a stage store (no {MARKER} marker); nothing was touched; "
                            "pass the folder that store.dir names (default: stages)")  # fmt: skip
        if args.command == "prune" and not os.access(Path(args.dir).expanduser(), os.W_OK):
            raise UserError(f"--dir {args.dir}: cannot write there (read-only or not yours); prune removes entries, so "
                            "it needs write access to the store folder")  # fmt: skip
        store = Store(args.dir, "readwrite" if args.command == "prune" else "readonly")
        if args.command == "list":
            _list(store, console)
        elif args.command == "show":
            _show(store, args.key, console)
        elif args.key:
            key = store.stages.resolve(args.key)
            if not args.dry_run:
                store.stages.remove(key)
            console.print(f"{'would remove' if args.dry_run else 'removed'} {key[:12]}")
            if args.older_than is not None or args.keep_last is not None or args.damaged:
                _prune(store, args.older_than, args.keep_last, args.damaged, args.dry_run, console)
        else:
            _prune(store, args.older_than, args.keep_last, args.damaged, args.dry_run, console)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0

