# n_jobs=0 is no number of workers: refused in one line (scikit-learn's joblib refuses it too).
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from pipeline import StagedSearchCV

X, y = load_iris(return_X_y=True)
try:
    StagedSearchCV(LogisticRegression(), [{"C": [1.0]}], n_jobs=0).fit(X, y)
except ValueError as exc:
    print(exc)
    assert "n_jobs" in str(exc) and "\n" not in str(exc)
else:
    raise AssertionError("n_jobs=0 accepted")
print("OK")
