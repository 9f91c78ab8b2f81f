# A Keras classifier behind a ColumnTransformer in a Pipeline, fitted on a DataFrame with a text column.
import keras
import numpy as np
import pandas as pd
from scikeras.wrappers import KerasClassifier
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from pipeline import StagedSearchCV

rng = np.random.default_rng(4)
frame = pd.DataFrame({"glucose": rng.normal(120, 30, 200), "bmi": rng.normal(30, 5, 200),
                      "group": rng.choice(["a", "b", "c"], 200)})
y = (frame["glucose"] > 120).astype(int).to_numpy()


def build(meta, hidden=8):
    m = keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(hidden, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer="adam", loss="binary_crossentropy")
    return m


prep = ColumnTransformer([("num", StandardScaler(), ["glucose", "bmi"]), ("cat", OneHotEncoder(), ["group"])])
pipe = Pipeline([("prep", prep), ("net", KerasClassifier(model=build, hidden=8, epochs=3, verbose=0))])
search = StagedSearchCV(pipe, [{"net__hidden": [4, 16]}, {"net__batch_size": [16, 64]}], cv=2).fit(frame, y)
print(search.best_params_)
assert set(search.best_params_) == {"net__hidden", "net__batch_size"}
assert search.predict(frame.head(3)).shape == (3,)
print("OK")
