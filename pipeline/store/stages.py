"""The stage entries of the store: one folder per key, read back, computed once, listed, inspected, removed."""
from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pipeline.common.errors import PipelineError, UserError
from pipeline.common.records import FinalModel, StageResult
from pipeline.store import disk
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
from pipeline.store.keys import is_key, stage_key

T = TypeVar("T", StageResult, FinalModel)  # what an entry holds


@dataclass(frozen=True)
class Entry:
    """One folder of the store as found on disk; ``damage`` says why it cannot be used, if it cannot."""

    key: str
    description: dict[str, Any]
    result: dict[str, Any]
    size: int
    damage: str | None = None


class Stages:
    """The stage part of the store (``Store.stages``): get a stored stage, or compute it once (under its key's lock)
    and store it atomically."""

    def __init__(self, root: Path, mode: str, report: Callable[[str], None], locks: disk.Locks):
        self.root, self.mode, self.report, self.locks = root, mode, report, locks

    def fetch_or_compute(self, description: dict[str, Any], compute: Callable[[], StageResult]) -> StageResult:
        """The stored stage (``reused=True``), or ``compute()``'s, stored before it is returned; with its key (none
        computed when nothing is stored)."""
        if self.mode == "off":
            return compute()
        key = stage_key(description)
        return dataclasses.replace(self._cached(key, description, compute, read_stage, write_stage), key=key)

    def fetch_or_compute_final(self, description: dict[str, Any], compute: Callable[[], FinalModel]) -> FinalModel:
        """The final refit (its ``model.keras`` and test score), stored like a stage."""
        if self.mode == "off":
            return compute()
        return self._cached(stage_key(description), description, compute, read_final, write_final)

    def get(self, key: str) -> StageResult | None:
        return self._read(key, read_stage)

    def put(self, key: str, description: dict[str, Any], result: StageResult) -> None:
        self._write(key, description, result, write_stage)

    def _cached(self, key: str, description: dict[str, Any], compute: Callable[[], T], read: Callable[[Path], T],
                write: Callable[[Path, T], dict[str, Any]]) -> T:  # fmt: skip
        if self.mode == "off":
            return compute()
        stored = self._read(key, read)
        if stored is not None or self.mode == "readonly":
            return stored if stored is not None else compute()
        with self._held(key, description):
            stored = self._read(key, read)  # another process may have finished it while we waited
            if stored is not None:
                return stored
            value = compute()
            self._write(key, description, value, write)
            return value

    @contextlib.contextmanager
    def _held(self, key: str, description: dict[str, Any]) -> Iterator[None]:
        """The key's lock; where another process holds it (computing the same stage), said before waiting."""
        with self.locks.hold(key, wait=False) as free:
            if free:
                yield
                return
        stage = description.get("stage", {}).get("name", "?")
        self.report(f"stage {stage}: another process is computing it now (store key {key[:12]}); waiting for its "
                    "result instead of training it twice")  # fmt: skip
        with self.locks.hold(key):
            yield

    def _read(self, key: str, read: Callable[[Path], T]) -> T | None:
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

    def _write(self, key: str, description: dict[str, Any], value: T, write: Callable[[Path, T], dict[str, Any]]) -> None:
        """Write into a temporary folder, then publish it: an entry is complete or absent."""
        tmp = disk.temporary(self.root / key)
        stage = description.get("stage", {}).get("name", "?")
        try:
            with disk.writing_to(self.root, f"the entry of stage {stage}"):
                tmp.mkdir(parents=True)
                record = write(tmp, value)
                record["created"] = datetime.now(UTC).isoformat(timespec="microseconds")  # orders entries made within a second
                (tmp / "description.json").write_text(json.dumps(description, indent=2, sort_keys=True, default=str))
                (tmp / "result.json").write_text(json.dumps(record, indent=2, sort_keys=True, default=str))
                (tmp / "checksum").write_text(checksum(tmp) + "\n")
                disk.publish(tmp, self.root / key)
        except PipelineError:
            disk.discard(tmp)  # never half-visible: the entry is complete or absent
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
        with self.locks.hold(key):
            self._discard(self.root / key)

    def clean_leftovers(self) -> None:
        """Delete temporary folders of writers that died (their key's lock is free)."""
        for tmp in self.root.glob(".tmp-*"):
            key = tmp.name.split("-")[1]
            if not is_key(key):
                continue
            with self.locks.hold(key, wait=False) as held:
                if held:
                    disk.discard(tmp)

    def stale_locks(self, remove: bool = False) -> list[Path]:
        """Lock files of keys that have no entry and that nobody holds; ``remove`` deletes them while holding
        them (a process waiting on one finds it gone and takes a fresh one: see ``disk.Locks``)."""
        return [lock for lock in self.locks.folder.glob("*.lock")
                if is_key(lock.stem) and not (self.root / lock.stem).is_dir() and self.locks.unlink_if_free(lock, remove)]

    def _verify(self, folder: Path) -> None:
        expected = (folder / "checksum").read_text().strip()
        if checksum(folder) != expected:
            raise ValueError("checksum mismatch")

    def _discard(self, folder: Path) -> None:
        if self.mode == "readwrite":
            disk.discard(folder)


