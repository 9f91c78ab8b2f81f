"""Errors that end a run with one line and a defined exit code, never a traceback.

``python -m pipeline`` prints ``error: <message>`` and exits with ``exit_code``;
``HYDRA_FULL_ERROR=1`` shows the traceback instead.
"""
from __future__ import annotations

import contextlib
import errno
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any


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


show_traceback = False  # set by the entry point from HYDRA_FULL_ERROR=1


def exit_with(error: PipelineError) -> None:
    """Print ``error: <message>`` and exit with its code (or raise it, for a traceback)."""
    import sys

    if show_traceback:
        raise error
    if not isinstance(error, Interrupted):
        print(f"error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
    # One Ctrl+C ends the run: more presses while it exits change nothing (nor reach a native library's own handler
    # mid-teardown, such as LLVM's in an XLA compile). Everything is stored and the engines are closed by now; an
    # interrupted XLA compile can still have threads running, and the C++ teardown of a normal exit then aborts
    # ("pure virtual method called", exit -6 instead of 130): leave without it. Workers end by their watchdog, as
    # after kill -9 (tested).
    import logging
    import os
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print(f"error: {error}", file=sys.stderr)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(error.exit_code)


def never_swallow_ctrl_c() -> None:
    """Deliver a Ctrl+C again when Python swallowed it.

    The KeyboardInterrupt of a Ctrl+C is raised wherever the main thread happens to be; inside
    a weakref callback or ``__del__`` (garbage collection) Python only prints "Exception ignored"
    and carries on, and the run would finish as if nothing had been pressed.
    """
    import _thread
    import signal
    import sys
    import threading

    default = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            # From another thread, a moment later: raised here, it would be swallowed again.
            signum = signal.SIGTERM if isinstance(unraisable.exc_value, Terminated) else signal.SIGINT
            threading.Timer(0.05, _thread.interrupt_main, args=(signum,)).start()
        else:
            default(unraisable)

    sys.unraisablehook = hook


def sigterm_as_interrupt() -> None:
    """SIGTERM raises ``Terminated`` in the main thread, so it is handled exactly as Ctrl+C is."""
    import signal

    def handler(signum: int, frame: Any) -> None:
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)
