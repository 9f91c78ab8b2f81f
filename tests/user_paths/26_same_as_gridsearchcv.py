# One stage is GridSearchCV: the same scores on the same stratified folds, with a numpy grid.
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pipeline import StagedSearchCV

X, y = load_breast_cancer(return_X_y=True)
model = make_pipeline(StandardScaler(), LogisticRegression())
grid = {"logisticregression__C": np.logspace(-3, 1, 5)}
ours = StagedSearchCV(model, [grid], cv=4, random_state=3, select="best").fit(X, y)
theirs = GridSearchCV(model, grid, cv=StratifiedKFold(4, shuffle=True, random_state=3)).fit(X, y)
assert np.allclose(ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"])
assert ours.best_params_ == {k: float(v) for k, v in theirs.best_params_.items()}
print("OK")
