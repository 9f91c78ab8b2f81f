"""``python -m pipeline.store list|show|prune``: look inside the stage store (no Hydra, no estimators)."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.errors import UserError
from pipeline.store import StageStore


def _short(params: dict[str, Any]) -> str:
    return " ".join(f"{k.split('__')[-1]}={v}" for k, v in sorted(params.items()))


def _list(store: StageStore, console) -> None:
    from rich.table import Table

    table = Table(title=f"stage store {store.root}", title_justify="left")
    for column in ("key", "stage", "dataset", "frozen inputs", "winner", "score", "date", "size"):
        table.add_column(column, overflow="fold")
    for key, description, result, size in store.entries():
        dataset = description.get("dataset", {})
        score = result.get("mean_score", result.get("test_score", float("nan")))
        table.add_row(
            key[:12], result.get("stage", "?"), f"{dataset.get('name', '?')} ({dataset.get('fingerprint', '')[:8]})",
            _short(description.get("frozen", {})), _short(result.get("winner", {})) or "-",
            f"{score:.4f}" if isinstance(score, int | float) else "?", result.get("created", "")[:16].replace("T", " "),
            f"{size / 1024:.1f} KiB",
        )  # fmt: skip
    console.print(table)


def _show(store: StageStore, prefix: str, console) -> None:
    import pandas as pd

    key = store.resolve(prefix)
    folder = store.root / key
    console.print(f"[bold]{key}[/bold]  ({folder})")
    for name in ("description.json", "result.json"):
        console.print(f"[bold]{name}[/bold]")
        console.print_json((folder / name).read_text())
    if not (folder / "cv_results.csv").is_file():
        return
    try:
        table = pd.read_csv(folder / "cv_results.csv")
    except pd.errors.EmptyDataError:
        console.print("[bold]cv_results.csv[/bold]: no candidates (conditions skipped every tuned parameter)")
        return
    columns = [c for c in table.columns if c in ("params", "mean_test_score", "std_test_score", "mean_test_epochs_run")]
    console.print("[bold]cv_results.csv[/bold]")
    console.print(table[columns].to_string(index=False))


def _prune(store: StageStore, older_than: float | None, keep_last: int | None, dry_run: bool, console) -> None:
    entries = list(store.entries())  # newest first
    now = datetime.now(UTC)
    doomed = []
    for rank, (key, _, result, _) in enumerate(entries):
        age_days = (now - datetime.fromisoformat(result.get("created", now.isoformat()))).total_seconds() / 86400
        if (keep_last is not None and rank >= keep_last) or (older_than is not None and age_days > older_than):
            doomed.append((key, result.get("stage", "?")))
    for key, stage in doomed:
        if not dry_run:
            store.remove(key)
        console.print(f"{'would remove' if dry_run else 'removed'} {key[:12]} ({stage})")
    console.print(f"{len(doomed)} of {len(entries)} entries {'would be ' if dry_run else ''}removed")


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
    prune.add_argument("--older-than", type=float, metavar="DAYS", help="remove entries created more than DAYS ago")
    prune.add_argument("--keep-last", type=int, metavar="N", help="keep only the N newest entries")
    prune.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")
    args = parser.parse_args(argv)
    console = Console()
    try:
        if args.command == "prune" and args.older_than is None and args.keep_last is None:
            raise UserError("prune: give --older-than DAYS and/or --keep-last N")
        if not Path(args.dir).expanduser().is_dir():
            raise UserError(f"--dir {args.dir}: no stage store there; run the pipeline first or pass --dir")
        store = StageStore(args.dir, "readwrite" if args.command == "prune" else "readonly")
        if args.command == "list":
            _list(store, console)
        elif args.command == "show":
            _show(store, args.key, console)
        else:
            _prune(store, args.older_than, args.keep_last, args.dry_run, console)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
