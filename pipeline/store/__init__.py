"""The stage store: frozen stage outputs and evaluated candidates, content-addressed, shared by every run.

``Store`` is the one object over ``store.dir``: its ``stages``, its ``candidates``, their locks and ``prune``.

Layout (one folder per key, nothing pickled, so a shared store is safe to read)::

    stages/<key>/description.json   everything that decided the result (the key's input)
    stages/<key>/result.json        winner, scores, timings, skipped parameters
    stages/<key>/cv_results.csv     the stage's full cv_results table
    stages/<key>/model.keras        (final-refit entries only) the refit network, Keras' own format
    stages/<key>/checksum           sha256 of the three files above
    stages/.candidates/<xx>/<key>.json   an evaluated candidate (see ``candidates``)
    stages/.locks/<key>.lock        one lock per key: a stage is computed once at a time
    stages/.locks/candidates-NN.lock     64 locks shared by the candidates being evaluated
    stages/.tmp-<key>-<id>/         an entry being written; renamed into place when complete
    stages/.stage-store             the marker: this folder is a stage store (the store CLI acts on no other)

An entry is a folder named by a key (64 hex digits): the store lists, reads and prunes only
those, so a folder it did not write is never touched.

Reads and writes only JSON and tables; knows no Keras.
"""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipeline.store import disk
from pipeline.store.candidates import Candidates, read
from pipeline.store.keys import FORMAT, canonical, describe_final, describe_run, describe_stage, stage_key
from pipeline.store.stages import Entry, Stages

__all__ = ["FORMAT", "Entry", "Pruned", "Store", "canonical", "damaged_candidate", "describe_final", "describe_run",
           "describe_stage", "stage_key"]  # fmt: skip

MARKER = ".stage-store"  # written into every store folder the store writes to
log = logging.getLogger(__name__)


def is_store(folder: Path) -> bool:
    """A folder the store wrote: its marker, or (a store from before the marker) its lock folder."""
    return (folder / MARKER).is_file() or (folder / ".locks").is_dir()


@dataclass
class Pruned:
    """What ``Store.prune`` removed (or, on a dry run, would remove)."""

    entries: list[tuple[str, str]] = field(default_factory=list)  # (key, stage or why it was damaged)
    of: int = 0  # entries there were
    candidates: int = 0
    locks: int = 0


class Store:
    """The stage store over one folder: ``stages`` (entries), ``candidates``, their ``locks``, and ``prune``."""

    def __init__(self, root: Path | str, mode: str = "readwrite", report: Callable[[str], None] = log.warning):
        self.root, self.mode = Path(root).expanduser(), mode
        self.locks = disk.Locks(self.root / ".locks", self.root)
        if mode == "readwrite":
            with disk.writing_to(self.root, "its lock files", read_only_hint=True):
                self.locks.folder.mkdir(parents=True, exist_ok=True)
                probe = self.locks.folder / f".probe-{uuid.uuid4().hex[:8]}"
                probe.touch()
                probe.unlink()
                if not (self.root / MARKER).is_file():
                    (self.root / MARKER).write_text(json.dumps({"stage_store": True, "format": FORMAT}) + "\n")
        self.stages = Stages(self.root, mode, report, self.locks)
        self.candidates = Candidates(self.root, mode, report, self.locks)
        if mode == "readwrite":
            self.stages.clean_leftovers()

    def prune(self, older_than: float | None = None, keep_last: int | None = None, damaged: bool = False,
              dry_run: bool = False) -> Pruned:  # fmt: skip
        """Entries older than ``older_than`` days or past the ``keep_last`` newest, damaged ones if asked; candidates
        by the same age (their file time) or damage; lock files nobody holds that guard nothing."""
        entries = self.stages.entries()  # newest first
        pruned, now, rank = Pruned(of=len(entries)), datetime.now(UTC), 0
        for e in entries:
            if e.damage:
                if damaged:
                    pruned.entries.append((e.key, f"damaged: {e.damage}"))
                continue
            created = e.result.get("created")
            age_days = (now - datetime.fromisoformat(created)).total_seconds() / 86400 if created else 0.0
            if (keep_last is not None and rank >= keep_last) or (older_than is not None and age_days > older_than):
                pruned.entries.append((e.key, e.result.get("stage", "?")))
            rank += 1
        for key, _ in pruned.entries if not dry_run else ():
            self.stages.remove(key)
        doomed = [p for p in self.candidates.kept() if _too_old(p, older_than, now) or (damaged and damaged_candidate(p))]
        for path in doomed if not dry_run else ():
            path.unlink(missing_ok=True)
        pruned.candidates = len(doomed)
        legacy = self.candidates.folder / ".locks"  # per-candidate lock files of earlier versions
        stale = self.stages.stale_locks(remove=not dry_run) + [
            lock for lock in legacy.glob("*.lock") if self.locks.unlink_if_free(lock, remove=not dry_run)]
        pruned.locks = len(stale)
        return pruned


def _too_old(path: Path, older_than: float | None, now: datetime) -> bool:
    return older_than is not None and (now.timestamp() - path.stat().st_mtime) / 86400 > older_than


def damaged_candidate(path: Path) -> bool:
    """A kept candidate file that cannot be read or fails its checksum."""
    try:
        read(path)
    except (OSError, ValueError, KeyError, TypeError):
        return True
    return False
