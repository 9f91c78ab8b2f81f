"""A padded, masked model in a fused program is exactly the narrow Keras model it stands for.

Outputs, gradients and optimizer steps of every knob of the catalogue (width, depth,
activation, initializer, optimizer, learning rate, momentum, dropout) against the model that
``build_network`` builds and the Keras optimizer that GridSearchCV would use.
"""
import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from pipeline.engines.dropout import unit_noise
from pipeline.engines.layout import Knobs, Layout, RunValues, embed, knobs, layout_for, width_bucket
from pipeline.engines.network import build_network
from pipeline.engines.programs import Compilations, Program

META = {"n_features_in_": 5, "target_type_": "binary", "n_classes_": 2}
LAYOUT = Layout(width=16, depth=3, activations=("relu", "selu", "tanh"),
                optimizers=(("adam", ()), ("rmsprop", ()), ("sgd", ())), dropout=True, batch_size=8)  # fmt: skip
TRAINING = {"epochs": 3, "batch_size": 8, "early_stopping": None}
MODELS = [  # narrow and shallow, as wide and deep as the layout, in between; each optimizer
    Knobs(4, 1, "tanh", 0.0, "he_normal", ("sgd", ()), 0.1, 0.9, 3, 8),
    Knobs(16, 3, "relu", 0.0, "glorot_uniform", ("adam", ()), 0.01, 0.0, 3, 8),
    Knobs(7, 2, "selu", 0.0, "lecun_uniform", ("rmsprop", ()), 0.005, 0.5, 3, 8),
    Knobs(9, 2, "relu", 0.0, "random_normal", ("sgd", ()), 0.05, 0.0, 3, 8),  # momentum 0 in the momentum branch
]


@pytest.fixture(scope="module")
def program():
    return Program(LAYOUT, META, "binary", TRAINING, seed=0, compilations=Compilations())


def one(program, model):
    """The model's knobs as the program holds them (the arrays of a one-model stage)."""
    return {k: v[0] for k, v in program._knob_arrays([model]).items()}


def narrow(model):
    return build_network(META, depth=model.depth, neurons=model.width, activation=model.activation, init=model.init, seed=0)


def data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(8, 5)).astype("float32"), rng.integers(0, 2, (8, 1)).astype("float32")


def loss_of(net, weights, x, y):
    out, _ = net.stateless_call(weights, [], x)
    return jnp.mean(keras.losses.binary_crossentropy(y, out))


@pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{m.width}x{m.depth}-{m.activation}-{m.optimizer[0]}")
def test_outputs_gradients_and_optimizer_steps_are_the_narrow_models(program, model):
    net, knob = narrow(model), one(program, model)
    weights = [np.asarray(v.value) for v in net.trainable_variables]
    padded = embed(weights, model.depth, LAYOUT, META["n_features_in_"])
    x, y = data()
    np.testing.assert_allclose(program.forward(padded, knob, x), net.stateless_call(weights, [], x)[0], rtol=1e-5, atol=1e-6)

    mask = np.ones(8, "float32")
    theirs = jax.grad(lambda w: loss_of(net, w, x, y))(weights)
    ours = jax.grad(lambda w: program._loss(w, knob, x, y, mask))(padded)
    for a, b in zip(ours, embed([np.asarray(g) for g in theirs], model.depth, LAYOUT, META["n_features_in_"])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # the narrow gradients, and exact zeros elsewhere

    reference = keras.optimizers.get({"class_name": model.optimizer[0],
                                      "config": {"learning_rate": model.learning_rate, "momentum": model.momentum}
                                      if model.optimizer[0] in ("sgd", "rmsprop") else {"learning_rate": model.learning_rate}})  # fmt: skip
    reference.build(net.trainable_variables)
    reference_state = [np.asarray(v.value) for v in reference.variables]
    states = [[column[0] for column in variant] for variant in program._optimizer_states([model])]
    for step in range(3):
        x, y = data(step + 1)
        padded, states, _ = program._step(padded, states, knob, x, y, mask, None)
        grads = jax.grad(lambda w: loss_of(net, w, x, y))(weights)  # noqa: B023
        weights, reference_state = reference.stateless_apply(reference_state, grads, weights)
    for a, b in zip(padded, embed([np.asarray(w) for w in weights], model.depth, LAYOUT, META["n_features_in_"])):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


def test_dropout_is_keras_dropout_at_each_models_own_rate(program):
    model = Knobs(16, 1, "relu", 0.3, "glorot_uniform", ("adam", ()), None, 0.0, 3, 8)
    net, knob = narrow(model), one(program, model)
    weights = [np.asarray(v.value) for v in net.trainable_variables]
    key = jax.random.key(7)
    x, _ = data()
    hidden, output = [layer for layer in net.layers if isinstance(layer, keras.layers.Dense)]
    z, _ = hidden.stateless_call(weights[:2], [], x)
    noise = unit_noise(key, 0, len(x), 16)
    mask = noise < 0.7  # Keras' dropout: keep with probability 1 - rate, scale the kept by its inverse
    expected, _ = output.stateless_call(weights[2:], [], jnp.where(mask, z / 0.7, 0.0))
    padded = embed(weights, 1, LAYOUT, META["n_features_in_"])
    np.testing.assert_allclose(program.forward(padded, knob, x, key), expected, rtol=1e-5, atol=1e-6)
    assert 0.6 < float(np.mean(mask)) < 0.8


def test_dropout_noise_of_a_unit_does_not_depend_on_the_layout():
    """Unit u of layer l gets the same noise in a program laid out 8 wide and one 64 wide."""
    key = jax.random.key(3)
    for layer in (0, 2):
        np.testing.assert_array_equal(unit_noise(key, layer, 32, 8), unit_noise(key, layer, 32, 64)[:, :8])
    assert not np.array_equal(unit_noise(key, 0, 32, 8), unit_noise(key, 1, 32, 8))


def test_every_stage_of_a_run_shares_one_layout_and_large_stages_one_per_width_bucket():
    run = RunValues.of([{"model__neurons": 16, "optimizer": "adam"}, {"optimizer": ["sgd", "adam"]},
                        {"model__neurons": [8, 64]}, {"model__depth": [1, 2, 3]}, {"model__activation": ["relu", "tanh"]},
                        {"model__dropout": [0.0, 0.2]}])  # fmt: skip
    optimizers = [knobs({"optimizer": o}, TRAINING) for o in ("sgd", "adam")]
    dropouts = [knobs({"optimizer": "adam", "model__dropout": r, "model__neurons": 12}, TRAINING) for r in (0.0, 0.2)]
    depths = [knobs({"optimizer": "adam", "model__depth": d}, TRAINING) for d in (1, 3)]
    assert layout_for(optimizers, run) == layout_for(dropouts, run) == layout_for(depths, run) == Layout(
        64, 3, ("relu", "tanh"), (("adam", ()), ("sgd", ())), True, TRAINING["batch_size"])
    assert layout_for(optimizers, run, bucketed=True) == layout_for(dropouts, run, bucketed=True) == Layout(
        16, 3, ("relu", "tanh"), (("adam", ()), ("sgd", ())), True, TRAINING["batch_size"])
    wide, narrow = (layout_for([knobs({"optimizer": "adam", "model__neurons": w}, TRAINING)], run, bucketed=True)
                    for w in (64, 8))  # fmt: skip
    assert (wide.width, narrow.width, wide.depth, wide.optimizers) == (64, 8, 3, (("adam", ()), ("sgd", ())))
    assert [width_bucket(w) for w in (1, 4, 8, 9, 24, 32, 100, 128)] == [1, 4, 8, 16, 32, 32, 128, 128]
    assert layout_for([knobs({"model__depth": 0}, TRAINING)], run).depth == 0  # no hidden layers: a program of its own
