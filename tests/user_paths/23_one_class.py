# A target with one class (a filtered frame, say): one clear error before any training.
import numpy as np
from sklearn.linear_model import LogisticRegression

from pipeline import Network, StagedSearchCV

X = np.random.default_rng(0).normal(size=(60, 3))
y = np.ones(60, dtype=int)
for estimator in (LogisticRegression(), Network(epochs=1)):
    try:
        StagedSearchCV(estimator, [{"C": [1.0]}] if isinstance(estimator, LogisticRegression)
                       else [{"model__neurons": [4]}], cv=2).fit(X, y)
    except ValueError as exc:
        print(exc)
        assert "class" in str(exc) and "internal error" not in str(exc) and "\n" not in str(exc)
    else:
        raise AssertionError("one class accepted")
print("OK")
