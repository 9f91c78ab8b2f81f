# A slip on the command line: one line naming the key and the fix, exit 2, no traceback, no run folder.
import subprocess
import sys
from pathlib import Path

for override, key in [("search.cv=1", "search.cv"), ("search.halving.factor=inf", "search.halving.factor"),
                      ("stages.lr_momentum.grid.optimizer__learning_rate=[inf]", "learning_rate"),
                      ("dataset.path=/dev/null", "dataset.path")]:
    extra = ["dataset=file", "dataset.target=y"] if override.startswith("dataset.path") else []
    done = subprocess.run([sys.executable, "-m", "pipeline", *extra, override], capture_output=True, text=True)
    print(done.stderr.strip())
    assert done.returncode == 2, (override, done.returncode, done.stderr)
    assert key in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
assert not Path("outputs").exists() or not list(Path("outputs").glob("*/*/summary.csv"))
print("OK")
