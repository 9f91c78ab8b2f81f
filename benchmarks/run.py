"""``python benchmarks/run.py [--only SECTION ...]``: the benchmark harness (see ``benchmarks/harness.py``)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the checkout is the package root

from benchmarks.harness import main  # noqa: E402

if __name__ == "__main__":
    main()
