"""The stage store: frozen stage outputs, content-addressed, shared by every run.

Layout (one folder per key, nothing pickled, so a shared store is safe to read)::

    stages/<key>/description.json   everything that decided the result (the key's input)
    stages/<key>/result.json        winner, scores, timings, skipped parameters
    stages/<key>/cv_results.csv     the stage's full cv_results table
    stages/<key>/model.keras        (final-refit entries only) the refit network, Keras' own format
    stages/<key>/checksum           sha256 of the three files above
    stages/.locks/<key>.lock        one lock per key: a stage is computed once at a time
    stages/.tmp-<key>-<id>/         an entry being written; renamed into place when complete
    stages/.stage-store             the marker: this folder is a stage store (the store CLI acts on no other)

An entry is a folder named by a key (64 hex digits): the store lists, reads and prunes only
those, so a folder it did not write is never touched.

Reads and writes only JSON and tables; knows no Keras.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError, UserError, cannot_write
from pipeline.records import FinalModel, StageResult
from pipeline.store.entries import (
    FINAL_FIELDS,
    STAGE_FIELDS,
    checksum,
    malformed,
    read_final,
    read_stage,
    records,
    write_final,
    write_stage,
)
from pipeline.store.keys import FORMAT, canonical, describe_final, describe_run, describe_stage, is_key, stage_key

__all__ = ["FORMAT", "Entry", "StageStore", "canonical", "describe_final", "describe_run", "describe_stage", "stage_key"]

MARKER = ".stage-store"  # written into every store folder the store writes to
log = logging.getLogger(__name__)


def is_store(folder: Path) -> bool:
    """A folder the store wrote: its marker, or (a store from before the marker) its lock folder."""
    return (folder / MARKER).is_file() or (folder / ".locks").is_dir()


@dataclass(frozen=True)
class Entry:
    """One folder of the store as found on disk; ``damage`` says why it cannot be used, if it cannot."""

    key: str
    description: dict[str, Any]
    result: dict[str, Any]
    size: int
    damage: str | None = None


class StageStore:
    """Get a stored stage, or compute it once (under a per-key lock) and store it atomically."""

    def __init__(self, root: Path | str, mode: str = "readwrite", report: Callable[[str], None] = log.warning):
        self.root, self.mode, self.report = Path(root).expanduser(), mode, report
        if mode == "readwrite":
            with _writing_to(self.root, "its lock files", read_only_hint=True):
                (self.root / ".locks").mkdir(parents=True, exist_ok=True)
                probe = self.root / ".locks" / f".probe-{uuid.uuid4().hex[:8]}"
                probe.touch()
                probe.unlink()
                if not (self.root / MARKER).is_file():
                    (self.root / MARKER).write_text(json.dumps({"stage_store": True, "format": FORMAT}) + "\n")
            self.clean_leftovers()

    def fetch_or_compute(self, description: dict[str, Any], compute: Callable[[], StageResult]) -> StageResult:
        """The stored stage (``reused=True``), or ``compute()``'s, stored before it is returned; with its key."""
        key = stage_key(description)
        return dataclasses.replace(self._cached(key, description, compute, read_stage, write_stage), key=key)

    def fetch_or_compute_final(self, description: dict[str, Any], compute: Callable[[], FinalModel]) -> FinalModel:
        """The final refit (its ``model.keras`` and test score), stored like a stage."""
        return self._cached(stage_key(description), description, compute, read_final, write_final)

    def get(self, key: str) -> StageResult | None:
        return self._read(key, read_stage)

    def put(self, key: str, description: dict[str, Any], result: StageResult) -> None:
        self._write(key, description, result, write_stage)

    def _cached(self, key, description, compute, read, write):
        if self.mode == "off":
            return compute()
        stored = self._read(key, read)
        if stored is not None or self.mode == "readonly":
            return stored if stored is not None else compute()
        with self._lock(key):
            stored = self._read(key, read)  # another process may have finished it while we waited
            if stored is not None:
                return stored
            value = compute()
            self._write(key, description, value, write)
            return value

    def _read(self, key: str, read):
        folder = self.root / key
        if not folder.is_dir():
            return None
        try:
            self._verify(folder)
            damage = malformed(*records(folder))
            if damage:
                raise ValueError(damage)
            return read(folder)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.report(f"stage store: entry {key[:12]} is corrupt ({exc}); recomputing it")
            self._discard(folder)
            return None

    def _write(self, key: str, description: dict[str, Any], value, write) -> None:
        """Write into a temporary folder, then rename: an entry is complete or absent."""
        tmp = self.root / f".tmp-{key}-{uuid.uuid4().hex[:8]}"
        stage = description.get("stage", {}).get("name", "?")
        try:
            with _writing_to(self.root, f"the entry of stage {stage}"):
                tmp.mkdir(parents=True)
                record = write(tmp, value)
                record["created"] = datetime.now(UTC).isoformat(timespec="microseconds")  # orders entries made within a second
                (tmp / "description.json").write_text(json.dumps(description, indent=2, sort_keys=True, default=str))
                (tmp / "result.json").write_text(json.dumps(record, indent=2, sort_keys=True, default=str))
                (tmp / "checksum").write_text(checksum(tmp) + "\n")
                for path in tmp.iterdir():
                    with open(path, "rb") as f:
                        os.fsync(f.fileno())
                os.rename(tmp, self.root / key)
        except PipelineError:
            shutil.rmtree(tmp, ignore_errors=True)  # never half-visible: the entry is complete or absent
            if not (self.root / key).is_dir():  # (another writer may have put the same entry)
                raise

    def entries(self) -> list[Entry]:
        """Every entry folder, damaged ones included (``damage`` says why), newest first."""
        found = []
        for folder in self.root.iterdir() if self.root.is_dir() else ():
            if is_key(folder.name) and folder.is_dir():  # the store's own entries, nothing else in the folder
                found.append(self.inspect(folder.name))
        return sorted(found, key=lambda e: str(e.result.get("created", "")), reverse=True)

    def inspect(self, key: str) -> Entry:
        """An entry as found on disk, with what is wrong with it (checksum, missing or unreadable files)."""
        folder = self.root / key
        description, result, damage = {}, {}, None
        with contextlib.suppress(OSError, ValueError):
            description = json.loads((folder / "description.json").read_text())
        with contextlib.suppress(OSError, ValueError):
            result = json.loads((folder / "result.json").read_text())
        try:
            self._verify(folder)
            damage = malformed(description, result)
        except (OSError, ValueError) as exc:
            damage = f"{exc.strerror} ({Path(exc.filename).name})" if isinstance(exc, OSError) and exc.filename else str(exc)
        if damage and isinstance(result, dict):  # only the fields of the right type are shown
            kinds = {**STAGE_FIELDS, **FINAL_FIELDS, "created": str}
            result = {k: v for k, v in result.items() if k not in kinds or isinstance(v, kinds[k])}
        size = 0
        with contextlib.suppress(OSError):  # another process may be removing it
            size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        return Entry(key, description if isinstance(description, dict) else {}, result if isinstance(result, dict) else {},
                     size, damage)  # fmt: skip

    def resolve(self, prefix: str) -> str:
        matches = [p.name for p in self.root.glob(f"{prefix}*") if p.is_dir() and is_key(p.name)]
        if len(matches) != 1:
            problem = "no entry" if not matches else f"{len(matches)} entries"
            raise UserError(f"store key {prefix!r}: {problem} in {self.root} start with it; "
                            "see `python -m pipeline.store list`")  # fmt: skip
        return matches[0]

    def remove(self, key: str) -> None:
        with self._lock(key):
            self._discard(self.root / key)

    def clean_leftovers(self) -> None:
        """Delete temporary folders of writers that died (their key's lock is free)."""
        for tmp in self.root.glob(".tmp-*"):
            key = tmp.name.split("-")[1]
            if not is_key(key):
                continue
            with self._lock(key, wait=False) as held:
                if held:
                    shutil.rmtree(tmp, ignore_errors=True)

    def stale_locks(self, remove: bool = False) -> list[Path]:
        """Lock files of keys that have no entry and that nobody holds; ``remove`` deletes them while holding
        them (a process waiting on one finds it gone and takes a fresh one: see ``_lock``)."""
        stale = []
        for lock in (self.root / ".locks").glob("*.lock"):
            if is_key(lock.stem) and not (self.root / lock.stem).is_dir():
                with self._lock(lock.stem, wait=False) as held:
                    if held:
                        stale.append(lock)
                        if remove:
                            lock.unlink(missing_ok=True)
        return stale

    @contextlib.contextmanager
    def _lock(self, key: str, wait: bool = True) -> Iterator[bool]:
        """The key's lock, held. A lock file removed by prune while we waited on it is no lock: take it again."""
        path = self.root / ".locks" / f"{key}.lock"
        while True:
            with _writing_to(self.root, "a lock file", read_only_hint=True):
                (self.root / ".locks").mkdir(parents=True, exist_ok=True)
                handle = open(path, "a")
            with handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                except BlockingIOError:
                    yield False
                    return
                try:
                    if not _same_file(handle, path):  # unlinked (prune) while we waited: it locks nothing now
                        continue
                    yield True
                    return
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def _verify(self, folder: Path) -> None:
        expected = (folder / "checksum").read_text().strip()
        if checksum(folder) != expected:
            raise ValueError("checksum mismatch")

    def _discard(self, folder: Path) -> None:
        if self.mode == "readwrite":
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _writing_to(root: Path, what: str, read_only_hint: bool = False) -> Iterator[None]:
    """A failed write as one line naming ``store.dir``; a read-only store gets the hint to read it only."""
    try:
        yield
    except OSError as exc:
        error = cannot_write("store.dir", root, what, exc)
        if read_only_hint and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            error = UserError(f"store.dir={root}: cannot write {what} ({exc.strerror}); to reuse its stages without "
                              "writing, run with store.mode=readonly (or store.mode=off, or a writable store.dir)")  # fmt: skip
        raise error from None


def _same_file(handle, path: Path) -> bool:
    try:
        return os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False
