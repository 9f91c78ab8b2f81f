# A regressor: KerasRegressor with a build_fn, r2 scoring by default.
import keras
import numpy as np
from scikeras.wrappers import KerasRegressor
from sklearn.datasets import make_regression

from pipeline import StagedSearchCV

X, y = make_regression(n_samples=200, n_features=4, noise=0.1, random_state=0)
y = y / y.std()


def build(units=8, learning_rate=0.01):
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation="relu"), keras.layers.Dense(1)])
    m.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    return m


reg = KerasRegressor(model=build, epochs=3, batch_size=32, verbose=0, units=8, learning_rate=0.01)
search = StagedSearchCV(reg, [{"model__learning_rate": np.array([0.01, 0.05])}, {"units": [4, 16]}], cv=2).fit(X, y)
print(search.best_params_, search.metric_, search.best_score_)
assert search.metric_ == "r2"
assert search.predict(X[:7]).shape == (7,)
assert isinstance(search.best_params_["model__learning_rate"], float)
print("OK")
