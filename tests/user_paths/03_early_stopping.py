# Does early stopping work inside the search? EarlyStopping through callbacks / callbacks__*, validation_split;
# the epochs each fit ran are in cv_results_.
import keras
import numpy as np
from scikeras.wrappers import KerasClassifier
from sklearn.datasets import make_classification

from pipeline import StagedSearchCV

X, y = make_classification(n_samples=200, n_features=8, random_state=1)


def build(neurons=8):
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(neurons, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-6), loss="binary_crossentropy")
    return model


net = KerasClassifier(model=build, epochs=30, batch_size=64, verbose=0, neurons=8, validation_split=0.2,
                      callbacks=[keras.callbacks.EarlyStopping], callbacks__0__monitor="val_loss",
                      callbacks__0__patience=1, callbacks__0__min_delta=1.0)
search = StagedSearchCV(net, [{"neurons": [4, 8]}, {"batch_size": [32, 64]}], cv=2).fit(X, y)
epochs = np.concatenate([search.cv_results_[f"split{i}_test_epochs_run"] for i in range(2)])
print("epochs run:", epochs)
assert np.all(epochs < 30), epochs  # nothing improves by min_delta: every fit stops early
assert search.best_params_["batch_size"] in (32, 64)
try:  # scikeras cannot set a callback's argument after construction (nor can GridSearchCV): said in one line
    StagedSearchCV(net, [{"callbacks__0__patience": [1, 2]}], cv=2).fit(X, y)
except ValueError as exc:
    assert "callbacks__0__patience" in str(exc) and "constructor" in str(exc), exc
else:
    raise AssertionError("a callback argument was tuned")
print("OK")
