# A scalar where a list belongs (and other slips): one clear ValueError naming the stage and parameter.
from sklearn.datasets import load_iris
from sklearn.svm import SVC

from pipeline import StagedSearchCV

X, y = load_iris(return_X_y=True)
for stages, expect in [([{"C": 1.0}], "C"), ([{"C": "rbf"}], "C"), ([{"kernel": ["rbf"]}, {"gamma": 0.1}], "gamma"),
                       ({"s": {"C": []}}, "C")]:
    try:
        StagedSearchCV(SVC(), stages, cv=2).fit(X, y)
    except ValueError as exc:
        message = str(exc)
        print(message)
        assert "\n" not in message and expect in message, message
    else:
        raise AssertionError(f"{stages} was accepted")
print("OK")
