# Grids written with numpy: np.logspace, np.arange, numpy scalars, tuples, a numpy array of strings.
import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from pipeline import StagedSearchCV

X, y = make_classification(n_samples=200, n_features=6, random_state=0)
stages = [
    {"C": np.logspace(-2, 2, 5)},
    {"max_iter": np.arange(50, 151, 50), "fit_intercept": (True, False)},
    {"solver": np.array(["lbfgs", "liblinear"]), "tol": [np.float32(1e-4), np.float64(1e-3)]},
]
search = StagedSearchCV(LogisticRegression(), stages, cv=3).fit(X, y)
print(search.best_params_)
assert set(search.best_params_) == {"C", "max_iter", "fit_intercept", "solver", "tol"}
assert search.best_params_["C"] in list(np.logspace(-2, 2, 5))
assert [r["candidates"] for r in search.stage_results_] == [5, 6, 4]
print("OK")
