"""``python -m pipeline``: a thin Hydra shell around ``pipeline.frontends.cli.main``.

Every failure a user can cause ends here as one line on stderr and a defined exit code
(2 bad config or data, 1 out of resources, 3 an internal error, 130 Ctrl+C, 143 SIGTERM); ``HYDRA_FULL_ERROR=1``
shows tracebacks.
"""
import gc
import os
import sys
from typing import Any

import hydra
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from pipeline.common import errors, exits, install
from pipeline.common.errors import UserError
from pipeline.config import compose

CONF_DIR = str(install.conf_dir())


@hydra.main(config_path=CONF_DIR, config_name="config", version_base=None)
def main(cfg: Any) -> None:
    from pipeline.frontends import cli as app

    app.main(cfg)


def options_after_overrides(args: list[str]) -> str | None:
    """Hydra's options (``-m``, ``--cfg job``) must come before the overrides, or argparse prints its usage text."""
    first = next((i for i, a in enumerate(args) if "=" in a and not a.startswith("-")), None)
    late = [a for a in args[first:] if a.startswith("-")] if first is not None else []
    if not late:
        return None
    options = [a for a in args if a.startswith("-")]
    rest = [a for a in args if not a.startswith("-")]
    return (f"{late[0]} comes after the overrides; put options first: "
            f"python -m pipeline {' '.join([*options, *rest])}")


def cli() -> None:
    """Hydra's own errors (override syntax, unknown options) become one line too."""
    exits.show_traceback = os.environ.get("HYDRA_FULL_ERROR") == "1"
    exits.never_swallow_ctrl_c()
    exits.signals_remembered()
    exits.tolerate_closed_stdout()
    os.environ["HYDRA_FULL_ERROR"] = "1"  # let Hydra's errors reach us instead of printing them
    compose.register()
    others = install.other_pipelines()
    if others:
        exits.exit_with(UserError(f"another package called 'pipeline' is installed ({others[0]}) beside this project "
                                  f"({install.PACKAGE}); one would shadow the other: uninstall it, or install this "
                                  "project into its own virtual environment"))  # fmt: skip
    misplaced = options_after_overrides(sys.argv[1:])
    if misplaced:
        exits.exit_with(UserError(misplaced))
    try:
        main()
    except (HydraException, OmegaConfBaseException) as exc:
        if exits.show_traceback:
            raise
        exits.exit_with(UserError(compose.describe_hydra_error(exc)))
    except OSError as exc:  # Hydra creates the run folder (and writes .hydra/) before the run starts
        if exits.show_traceback:
            raise
        exits.exit_with(errors.cannot_write("hydra.run.dir", exc.filename or "?", "the run folder", exc))
    except KeyboardInterrupt as signal:
        exits.exit_with(errors.interruption(signal, "before the first stage started; nothing was lost"))
    finally:
        # Everything is written and closed by now. Spare the interpreter's final garbage collections a walk
        # over the ML libraries' millions of objects (about 1 s of every command); the memory goes back anyway.
        gc.freeze()


if __name__ == "__main__":
    cli()
