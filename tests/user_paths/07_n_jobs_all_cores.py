# n_jobs=-1, as in GridSearchCV examples; and n_jobs far above the work is capped by it.
import os

from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier

from pipeline import StagedSearchCV

X, y = load_iris(return_X_y=True)
search = StagedSearchCV(DecisionTreeClassifier(random_state=0), [{"max_depth": [1, 2, 3]},
                                                                   {"min_samples_leaf": [1, 5]}], cv=3, n_jobs=-1)
search.fit(X, y)
assert search.best_params_["max_depth"] in (2, 3), search.best_params_
big = StagedSearchCV(DecisionTreeClassifier(random_state=0), [{"max_depth": [1, 2]}], cv=2, n_jobs=500).fit(X, y)
assert big.best_params_ == {"max_depth": 2}
assert len(os.sched_getaffinity(0)) >= 1
print("OK")
