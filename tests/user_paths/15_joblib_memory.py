# memory= as in scikit-learn's Pipeline: a folder, or a joblib.Memory; a second search reads the stages back.
import os

from joblib import Memory
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from pipeline import StagedSearchCV

X, y = load_iris(return_X_y=True)
memory = Memory("cache", verbose=0)
stages = [{"C": [0.1, 1.0]}, {"fit_intercept": [True, False]}]
first = StagedSearchCV(LogisticRegression(max_iter=300), stages, cv=2, memory=memory).fit(X, y)
again = StagedSearchCV(LogisticRegression(max_iter=300), stages, cv=2, memory=memory).fit(X, y)
assert [r["reused"] for r in again.stage_results_] == [True, True]
assert again.best_params_ == first.best_params_
assert os.listdir(".") == ["cache"], os.listdir(".")  # nothing named after the object's repr
folder = StagedSearchCV(LogisticRegression(max_iter=300), stages, cv=2, memory="cache").fit(X, y)
assert all(r["reused"] for r in folder.stage_results_)
print("OK")
