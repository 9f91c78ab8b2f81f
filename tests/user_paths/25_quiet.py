# verbose=0: nothing at all on the terminal (no progress, no framework lines), only what the script prints.
import contextlib
import io
import os
import sys
import tempfile

import keras
from scikeras.wrappers import KerasClassifier
from sklearn.datasets import make_classification

from pipeline import StagedSearchCV

X, y = make_classification(n_samples=100, n_features=4, random_state=0)


def build(units=4):
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units), keras.layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer="adam", loss="binary_crossentropy")
    return m


with tempfile.TemporaryFile(mode="w+") as err:
    saved = os.dup(2)
    os.dup2(err.fileno(), 2)  # file descriptor 2, where native code writes
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            StagedSearchCV(KerasClassifier(model=build, units=4, epochs=1, verbose=0), [{"units": [2, 4]}], cv=2,
                           verbose=0).fit(X, y)
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
    err.seek(0)
    written = err.read()
assert out.getvalue() == "", out.getvalue()
assert written.strip() == "", written
print("OK")
