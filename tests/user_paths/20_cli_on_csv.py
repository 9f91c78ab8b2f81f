# The README's command on a user's CSV: python -m pipeline dataset=file dataset.path=... dataset.target=...
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(0)
frame = pd.DataFrame(rng.normal(size=(200, 4)), columns=["a", "b", "c", "d"])
frame["kind"] = rng.choice(["x", "y"], 200)
frame["label"] = (frame["a"] + frame["b"] > 0).astype(int)
frame.to_csv("data.csv", index=False)
tiny = ["model.epochs=2", "search.cv=2", "search.final_repeats=0", "stages.optimizer.grid.optimizer=[adam]",
        "order.stages=[optimizer,neurons]", "stages.neurons.grid.model__neurons=[4,8]"]
done = subprocess.run([sys.executable, "-m", "pipeline", "dataset=file", "dataset.path=data.csv",
                       "dataset.target=label", *tiny], capture_output=True, text=True)
print(done.stdout[-2000:], done.stderr[-2000:])
assert done.returncode == 0
assert "held-out test accuracy" in done.stdout
runs = list(Path("outputs").glob("*/*/summary.csv"))
assert len(runs) == 1 and (runs[0].parent / "best_params.json").is_file()
assert done.stdout.count("\n") <= 40
print("OK")
