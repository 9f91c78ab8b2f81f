# The project's own network on a whole-number target that is a quantity (counts): told it is a regression.
import numpy as np

from pipeline import Network, StagedSearchCV

rng = np.random.default_rng(0)
X = rng.normal(size=(160, 4)).astype("float32")
y = np.round(3 * X[:, 0] + 10).astype(int)  # counts from 1 to 19: labels to the eye, a quantity here
net = Network(task="regression", epochs=2, early_stopping=False)
search = StagedSearchCV(net, [{"model__neurons": [4, 8]}], cv=2).fit(X, y)
print(search.metric_, search.best_params_)
assert search.metric_ == "r2"
assert np.issubdtype(np.asarray(search.predict(X[:3])).dtype, np.floating)
print("OK")
