"""Every evaluated candidate, kept: any stage, ordering, pass or strategy that asks for the same one reads it.

A candidate's evaluation (its per-fold scores, epochs run and fit times) is decided by its
full parameters, the training data, the folds, the training settings, the scorer and the
engine; its key is the hash of exactly that (``keys.describe_candidate``). One JSON file per
key under ``<store.dir>/.candidates/``, written to a temporary file and renamed (complete or
absent), with a checksum that a damaged file fails (it is reported and evaluated again).
Candidates being evaluated are locked, so two runs that need the same candidate evaluate it
once: by one of ``LOCKS`` lock files chosen by the key (taken in order, so two processes never
deadlock), a fixed set, so a stage of thousands of candidates holds a few dozen open files
and the lock folder never grows.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pipeline.store.keys import canonical, is_key

log = logging.getLogger(__name__)
LOCKS = 64  # lock files (and so open files at most, while a stage is evaluated): well under any open-file limit


class CandidateStore:
    def __init__(self, root: Path | str, mode: str = "readwrite", report: Callable[[str], None] = log.warning):
        self.folder, self.mode, self.report = Path(root).expanduser() / ".candidates", mode, report

    def lookup(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored rows of those ``keys`` that are stored and sound."""
        if self.mode == "off":
            return {}
        found = {}
        for key in keys:
            path = self._path(key)
            if not path.is_file():
                continue
            try:
                found[key] = read(path)["row"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                self.report(f"stage store: candidate {key[:12]} is corrupt ({exc}); evaluating it again")
                if self.mode == "readwrite":
                    path.unlink(missing_ok=True)
        return found

    def kept(self) -> list[Path]:
        """Every candidate file (``python -m pipeline.store`` lists and prunes them)."""
        return sorted(p for p in self.folder.glob("*/*.json") if is_key(p.stem))

    def put(self, key: str, description: dict[str, Any], row: dict[str, Any]) -> None:
        if self.mode != "readwrite":
            return
        path = self._path(key)
        tmp = path.with_name(f".tmp-{key}-{uuid.uuid4().hex[:8]}")
        entry = {"description": description, "row": row, "checksum": _checksum(description, row)}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w") as f:
                f.write(json.dumps(entry, sort_keys=True, default=str))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            self._stop_keeping(exc)
        finally:
            tmp.unlink(missing_ok=True)

    @contextlib.contextmanager
    def computing(self, keys: Sequence[str]) -> Iterator[None]:
        """Hold the locks of ``keys`` (taken in sorted order) while they are evaluated and stored."""
        with contextlib.ExitStack() as held:
            try:
                if self.mode == "readwrite":
                    (self.folder / ".locks").mkdir(parents=True, exist_ok=True)
                    for bucket in sorted({int(key[:8], 16) % LOCKS for key in keys}):
                        handle = held.enter_context(open(self.folder / ".locks" / f"bucket-{bucket:02d}.lock", "a"))
                        fcntl.flock(handle, fcntl.LOCK_EX)
                        held.callback(fcntl.flock, handle, fcntl.LOCK_UN)
            except OSError as exc:
                self._stop_keeping(exc)
            yield

    def stale_locks(self, remove: bool = False) -> list[Path]:
        """Per-candidate lock files of earlier versions (one per candidate ever evaluated), that nobody holds."""
        stale = []
        for lock in (self.folder / ".locks").glob("*.lock"):
            if not is_key(lock.stem):
                continue
            with open(lock, "a") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                stale.append(lock)
                if remove:
                    lock.unlink(missing_ok=True)  # while held
        return stale

    def _stop_keeping(self, exc: OSError) -> None:
        """Candidates only save work: a store that cannot take them is said once, and the run goes on."""
        self.mode = "readonly"
        self.report(f"stage store: cannot keep evaluated candidates in {self.folder} ({exc.strerror or exc}); "
                    "the run goes on without keeping them")  # fmt: skip

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"


def read(path: Path) -> dict[str, Any]:
    """A candidate file's entry, checked (ValueError if its checksum fails)."""
    entry = json.loads(path.read_text())
    if entry["checksum"] != _checksum(entry["description"], entry["row"]):
        raise ValueError("checksum mismatch")
    return entry


def _checksum(description: dict[str, Any], row: dict[str, Any]) -> str:
    text = json.dumps(canonical({"description": description, "row": row}), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
