"""The private names of skorch and scikit-learn that imbtorch relies on, and what it expects.

Each has no public equivalent; ``pyproject.toml`` pins the releases they were
checked against, and CI runs this file once more against the newest releases
(``.ci/check_private_api``), so that a release that breaks one is noticed
before the pin is raised. docs/development.md says why each is used.
"""

import inspect
from numbers import Real

import pytest


def _parameters(function):
    return list(inspect.signature(function).parameters)


def test_sklearn_parameter_validation():
    """imbtorch's constraints use scikit-learn's own vocabulary (as imbalanced-learn does)."""
    from sklearn.utils import _param_validation as pv

    for name in ("HasMethods", "Interval", "Options", "StrOptions"):
        assert isinstance(getattr(pv, name), type), name
    assert _parameters(pv.validate_parameter_constraints)[:3] == [
        "parameter_constraints",
        "params",
        "caller_name",
    ]
    assert "prefer_skip_nested_validation" in _parameters(pv.validate_params)
    with pytest.raises(pv.InvalidParameterError, match="The 'beta' parameter of Est must be"):
        pv.validate_parameter_constraints(
            {"beta": [pv.Interval(Real, 0, 1, closed="left")]}, {"beta": 2.0}, "Est"
        )


def test_sklearn_base_estimator_validate_params():
    """ImageEmbedder.fit validates its parameters with BaseEstimator._validate_params."""
    from sklearn.base import BaseEstimator

    assert _parameters(BaseEstimator._validate_params) == ["self"]


def test_skorch_params_to_validate():
    """NetParamsMixin.set_params registers loader settings set on a fitted net there."""
    from skorch import NeuralNet
    from torch import nn

    net = NeuralNet(nn.Linear(2, 2), criterion=nn.MSELoss)
    assert isinstance(net._params_to_validate, set)


def test_skorch_default_callbacks_property():
    """The estimator adds its callbacks by overriding NeuralNet._default_callbacks, which
    skorch reads in get_default_callbacks and in get_params(deep=True)."""
    from skorch import NeuralNet

    assert isinstance(inspect.getattr_static(NeuralNet, "_default_callbacks"), property)
    source = inspect.getsource(NeuralNet._get_params_callbacks)
    assert "self._default_callbacks" in source


def test_skorch_get_params_callbacks():
    """NetParamsMixin.get_params adds the callbacks' parameters with
    NeuralNet._get_params_callbacks(deep=True), as skorch's get_params does."""
    from skorch import NeuralNet
    from torch import nn

    assert _parameters(NeuralNet._get_params_callbacks) == ["self", "deep"]
    net = NeuralNet(nn.Linear(2, 2), criterion=nn.MSELoss)
    params = net._get_params_callbacks(deep=True)
    assert "callbacks__print_log__keys_ignored" in params


def test_skorch_run_single_epoch_is_the_loop_distributed_validation_follows():
    """DistributedMixin.run_single_epoch re-writes skorch's validation epoch (to score the
    batch gathered from all processes); it must record what skorch records."""
    from skorch import NeuralNet

    source = inspect.getsource(NeuralNet.run_single_epoch)
    assert _parameters(NeuralNet.run_single_epoch) == [
        "self",
        "iterator",
        "training",
        "prefix",
        "step_fn",
        "fit_params",
    ]
    for recorded in (
        'self.notify("on_batch_begin", batch=batch, training=training)',
        'self.history.record_batch(prefix + "_loss", step["loss"].item())',
        'self.history.record_batch(prefix + "_batch_size", batch_size)',
        'self.notify("on_batch_end", batch=batch, training=training, **step)',
        'self.history.record(prefix + "_batch_count", batch_count)',
    ):
        assert recorded in source, recorded
