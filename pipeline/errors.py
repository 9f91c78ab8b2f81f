"""Errors that end a run with one line and a defined exit code, never a traceback.

``python -m pipeline`` prints ``error: <message>`` and exits with ``exit_code``;
``HYDRA_FULL_ERROR=1`` shows the traceback instead.
"""


class PipelineError(Exception):
    exit_code = 1


class UserError(PipelineError):
    """Bad config or bad data: fix the named key or file and run again."""

    exit_code = 2


class ResourceExhausted(PipelineError):
    """A worker died or memory ran out: the message says what to lower."""

    exit_code = 1


class Interrupted(PipelineError):
    """Ctrl+C: completed stages are stored, the same command resumes."""

    exit_code = 130


show_traceback = False  # set by the entry point from HYDRA_FULL_ERROR=1


def exit_with(error: PipelineError) -> None:
    """Print ``error: <message>`` and exit with its code (or raise it, for a traceback)."""
    import sys

    if show_traceback:
        raise error
    print(f"error: {error}", file=sys.stderr)
    sys.exit(error.exit_code)


def never_swallow_ctrl_c() -> None:
    """Deliver a Ctrl+C again when Python swallowed it.

    The KeyboardInterrupt of a Ctrl+C is raised wherever the main thread happens to be; inside
    a weakref callback or ``__del__`` (garbage collection) Python only prints "Exception ignored"
    and carries on, and the run would finish as if nothing had been pressed.
    """
    import _thread
    import sys
    import threading

    default = sys.unraisablehook

    def hook(unraisable) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            # From another thread, a moment later: raised here, it would be swallowed again.
            threading.Timer(0.05, _thread.interrupt_main).start()
        else:
            default(unraisable)

    sys.unraisablehook = hook


class StageFailed(UserError):
    """Every fit of a stage failed: nothing to freeze, so the run stops here."""

    def __init__(self, stage: str, failed: int, cause: str):
        super().__init__(f"stage {stage}: all {failed} fits failed; first cause: {cause}")
        self.stage = stage
