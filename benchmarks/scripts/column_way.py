"""The column's way: scikeras + TensorFlow GridSearchCV over its grid on every core, whole process timed.

    python benchmarks/scripts/column_way.py DATA.csv WIDTHS_JSON OPTIMIZERS_JSON   # prints seconds, best as JSON
"""
import json
import os
import sys
import time


def main() -> None:
    started = time.perf_counter()
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras
    import pandas as pd
    from scikeras.wrappers import KerasClassifier
    from sklearn.model_selection import GridSearchCV

    frame = pd.read_csv(sys.argv[1])
    X, y = frame.drop(columns="Outcome").iloc[:614], frame["Outcome"].iloc[:614]

    def create_model(neurons):  # the column's network: (neurons, neurons, 8) ReLU layers, dropout 0, sigmoid output
        return keras.Sequential([keras.Input((8,)), keras.layers.Dense(neurons, activation="relu"),
                                 keras.layers.Dense(neurons, activation="relu"), keras.layers.Dense(8, activation="relu"),
                                 keras.layers.Dense(1, activation="sigmoid")])  # fmt: skip

    model = KerasClassifier(model=create_model, loss="binary_crossentropy", epochs=100, batch_size=32, verbose=0)
    grid = GridSearchCV(model, {"model__neurons": json.loads(sys.argv[2]), "optimizer": json.loads(sys.argv[3])},
                        cv=5, n_jobs=-1)
    grid.fit(X, y)
    print(json.dumps({"seconds": time.perf_counter() - started, "best": grid.best_score_, "params": grid.best_params_}))


if __name__ == "__main__":
    main()
