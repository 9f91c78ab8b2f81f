"""How the command ends: one ``error: <message>`` line and the error's exit code, never a traceback; and signals.

``python -m pipeline`` prints the line and exits with ``exit_code``; ``HYDRA_FULL_ERROR=1``
shows the traceback instead. Ctrl+C and SIGTERM end a run the same way, once.
"""
from __future__ import annotations

from typing import Any

from pipeline.common.errors import Interrupted, PipelineError, Terminated

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


class _ClosedStdoutTolerated:
    """stdout that outlives its reader: ``python -m pipeline ... | head`` closes the pipe after a few lines, and
    the run goes on (its stages stored, its run folder written), what it prints after that going nowhere."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except BrokenPipeError:
            self._to_nowhere()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_nowhere()

    def _to_nowhere(self) -> None:
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())  # the interpreter's own flush at exit finds a file, not a broken pipe
        os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def tolerate_closed_stdout() -> None:
    import sys

    sys.stdout = _ClosedStdoutTolerated(sys.stdout)


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


_pressed: list[type[KeyboardInterrupt]] = []  # Ctrl+C and SIGTERM received, not yet ended the run with


def signals_remembered() -> None:
    """Ctrl+C raises ``KeyboardInterrupt`` and SIGTERM ``Terminated`` in the main thread, as Python's own handler
    would, and each is remembered until the run ends with it (``raise_if_swallowed``)."""
    import signal

    def interrupt(signum: int, frame: Any) -> None:
        _pressed.append(Terminated if signum == signal.SIGTERM else KeyboardInterrupt)
        raise _pressed[-1]()

    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # a background job's ignored Ctrl+C stays ignored
        signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def raise_if_swallowed() -> None:
    """Raise again a Ctrl+C or SIGTERM that came and did not end the run: a library caught and dropped its
    ``KeyboardInterrupt`` (native code calling back into Python, a ``__del__``). The runner calls this between
    its steps, so a press always stops the run at the next one, saying where, instead of a run that ends 0."""
    if _pressed:
        kind = _pressed[-1]
        _pressed.clear()
        raise kind()
