# python -m pipeline ... | head: the run completes and stores its stages; the closed pipe is not an error.
import subprocess
import sys
from pathlib import Path

tiny = "dataset=iris model.epochs=1 search.cv=2 search.final_repeats=0 order.stages=[neurons] " \
       "stages.neurons.grid.model__neurons=[4,8]"
done = subprocess.run(["bash", "-o", "pipefail", "-c", f"{sys.executable} -m pipeline {tiny} | head -1"],
                      capture_output=True, text=True)
print(done.stdout, done.stderr)
assert done.returncode == 0 and "Broken pipe" not in done.stderr and done.stderr.strip() == ""
assert list(Path("outputs").glob("*/*/summary.csv")), "the run folder was not written"
print("OK")
