# A user who chose JAX before importing Keras gets the fused engine.
import os

os.environ["KERAS_BACKEND"] = "jax"
import keras  # noqa: E402
import numpy as np  # noqa: E402

from pipeline import Network, StagedSearchCV  # noqa: E402

assert keras.backend.backend() == "jax"
rng = np.random.default_rng(2)
X = rng.normal(size=(150, 5)).astype("float32")
y = (X[:, 0] + X[:, 1] > 0).astype(int)
search = StagedSearchCV(Network(epochs=2, early_stopping=False), [{"model__neurons": np.array([4, 8])},
                                                                   {"model__dropout": [0.0, 0.2]}], cv=2)
search.fit(X, y)
assert search.spec_.search.engine == "fused"
assert 0 <= search.best_score_ <= 1 and search.best_params_["model__neurons"] in (4, 8)
print("OK")
