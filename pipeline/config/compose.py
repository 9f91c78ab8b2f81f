"""Hydra's side of the config: the schema registered with Hydra, a composed config turned into a ``RunSpec``.

Only this module and the entry point touch ``DictConfig``; everything after it gets plain
dataclasses. Hydra's own composition errors (override syntax, unknown option or key) are
turned into one line here too.
"""
from __future__ import annotations

import os
import re
from typing import cast

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, ValidationError

from pipeline.common.errors import UserError
from pipeline.config import scoring
from pipeline.config.schema import RunSpec
from pipeline.config.validation import validate


def register() -> None:
    """Tell Hydra the schema and the ``${process:}`` resolver; the entry point calls it before composing.

    ``${process:}`` in conf/config.yaml: run folders unique per process, even for two runs started in the
    same second. Safe to call more than once.
    """
    ConfigStore.instance().store(name="schema", node=RunSpec)
    OmegaConf.register_new_resolver("process", lambda: f"p{os.getpid()}", use_cache=True, replace=True)


def load(cfg: DictConfig) -> RunSpec:
    """The composed config as a validated ``RunSpec``; ``UserError`` naming the first bad key."""
    try:
        spec = cast(RunSpec, OmegaConf.to_object(cfg))
    except MissingMandatoryValue as exc:
        key = getattr(exc, "full_key", "") or "a required key"
        raise UserError(f"{key} is required: add {key}=<value> on the command line") from None
    except ValidationError as exc:
        raise UserError(describe_hydra_error(exc)) from None
    spec = validate(spec)
    scoring.check_name(spec.search)
    return spec


def describe_hydra_error(exc: Exception) -> str:
    """Hydra's composition errors (bad override syntax, unknown option or key) as one line."""
    text = str(exc)
    cause = str(exc.__cause__ or "")
    missing = re.search(r"Could not find '(.+)/([^/']+)'", text)
    if missing:
        group, option = missing.groups()
        options = re.findall(r"^\t(\S+)$", text.split("Config search path")[0], flags=re.M)
        if options:
            return f"{group}={option}: unknown option; choose one of {', '.join(options)}"
        return f"{group}: unknown config group; see python -m pipeline --help"
    unknown_key = re.search(r"Could not (?:override|append to config)\. .*?'(.+?)'|Could not override '(.+?)'", text)
    if unknown_key:
        key = unknown_key.group(1) or unknown_key.group(2)
        return f"{key}: unknown key; check the spelling (python -m pipeline --cfg job lists every key)"
    not_in = re.search(r"Key '(.+?)' not in '(\w+)'\s+full_key: (\S+)", text + "\n" + cause)
    if not_in:
        return f"{not_in.group(3)}: unknown key; check the spelling (python -m pipeline --cfg job lists every key)"
    merging = re.search(r"Error merging override (\S+)", text)
    if merging and cause:
        return f"{merging.group(1)}: {cause.splitlines()[0]}"
    if "override_grammar" in text or "no viable alternative" in text or "mismatched input" in text:
        return (f"bad override syntax: {text.splitlines()[0]} (quote values that hold brackets, spaces or ~, "
                """e.g. 'store.dir="~/stages"')""")  # fmt: skip
    lines = [ln.strip() for ln in (text + "\n" + cause).splitlines() if ln.strip() and "full_key" not in ln]
    return "; ".join(lines[:2])
