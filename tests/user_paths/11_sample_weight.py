# Fit parameters go to the estimator's fit, as with GridSearchCV: sample_weight.
import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from pipeline import StagedSearchCV

X, y = make_classification(n_samples=200, random_state=0)
weights = np.where(y == 1, 5.0, 1.0)
plain = StagedSearchCV(LogisticRegression(), [{"C": [0.01, 1.0]}], cv=2).fit(X, y)
weighted = StagedSearchCV(LogisticRegression(), [{"C": [0.01, 1.0]}], cv=2).fit(X, y, sample_weight=weights)
assert not np.allclose(plain.cv_results_["mean_test_score"], weighted.cv_results_["mean_test_score"])
assert weighted.best_estimator_.predict(X).mean() > plain.best_estimator_.predict(X).mean()
print("OK")
