# After a run, the store CLI: list shows the stages, prune with a negative count is refused, nothing lost.
import subprocess
import sys
from pathlib import Path

tiny = ["dataset=iris", "model.epochs=1", "search.cv=2", "search.final_repeats=0", "order.stages=[neurons]",
        "stages.neurons.grid.model__neurons=[4,8]"]
assert subprocess.run([sys.executable, "-m", "pipeline", *tiny], capture_output=True).returncode == 0
listed = subprocess.run([sys.executable, "-m", "pipeline.store", "list"], capture_output=True, text=True)
assert listed.returncode == 0 and "neurons" in listed.stdout, listed.stdout + listed.stderr
entries = [p for p in Path("stages").iterdir() if len(p.name) == 64]
for bad in (["--keep-last", "-1"], ["--older-than", "-3"]):
    refused = subprocess.run([sys.executable, "-m", "pipeline.store", "prune", *bad], capture_output=True, text=True)
    print(refused.stderr.strip())
    assert refused.returncode == 2 and bad[0] in refused.stderr and refused.stderr.count("\n") == 1
assert [p for p in Path("stages").iterdir() if len(p.name) == 64] == entries
print("OK")
