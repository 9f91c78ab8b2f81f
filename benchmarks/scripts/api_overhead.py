"""StagedSearchCV against the same stages run by hand as GridSearchCVs, alternated in one process; prints JSON.

The column's setup: a scikeras KerasClassifier with the column's build function ((n, n, 8) ReLU layers), Pima-shaped
data, two stages (optimizer, then width), stratified 3-fold cv, JAX. Each way runs once to warm up (imports, first
compilations), then ``rounds`` times, alternating; the medians are compared.
"""
import json
import os
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import pandas as pd  # noqa: E402
from scikeras.wrappers import KerasClassifier  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402

from pipeline import StagedSearchCV  # noqa: E402

STAGES = [{"optimizer": ["sgd", "adam", "rmsprop"]}, {"model__neurons": [8, 16, 32]}]


def create_model(meta, neurons=16):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(neurons, activation="relu"),
                             keras.layers.Dense(neurons, activation="relu"), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(1, activation="sigmoid")])  # fmt: skip


def by_hand(model, X, y):
    folds, params = StratifiedKFold(3, shuffle=True, random_state=0), {}
    for i, grid in enumerate(STAGES):
        search = GridSearchCV(model.set_params(**params), grid, cv=folds, refit=i == len(STAGES) - 1).fit(X, y)
        params |= search.best_params_
    return params


def staged(model, X, y):
    return StagedSearchCV(model, STAGES, cv=3, select="best").fit(X, y).best_params_


def main() -> None:
    frame = pd.read_csv(sys.argv[1])
    X, y = frame.drop(columns="Outcome").to_numpy("float32"), frame["Outcome"].to_numpy()
    X = (X - X.mean(0)) / X.std(0)
    rounds, epochs = int(sys.argv[2]), int(sys.argv[3])
    model = lambda: KerasClassifier(model=create_model, loss="binary_crossentropy", epochs=epochs, batch_size=32,  # noqa: E731
                                    verbose=0, random_state=0)  # fmt: skip
    times: dict[str, list[float]] = {"by_hand": [], "staged": []}
    winners = {}
    for r in range(rounds + 1):
        for name, way in (("by_hand", by_hand), ("staged", staged)) if r % 2 == 0 else (("staged", staged), ("by_hand", by_hand)):
            started = time.perf_counter()
            winners[name] = way(model(), X, y)
            if r:  # round 0 warms both up
                times[name].append(time.perf_counter() - started)
    print(json.dumps({k: statistics.median(v) for k, v in times.items()} | {"all": times, "winners": winners}))


if __name__ == "__main__":
    main()
