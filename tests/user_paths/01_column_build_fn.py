# The column's code: Keras imported first (its default backend), a scikeras KerasClassifier with a build_fn,
# a grid of numpy values; the staged search instead of one GridSearchCV.
import keras
import numpy as np
from scikeras.wrappers import KerasClassifier
from sklearn.datasets import make_classification

from pipeline import StagedSearchCV

X, y = make_classification(n_samples=160, n_features=8, random_state=7)


def create_model(neurons=8, optimizer="adam"):
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(neurons, activation="relu"),
                              keras.layers.Dense(neurons, activation="relu"), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    return model


model = KerasClassifier(model=create_model, epochs=2, batch_size=32, verbose=0, neurons=8, optimizer="adam")
search = StagedSearchCV(model, stages=[{"optimizer": ["sgd", "adam"]}, {"neurons": np.arange(4, 13, 8)}], cv=2)
search.fit(X, y)
print(search.best_params_)
assert set(search.best_params_) == {"optimizer", "neurons"}
assert search.best_params_["neurons"] in (4, 12) and type(search.best_params_["neurons"]) is int
assert 0.0 <= search.best_score_ <= 1.0
assert len(search.cv_results_["params"]) == 4
assert search.predict(X[:5]).shape == (5,)
print("OK")
