# report() into a folder it cannot write: one line naming that folder, no command-line key.
import os

from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from pipeline import StagedSearchCV

X, y = load_iris(return_X_y=True)
search = StagedSearchCV(LogisticRegression(max_iter=300), [{"C": [0.1, 1.0]}], cv=2).fit(X, y)
os.mkdir("locked")
os.chmod("locked", 0o500)
target = "locked/report" if os.geteuid() != 0 else "/proc/report"  # root writes anywhere but /proc
try:
    search.report(target)
except OSError as exc:
    print(exc)
    assert target in str(exc) and "hydra" not in str(exc) and "\n" not in str(exc)
else:
    raise AssertionError("report() claimed to write an unwritable folder")
print("OK")
