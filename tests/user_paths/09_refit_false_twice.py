# refit=False after a refitted fit: predict must refuse, as GridSearchCV does, never answer with the old model.
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from pipeline import StagedSearchCV

X, y = load_iris(return_X_y=True)
search = StagedSearchCV(LogisticRegression(max_iter=300), [{"C": [0.1, 1.0]}], cv=2).fit(X, y)
assert search.predict(X[:2]).shape == (2,)
search.set_params(refit=False).fit(X, y)
try:
    search.predict(X[:2])
except (AttributeError, NotFittedError) as exc:
    print("refused:", exc)
else:
    raise AssertionError("predict answered with the model of an earlier fit")
assert not hasattr(search, "best_estimator_")
print("OK")
