"""The estimator: the classifier fix, the build function's depth, and seeded training."""
import keras
import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.model_selection import StratifiedKFold, check_cv

from pipeline.config.schema import DatasetSpec, EarlyStoppingSpec, ModelSpec
from pipeline.data import load_dataset
from pipeline.engines.estimators import Classifier, Regressor, make_estimator
from pipeline.engines.network import build_network

TRAINING = ModelSpec(epochs=2, batch_size=32, early_stopping=EarlyStoppingSpec(enabled=False))


def test_classifier_is_recognised_so_integer_cv_is_stratified():
    from scikeras.wrappers import KerasClassifier

    assert not is_classifier(KerasClassifier(model=build_network))  # the scikeras 0.13 bug we fix
    assert is_classifier(Classifier(model=build_network))
    assert is_regressor(Regressor(model=build_network))
    data = load_dataset(DatasetSpec("breast_cancer"))
    pipeline = make_estimator(data, {}, TRAINING, seed=0)
    assert is_classifier(pipeline)
    assert isinstance(check_cv(3, data.y, classifier=is_classifier(pipeline)), StratifiedKFold)


def test_depth_builds_that_many_hidden_layers():
    meta = {"n_features_in_": 5, "target_type_": "multiclass", "n_classes_": 3}
    for depth in (0, 1, 4):
        model = build_network(meta, depth=depth, neurons=7, dropout=0.2)
        dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        assert len(dense) == depth + 1
        assert [d.units for d in dense] == [7] * depth + [3]
        assert sum(isinstance(layer, keras.layers.Dropout) for layer in model.layers) == depth


def test_output_layer_follows_the_task():
    binary = build_network({"n_features_in_": 4, "target_type_": "binary", "n_classes_": 2})
    regression = build_network({"n_features_in_": 4, "target_type_": "multiclass", "n_outputs_expected_": 1})
    assert binary.layers[-1].units == 1 and binary.layers[-1].activation.__name__ == "sigmoid"
    assert regression.layers[-1].activation.__name__ == "linear"


def test_same_seed_same_model():
    data = load_dataset(DatasetSpec("iris"))
    a = make_estimator(data, {"model__neurons": 4}, TRAINING, seed=3).fit(data.X, data.y)
    b = make_estimator(data, {"model__neurons": 4}, TRAINING, seed=3).fit(data.X, data.y)
    np.testing.assert_array_equal(a.predict_proba(data.X), b.predict_proba(data.X))


def test_regressor_predicts_in_the_targets_units():
    data = load_dataset(DatasetSpec("diabetes"))
    model = make_estimator(data, {}, ModelSpec(epochs=20, batch_size=32, early_stopping=EarlyStoppingSpec(enabled=False)), seed=0)
    model.fit(data.X, data.y)
    assert abs(model.predict(data.X).mean() - data.y.mean()) < 0.3 * data.y.std()
