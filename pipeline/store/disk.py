"""How the store touches the disk, written once: atomic publication, the checksum, locks, write errors.

Stage entries (a folder each) and kept candidates (a file each) are both written beside their
final name and renamed into place after an fsync, so a reader finds either the whole thing or
nothing; both carry a sha256 over their named parts; both are locked through ``Locks``, one
folder of lock files under ``<store.dir>/.locks``.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from pipeline.common.errors import UserError, cannot_write


def digest(parts: Iterable[tuple[str, bytes]]) -> str:
    """sha256 over named parts (name, NUL, bytes, NUL each): the one checksum of entries and candidates."""
    h = hashlib.sha256()
    for name, data in parts:
        h.update(name.encode() + b"\0" + data + b"\0")
    return h.hexdigest()


def temporary(final: Path) -> Path:
    """Where ``final`` is written before it is published: beside it, unique to this writer."""
    return final.with_name(f".tmp-{final.name}-{uuid.uuid4().hex[:8]}")


def publish(tmp: Path, final: Path) -> None:
    """fsync ``tmp`` (a file, or a folder's files) and rename it to ``final``: complete or absent."""
    for path in tmp.iterdir() if tmp.is_dir() else (tmp,):
        with open(path, "rb") as f:
            os.fsync(f.fileno())
    os.replace(tmp, final) if tmp.is_file() else os.rename(tmp, final)


def discard(path: Path) -> None:
    """Remove a file or folder, whatever is left of it (a link: the link, never what it points to)."""
    if path.is_symlink():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def writing_to(root: Path, what: str, read_only_hint: bool = False) -> Iterator[None]:
    """A failed write as one line naming ``store.dir``; a read-only store gets the hint to read it only."""
    try:
        yield
    except OSError as exc:
        error = cannot_write("store.dir", root, what, exc)
        if read_only_hint and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            error = UserError(f"store.dir={root}: cannot write {what} ({exc.strerror}); to reuse its stages without "
                              "writing, run with store.mode=readonly (or store.mode=off, or a writable store.dir)")  # fmt: skip
        raise error from None


class Locks:
    """Lock files in one folder: ``hold(name)`` one of them, ``hold_all(names)`` several in a fixed order.

    A lock file that prune unlinked while a process waited on it locks nothing: the waiter
    notices (the inode changed) and takes the file again.
    """

    def __init__(self, folder: Path, root: Path):
        self.folder, self.root = folder, root

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.lock"

    @contextlib.contextmanager
    def hold(self, name: str, wait: bool = True) -> Iterator[bool]:
        """The lock, held (True); or False at once when ``wait`` is False and someone else holds it."""
        path = self.path(name)
        while True:
            with writing_to(self.root, "a lock file", read_only_hint=True):
                self.folder.mkdir(parents=True, exist_ok=True)
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

    @contextlib.contextmanager
    def hold_all(self, names: Iterable[str]) -> Iterator[None]:
        """Every named lock, taken in sorted order (two processes never deadlock); OSError if one cannot be made."""
        with contextlib.ExitStack() as held:
            self.folder.mkdir(parents=True, exist_ok=True)
            for name in sorted(set(names)):
                handle = held.enter_context(open(self.path(name), "a"))
                fcntl.flock(handle, fcntl.LOCK_EX)
                held.callback(fcntl.flock, handle, fcntl.LOCK_UN)
            yield

    def unlink_if_free(self, path: Path, remove: bool) -> bool:
        """Whether nobody holds the lock file ``path``; ``remove`` unlinks it while holding it."""
        try:
            handle = open(path, "a")
        except OSError:
            return False
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            if remove:
                path.unlink(missing_ok=True)
            return True


def _same_file(handle: IO[str], path: Path) -> bool:
    try:
        return os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False
