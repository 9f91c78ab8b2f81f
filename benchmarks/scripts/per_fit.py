"""One estimator fitted N times in a fresh process: the column's plain scikeras + TensorFlow, or this project's.

    python benchmarks/scripts/per_fit.py column|project DATA.csv N   # prints the fit times as JSON
"""
import json
import os
import sys
import time


def column_estimator():
    """The column's model: 8 -> 16 -> 16 -> dropout 0.2 -> 8 -> 1, Adam, TensorFlow."""
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras
    from scikeras.wrappers import KerasClassifier

    def create_model():
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(16, activation="relu"), keras.layers.Dropout(0.2),
                                  keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
        return model

    return lambda X, y: KerasClassifier(model=create_model, epochs=100, batch_size=32, verbose=0)


def project_estimator():
    """This project's estimator for the same model (JAX, its compile cache)."""
    from pipeline.engines.execution import select_backend

    select_backend("jax", "~/.cache/staged-keras-search/xla")
    from pipeline.common.records import Dataset
    from pipeline.config.schema import EarlyStoppingSpec, ModelSpec
    from pipeline.engines.estimators import make_estimator

    params = {"model__depth": 3, "model__neurons": 16, "model__dropout": 0.2}
    model = ModelSpec(epochs=100, batch_size=32, early_stopping=EarlyStoppingSpec(enabled=False))
    return lambda X, y: make_estimator(Dataset("pima", X, y, "binary"), params, model, seed=0)


def main() -> None:
    mode, path, fits = sys.argv[1], sys.argv[2], int(sys.argv[3])
    import pandas as pd

    frame = pd.read_csv(path)
    X, y = frame.drop(columns="Outcome").iloc[:614], frame["Outcome"].iloc[:614]
    make = column_estimator() if mode == "column" else project_estimator()
    times = []
    for _ in range(fits):
        estimator = make(X, y)
        started = time.perf_counter()
        estimator.fit(X, y)
        times.append(time.perf_counter() - started)
    print(json.dumps(times))


if __name__ == "__main__":
    main()
