# The Pipeline idiom: whole estimators as grid values (which classifier, which scaler).
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from pipeline import StagedSearchCV

X, y = load_breast_cancer(return_X_y=True)
pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=500))])
stages = [{"scale": [StandardScaler(), MinMaxScaler()]},
          {"clf": [LogisticRegression(max_iter=500), RandomForestClassifier(n_estimators=10, random_state=0)]}]
search = StagedSearchCV(pipe, stages, cv=3).fit(X, y)
print(search.best_params_)
assert type(search.best_params_["clf"]).__name__ in ("LogisticRegression", "RandomForestClassifier")
assert search.best_score_ > 0.9
assert "LogisticRegression" in str(search.cv_results_["params"][-1]["clf"]) or "RandomForest" in str(search.cv_results_["params"][-1]["clf"])
print("OK")
