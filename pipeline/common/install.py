"""Where this installation's files are: the Hydra configs (beside the package in a checkout, inside it in a wheel),
and any other package called ``pipeline`` on the path that could shadow this one."""
from __future__ import annotations

import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # pipeline/, above common/


def conf_dir() -> Path:
    """The configs: ``pipeline/conf`` in an installed wheel (package data), the checkout's ``conf/`` otherwise."""
    packaged = PACKAGE / "conf"
    return packaged if (packaged / "config.yaml").is_file() else PACKAGE.parent / "conf"


def other_pipelines(path: list[str] | None = None) -> list[Path]:
    """Other importable modules or packages named ``pipeline`` on ``sys.path`` (the first one found is imported: a
    different one earlier on the path would silently replace this project, one later is shadowed by it)."""
    found = []
    for entry in path if path is not None else sys.path:
        base = Path(entry or ".").resolve()
        for candidate in (base / "pipeline" / "__init__.py", base / "pipeline.py"):
            if candidate.is_file() and candidate.resolve().parent != PACKAGE and candidate.resolve() != PACKAGE / "__init__.py":
                found.append(candidate.parent if candidate.name == "__init__.py" else candidate)
    return list(dict.fromkeys(found))
