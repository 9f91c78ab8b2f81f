# A pandas frame with named and text columns through a ColumnTransformer Pipeline.
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from pipeline import StagedSearchCV

rng = np.random.default_rng(0)
frame = pd.DataFrame({"age": rng.integers(20, 70, 300), "income": rng.normal(50, 10, 300),
                      "city": rng.choice(["Oslo", "Lima", "Pune"], 300)})
y = pd.Series((frame["age"] > 45).astype(int), name="churn")
prep = ColumnTransformer([("num", StandardScaler(), ["age", "income"]), ("cat", OneHotEncoder(), ["city"])])
model = Pipeline([("prep", prep), ("clf", LogisticRegression())])
search = StagedSearchCV(model, [{"clf__C": [0.01, 1.0, 100.0]}, {"clf__fit_intercept": [True, False]}], cv=3)
search.fit(frame, y)
print(search.best_params_, search.best_score_)
assert list(search.feature_names_in_) == ["age", "income", "city"]
assert search.best_score_ > 0.8
assert search.score(frame, y) > 0.8
assert set(search.predict(frame.head(4))) <= {0, 1}
print("OK")
