# A notebook that imported Keras on TensorFlow (the default), then the project's Network: it trains through
# scikit-learn's loop and says in one warning that the fused engine needs JAX; nothing asks for a restart.
import warnings

import keras
import numpy as np

from pipeline import Network, StagedSearchCV

assert keras.backend.backend() == "tensorflow"
rng = np.random.default_rng(1)
X = rng.normal(size=(120, 4)).astype("float32")
y = (X[:, 0] > 0).astype(int)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    search = StagedSearchCV(Network(epochs=1, early_stopping=False), [{"model__neurons": [4, 8]}], cv=2).fit(X, y)
said = [str(w.message) for w in caught if "JAX" in str(w.message)]
print(said)
assert len(said) == 1 and "restart" not in said[0] and "fresh process" not in said[0]
assert search.best_params_["model__neurons"] in (4, 8)
print("OK")
