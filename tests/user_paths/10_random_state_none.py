# scikit-learn's default random_state=None: a search that runs (fresh folds each time), not a TypeError.
from sklearn.datasets import load_wine
from sklearn.neighbors import KNeighborsClassifier

from pipeline import StagedSearchCV

X, y = load_wine(return_X_y=True)
search = StagedSearchCV(KNeighborsClassifier(), [{"n_neighbors": [1, 5, 15]}], cv=3, random_state=None).fit(X, y)
assert search.best_params_["n_neighbors"] in (1, 5, 15)
import numpy as np  # noqa: E402

seeded = StagedSearchCV(KNeighborsClassifier(), [{"n_neighbors": [1, 5]}], cv=3, random_state=np.random.RandomState(0))
seeded.fit(X, y)
print("OK")
