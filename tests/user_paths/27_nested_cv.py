# The search inside scikit-learn's own tools: clone it, cross_val_score it (nested cross-validation).
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.model_selection import cross_val_score
from sklearn.svm import SVC

from pipeline import StagedSearchCV

X, y = load_iris(return_X_y=True)
search = StagedSearchCV(SVC(), [{"C": [0.1, 10.0]}, {"gamma": ["scale", 0.01]}], cv=2)
scores = cross_val_score(clone(search), X, y, cv=3)
print(scores)
assert scores.shape == (3,) and scores.mean() > 0.8
print("OK")
