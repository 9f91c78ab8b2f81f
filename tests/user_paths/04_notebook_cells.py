# A notebook's cell order: imports; define; fit (one line per stage shown by default); report(); predict.
import io
import sys
from pathlib import Path

import keras
from scikeras.wrappers import KerasClassifier
from sklearn.datasets import make_classification

from pipeline import StagedSearchCV

# cell 2: define
X, y = make_classification(n_samples=150, n_features=5, random_state=3)


def build(neurons=4, activation="relu"):
    m = keras.Sequential([keras.Input((5,)), keras.layers.Dense(neurons, activation=activation),
                          keras.layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer="adam", loss="binary_crossentropy")
    return m


clf = KerasClassifier(model=build, epochs=20, batch_size=32, verbose=0, neurons=4, activation="relu")
search = StagedSearchCV(clf, {"width": {"neurons": [4, 8]}, "activation": {"activation": ["relu", "tanh"]}}, cv=2)

# cell 3: fit, what the cell shows
shown, saved = io.StringIO(), sys.stdout
sys.stdout = shown
search.fit(X, y)
sys.stdout = saved
lines = [ln for ln in shown.getvalue().splitlines() if ln.strip()]
print("\n".join(lines))
assert sum(ln.startswith("stage ") for ln in lines) == 2, lines  # one line per stage
assert any("width" in ln for ln in lines) and any("activation" in ln for ln in lines)

# cell 4: report
folder = search.report("report")
text = (folder / "report.md").read_text()
assert (folder / "summary.csv").is_file() and (folder / "best_params.json").is_file()
assert "50-epoch" not in text and "20-epoch" in text, text  # the estimator's own epochs, not the project's default
assert Path("report/charts/epochs.png").is_file()

# cell 5: predict
assert search.predict_proba(X[:3]).shape == (3, 2)
print("OK")
