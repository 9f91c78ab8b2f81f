"""Every command in the README's and the docs pages' shell blocks still works: each `python -m pipeline ...` (or `staged-search ...`) line
composes and validates with the real configs, each store and compare line parses, so the README cannot go stale."""
import re
import shlex

import pytest

from pipeline.config.compose import load
from tests.conftest import ROOT, compose_cfg

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [block for page in PAGES for block in re.findall(r"```bash\n(.*?)```", page.read_text(), flags=re.S)]
LINES = [line.split("  #")[0].strip() for block in BLOCKS for line in block.splitlines()]
RUNS = [line for line in LINES if re.match(r"(python -m pipeline|staged-search) ", line) or line == "python -m pipeline"]
TOOLS = [line for line in LINES if re.match(r"python -m pipeline\.(store|compare) ", line)]


def first_of_each_sweep(args: list[str]) -> list[str]:
    """One job of a multirun: the first value of every sweep (``a,b`` or ``range(…)``), options dropped."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser, job = OverridesParser.create(), []
    for arg in args:
        if arg.startswith("-"):
            continue
        override = parser.parse_override(arg)
        if override.is_sweep_override():
            arg = f"{arg.partition('=')[0]}={next(iter(override.sweep_string_iterator()))}"
        job.append(arg)
    return job


def test_the_readme_has_commands_to_check():
    assert len(RUNS) >= 20 and len(TOOLS) >= 3


@pytest.mark.parametrize("line", RUNS)
def test_each_readme_command_composes_and_validates(line):
    args = shlex.split(line.removeprefix("python -m pipeline").removeprefix("staged-search"))
    spec = load(compose_cfg(*first_of_each_sweep(args)))
    assert spec.order.names()


@pytest.mark.parametrize("line", TOOLS)
def test_each_store_and_compare_command_parses(line, tmp_path, capsys):
    from pipeline.frontends import compare
    from pipeline.store import cli

    words = shlex.split(line.replace("[", "").replace("]", ""))
    main = cli.main if words[2] == "pipeline.store" else compare.main
    args = words[3:]
    if main is cli.main:
        args = ["--dir", str(tmp_path), *args]
    try:
        main(args)
    except SystemExit as stop:
        assert stop.code == 0, capsys.readouterr().err
    assert "usage:" not in capsys.readouterr().err
