"""Every evaluated candidate, kept: any stage, ordering, pass or strategy that asks for the same one reads it.

A candidate's evaluation (its per-fold scores, epochs run and fit times) is decided by its
full parameters, the training data, the folds, the training settings, the scorer and the
engine; its key is the hash of exactly that (``keys.describe_candidate``). One JSON file per
key under ``<store.dir>/.candidates/``, published atomically with a checksum (``disk``); a
damaged file is reported and evaluated again. Candidates being evaluated are locked, so two
runs that need the same candidate evaluate it once: by one of ``LOCKS`` lock files chosen by
the key, a fixed set, so a stage of thousands of candidates holds a few dozen open files and
the lock folder never grows.
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pipeline.store import disk
from pipeline.store.keys import canonical, is_key

LOCKS = 64  # lock files (and so open files at most, while a stage is evaluated): well under any open-file limit


class Candidates:
    """The candidate part of the store (``Store.candidates``)."""

    def __init__(self, root: Path, mode: str, report: Callable[[str], None], locks: disk.Locks):
        self.folder, self.mode, self.report, self.locks = root / ".candidates", mode, report, locks

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
        tmp = disk.temporary(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            entry = {"description": description, "row": row, "checksum": _checksum(description, row)}
            tmp.write_text(json.dumps(entry, sort_keys=True, default=str))
            disk.publish(tmp, path)
        except OSError as exc:
            self._stop_keeping(exc)
        finally:
            with contextlib.suppress(OSError):  # nothing was written, or it was published
                tmp.unlink(missing_ok=True)

    @contextlib.contextmanager
    def computing(self, keys: Sequence[str]) -> Iterator[None]:
        """Hold the locks of ``keys`` while they are evaluated and stored."""
        with contextlib.ExitStack() as held:
            if self.mode == "readwrite":
                try:
                    held.enter_context(self.locks.hold_all(f"candidates-{int(key[:8], 16) % LOCKS:02d}" for key in keys))
                except OSError as exc:
                    self._stop_keeping(exc)
            yield

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
    return dict(entry)


def _checksum(description: dict[str, Any], row: dict[str, Any]) -> str:
    return disk.digest((name, json.dumps(canonical(part), sort_keys=True, separators=(",", ":")).encode())
                       for name, part in (("description", description), ("row", row)))  # fmt: skip
