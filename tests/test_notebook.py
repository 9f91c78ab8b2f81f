"""docs/staged_search.ipynb runs top to bottom in a fresh Jupyter kernel, as a reader would run it."""
from __future__ import annotations

import nbclient
import nbformat
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.notebook


def test_the_notebook_runs_and_shows_the_stages_and_a_chart(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    notebook = nbformat.read(ROOT / "docs" / "staged_search.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    shown = [o.get("data", {}) for o in outputs]
    assert any("text/html" in d and "winner" in d["text/html"] and "neurons" in d["text/html"] for d in shown)
    assert any("image/png" in d for d in shown)  # the chart, inline
    streams = [o for o in outputs if o.output_type == "stream"]
    assert {o.name for o in streams} == {"stdout"}  # no framework start-up lines, no warnings
    printed = "".join(o.text for o in streams).splitlines()  # one line per stage, nothing else
    assert [line.split(":")[0] for line in printed] == ["stage 1/2 optimizer", "stage 2/2 neurons"], printed
    assert float(shown[-1]["text/plain"]) > 0.8  # the refitted winner on the held-out rows
    assert list(tmp_path.iterdir()) == []  # no store and no report unless asked
