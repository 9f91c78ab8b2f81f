# fit on a DataFrame, then on a plain array: feature_names_in_ goes, as scikit-learn's estimators do.
import pandas as pd
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from pipeline import StagedSearchCV

frame, y = load_iris(return_X_y=True, as_frame=True)
search = StagedSearchCV(LogisticRegression(max_iter=300), [{"C": [0.1, 1.0]}], cv=2).fit(frame, y)
assert list(search.feature_names_in_) == list(frame.columns)
search.fit(frame.to_numpy(), y.to_numpy())
assert not hasattr(search, "feature_names_in_")
assert search.n_features_in_ == 4
assert isinstance(frame, pd.DataFrame)
print("OK")
