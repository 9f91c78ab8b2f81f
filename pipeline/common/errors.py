"""The errors that end a run, each with its one line and exit code, and the messages built from exceptions.

How the process then ends (the line printed, the exit code, signals) is ``pipeline.common.exits``.
"""
from __future__ import annotations

import contextlib
import errno
import re
from collections.abc import Iterator
from pathlib import Path


class PipelineError(Exception):
    exit_code = 1


class UserError(PipelineError):
    """Bad config or bad data: fix the named key or file and run again."""

    exit_code = 2


class ResourceExhausted(PipelineError):
    """A worker died, memory ran out or the disk is full: the message says what to lower or free."""

    exit_code = 1


class InternalError(PipelineError):
    """A bug, not the user's config or data: one line, the traceback in the run log, exit 3."""

    exit_code = 3

    def __init__(self, what: str, exc: BaseException, log_path: Path | str | None = None):
        cause = f"{type(exc).__name__}: {exception_line(str(exc)) or '(no message)'}"
        where = f"; the traceback is in {log_path}" if log_path else ""
        super().__init__(f"internal error{' ' + what if what else ''} ({cause}); this is a bug, not your config or "
                         f"data{where}")
        self.what, self.cause = what, exc

    def logged_in(self, log_path: Path | str) -> InternalError:
        return InternalError(self.what, self.cause, log_path)


class Interrupted(PipelineError):
    """Ctrl+C (130) or SIGTERM (143): completed stages are stored, the same command resumes."""

    def __init__(self, message: str, exit_code: int = 130):
        super().__init__(message)
        self.exit_code = exit_code


class Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, ``docker stop``, a scheduler), raised where Ctrl+C would be."""


class StageFailed(UserError):
    """Every fit of a stage failed: nothing to freeze, so the run stops here."""

    def __init__(self, stage: str, failed: int, cause: str, what: str = ""):
        super().__init__(f"stage {stage}: all {what or f'{failed} fits'} failed; first cause: {cause}")
        self.stage = stage


def interruption(signal: KeyboardInterrupt, what: str) -> Interrupted:
    """``Interrupted`` for Ctrl+C or SIGTERM, worded and coded for the signal that came."""
    if isinstance(signal, Terminated):
        return Interrupted(f"terminated (SIGTERM) {what}", exit_code=143)
    return Interrupted(f"interrupted {what}", exit_code=130)


@contextlib.contextmanager
def writing(key: str, path: Path | str, what: str) -> Iterator[None]:
    """Turn a failed write into one line naming ``key=path`` and what to do about it.

    A full disk is a resource running out (exit 1); a read-only or forbidden place is a
    setting to change (exit 2).
    """
    try:
        yield
    except OSError as exc:
        raise cannot_write(key, path, what, exc) from None


def cannot_write(key: str, path: Path | str, what: str, exc: OSError) -> PipelineError:
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ResourceExhausted(f"{key}={path}: cannot write {what} ({reason}); free some space or point {key} elsewhere")
    return UserError(f"{key}={path}: cannot write {what} ({reason}); point {key} at a writable folder")


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exhausted|Warning|Interrupt|Exit)\b.*")


def exception_line(text: str) -> str:
    """The line that says what went wrong, from a traceback text.

    The last ``SomeError: message`` line, not a framework's closing note (JAX ends its
    tracebacks with a paragraph about removed internal frames).
    """
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line):
            return line
    return lines[-1] if lines else ""


def out_of_memory(stage: str, what: str, exc: BaseException, fix: str) -> ResourceExhausted:
    """A stage that ran out of memory (or lost a worker to it), the engine's own words for it, and what to lower."""
    cause = exception_line(str(exc))[:200] or type(exc).__name__
    return ResourceExhausted(f"stage {stage}: {what} ({cause}); {fix}")
