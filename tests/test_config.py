"""Config validation: every mistake is caught before any fit, with a one-line fix."""
import pytest

from pipeline.common.errors import UserError
from pipeline.config.catalogue import SEARCHABLE
from pipeline.config.compose import load
from tests.conftest import CONF, compose_cfg, spec_for


def error_for(*overrides: str) -> str:
    with pytest.raises(UserError) as info:
        load(compose_cfg(*overrides))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_default_config_is_the_seven_stages_in_order():
    spec = spec_for(tiny=False)
    assert spec.order.stages == ["optimizer", "lr_momentum", "init", "activation", "dropout", "neurons", "depth"]
    assert spec.dataset.name == "breast_cancer"
    assert spec.conditions() == {"optimizer__momentum": {"optimizer": ["sgd", "rmsprop"]}}


def test_architecture_first_order():
    spec = spec_for("order=architecture_first", tiny=False)
    assert spec.order.stages[:2] == ["depth", "neurons"]
    assert spec.order.stages[-2:] == ["optimizer", "lr_momentum"]


def test_custom_order_and_grid_override_from_the_command_line():
    spec = spec_for("order.stages=[depth,optimizer]", "stages.depth.grid.model__depth=[1,5]", tiny=False)
    assert [(name, s.grid) for name, s in spec.ordered_stages()] == [
        ("depth", {"model__depth": [1, 5]}),
        ("optimizer", {"optimizer": ["sgd", "rmsprop", "adagrad", "adam", "nadam"]}),
    ]


def test_new_stage_defined_on_the_command_line():
    spec = spec_for("+stages.width={grid:{model__neurons:[3,5]}}", "order.stages=[width]", tiny=False)
    assert spec.ordered_stages()[0][1].grid == {"model__neurons": [3, 5]}


def test_unknown_stage_in_order():
    message = error_for("order.stages=[optimizer,widht]")
    assert "order.stages" in message and "'widht'" in message and "+stages.widht.grid" in message


def test_unknown_grid_parameter():
    message = error_for("+stages.depth.grid.model__layers=[1,2]")
    assert "stages.depth.grid.model__layers" in message and "unknown parameter" in message
    assert "model__depth" in message  # lists what can be searched


def test_empty_grid_list():
    message = error_for("stages.depth.grid.model__depth=[]")
    assert message.startswith("stages.depth.grid.model__depth=[]") and "non-empty list" in message


def test_grid_that_is_not_a_list():
    message = error_for("stages.depth.grid.model__depth=3")
    assert "stages.depth.grid.model__depth=3" in message and "non-empty list" in message


def test_parameter_tuned_by_two_stages():
    message = error_for("+stages.depth.grid.model__neurons=[4]")
    assert "model__neurons" in message and "'neurons'" in message and "one stage only" in message


@pytest.mark.parametrize(
    "override, key",
    [
        ("stages.dropout.grid.model__dropout=[0.2,1.0]", "model__dropout"),
        ("stages.optimizer.grid.optimizer=[adam,adamm]", "optimizer"),
        ("stages.activation.grid.model__activation=[rleu]", "model__activation"),
        ("stages.depth.grid.model__depth=[-1]", "model__depth"),
        ("model.params.optimizer__learning_rate=-0.1", "optimizer__learning_rate"),
    ],
)
def test_bad_values_are_named(override, key):
    message = error_for(override)
    assert key in message and "bad value" in message


@pytest.mark.parametrize(
    "override, key",
    [
        ("search.cv=1", "search.cv=1"),
        ("model.epochs=-3", "model.epochs=-3"),
        ("dataset.test_size=1.5", "dataset.test_size=1.5"),
        ("execution.keras_backend=torch", "execution.keras_backend=torch"),
        ("search.n_jobs=0", "search.n_jobs=0"),
        ("search.engine=fast", "search.engine=fast"),
        ("model.early_stopping.monitor=val_accuracy", "model.early_stopping.monitor=val_accuracy"),
    ],
)
def test_out_of_range_settings(override, key):
    assert error_for(override).startswith(key)


def test_every_searchable_optimizer_argument_is_one_a_keras_optimizer_takes():
    import inspect

    import keras

    from pipeline.config.catalogue import OPTIMIZERS

    taken = set()
    for name in OPTIMIZERS:
        optimizer = type(keras.optimizers.get(name))
        for cls in optimizer.__mro__:  # the base optimizer's arguments (clipnorm, weight_decay, …) count too
            if "__init__" in vars(cls):
                taken |= set(inspect.signature(cls.__init__).parameters)
    arguments = [p.removeprefix("optimizer__") for p in SEARCHABLE if p.startswith("optimizer__")]
    assert arguments and [a for a in arguments if a not in taken] == []


def test_every_allowed_activation_and_init_is_known_to_keras():
    import keras

    from pipeline.config.catalogue import ACTIVATIONS, INITS

    for name in ACTIVATIONS:
        assert keras.activations.get(name) is not None
    for name in INITS:
        assert keras.initializers.get(name) is not None


def test_new_stage_by_single_keys():
    spec = spec_for("+stages.width.grid.model__neurons=[3,5]", "order.stages=[width]", tiny=False)
    assert spec.ordered_stages()[0][1].grid == {"model__neurons": [3, 5]}


def test_typo_in_a_stage_key():
    assert error_for("+stages.depth.gird.model__depth=[1]").startswith("stages.depth.gird: unknown key")


def test_searchable_model_params_are_the_build_functions_arguments():
    import inspect

    from pipeline.config.catalogue import MODEL_PARAMS
    from pipeline.engines.network import NOT_SEARCHABLE, build_network

    arguments = [p for p in inspect.signature(build_network).parameters if p not in NOT_SEARCHABLE]
    assert MODEL_PARAMS == tuple(f"model__{p}" for p in arguments)


@pytest.mark.parametrize(
    "override, expected",
    [
        ("+stages.optimizer.grid.optimizer__beta_1=[fast]", "bad value 'fast'; beta_1 must be a number"),
        ("+stages.optimizer.grid.optimizer__nesterov=[1]", "bad value 1; nesterov must be true or false"),
        ("search.scoring=acuracy", "search.scoring=acuracy: unknown scorer"),
    ],
)
def test_optimizer_arguments_and_scorers_are_checked_before_any_fit(override, expected):
    assert expected in error_for(override)


def test_the_tests_compile_into_a_temporary_cache_never_the_users():
    import os

    from tests.conftest import spec_for

    cache = spec_for().execution.compile_cache
    assert cache == os.environ["STAGED_SEARCH_COMPILE_CACHE"] and "/.cache/" not in cache


def test_a_failed_job_is_named_by_what_sets_it_apart_read_by_hydras_parser():
    from pipeline.frontends.multirun import sweep_overrides

    command = ["-m", "search.seed=0,1", "dataset=iris", "order.stages=[optimizer,depth]", "model.epochs=range(1,3)",
               "search.cv=choice(2,3)", "hydra.sweep.dir=/tmp/sweep"]  # fmt: skip
    job = ["search.seed=1", "dataset=iris", "order.stages=[optimizer,depth]", "model.epochs=2", "search.cv=3"]
    assert sweep_overrides(job, command) == "search.seed=1 model.epochs=2 search.cv=3"  # a list value is no sweep


def test_the_built_in_datasets_are_the_dataset_configs():
    from pipeline.data import BUILTIN

    assert {p.stem for p in (CONF / "dataset").glob("*.yaml")} - {"file"} == set(BUILTIN)


def test_validation_returns_a_normalised_copy_and_leaves_the_spec_it_was_given():
    from omegaconf import OmegaConf

    from pipeline.config.validation import validate

    given = OmegaConf.to_object(compose_cfg("model.params.model__dropout=0", "stages.depth.grid.model__depth=[2,2,1]"))
    checked = validate(given)
    assert checked.model.params["model__dropout"] == 0.0 and isinstance(checked.model.params["model__dropout"], float)
    assert checked.stages["depth"].grid["model__depth"] == [2, 1]  # duplicates dropped
    assert given.model.params["model__dropout"] == 0 and isinstance(given.model.params["model__dropout"], int)
    assert given.stages["depth"]["grid"]["model__depth"] == [2, 2, 1]  # the spec given: as it was
