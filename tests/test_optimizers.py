"""optimizer by name ('adamw', 'sgd') and weight_decay: decoupled for AdamW, coupled L2 for SGD."""

import copy

import pytest
import torch
from _steps import first_network, one_step_settings
from sklearn.base import clone

from imbtorch import BalancedImageClassifier

FAST = {"max_epochs": 1, "module__width": 4, "random_state": 0}


@pytest.mark.parametrize(
    "params, kind, expected",
    [
        ({}, torch.optim.AdamW, {"weight_decay": 0.01, "lr": 4e-3}),
        (
            {"optimizer": "sgd"},
            torch.optim.SGD,
            {"weight_decay": 5e-4, "momentum": 0.9, "lr": 0.05},
        ),
        ({"optimizer": "sgd", "weight_decay": 0.2}, torch.optim.SGD, {"weight_decay": 0.2}),
        ({"optimizer": "sgd", "lr": 0.2}, torch.optim.SGD, {"lr": 0.2}),
        ({"optimizer": torch.optim.RMSprop}, torch.optim.RMSprop, {"lr": 1e-2}),  # its own
        ({"optimizer__lr": 0.3}, torch.optim.AdamW, {"lr": 0.3}),
        (
            {"optimizer": "sgd", "optimizer__momentum": 0.5, "optimizer__nesterov": True},
            torch.optim.SGD,
            {"momentum": 0.5, "nesterov": True, "weight_decay": 5e-4},
        ),
        ({"weight_decay": 0.0}, torch.optim.AdamW, {"weight_decay": 0.0}),
        ({"optimizer": torch.optim.SGD}, torch.optim.SGD, {"weight_decay": 0.0, "momentum": 0.0}),
        (
            {"optimizer": torch.optim.Adam, "weight_decay": 0.1},
            torch.optim.Adam,
            {"weight_decay": 0.1},
        ),
        ({"optimizer__weight_decay": 0.3}, torch.optim.AdamW, {"weight_decay": 0.3}),
    ],
)
def test_the_optimizer_gets_its_usual_settings_unless_told_otherwise(
    small_images, params, kind, expected
):
    X, y = small_images
    clf = BalancedImageClassifier(**FAST, **params).fit(X, y)
    assert type(clf.optimizer_) is kind
    assert clf.grad_scaler_ is None  # built after the optimizer by the precision mixin
    group = clf.optimizer_.param_groups[0]
    assert {key: group[key] for key in expected} == expected
    assert group["lr"] == clf.learning_rate() == (clf.lr or group["lr"])
    assert clone(clf).get_params()["optimizer"] == params.get("optimizer", "adamw")


def test_the_learning_rate_a_fit_takes_and_lr_none_on_a_fitted_net(small_images):
    X, y = small_images
    clf = BalancedImageClassifier(**FAST, lr=0.02).fit(X, y)
    assert clf.learning_rate() == 0.02
    clf.set_params(lr=None)  # back to the default, in every parameter group
    assert clf.lr is None and clf.learning_rate() == 4e-3
    assert {group["lr"] for group in clf.optimizer_.param_groups} == {4e-3}
    clf.partial_fit(X, y)
    assert BalancedImageClassifier(optimizer__lr=0.3, lr=0.1).learning_rate() == 0.3  # as skorch
    assert BalancedImageClassifier(backbone_weights="x.pt", optimizer="sgd").learning_rate() == 1e-3

    class NoDefault(torch.optim.SGD):
        def __init__(self, params, lr, momentum=0.0):
            super().__init__(params, lr=lr, momentum=momentum)

    with pytest.raises(ValueError, match="NoDefault has no default learning rate: set lr"):
        BalancedImageClassifier(**FAST, optimizer=NoDefault).fit(X, y)
    assert BalancedImageClassifier(**FAST, optimizer=NoDefault, lr=0.1).fit(X, y).lr == 0.1


def _one_step(X, y, **params):
    params = one_step_settings(len(y), strategy=None, **params)
    start = first_network(X, y, **params)
    stepped = BalancedImageClassifier(max_epochs=1, **params).fit(X, y)
    network = copy.deepcopy(start.module_).train()
    loss = start.criterion_(network(torch.as_tensor(X)[:, None]), torch.as_tensor(y))
    grads = torch.autograd.grad(loss, list(network.parameters()))
    return network, grads, stepped


def test_sgd_weight_decay_is_l2_added_to_the_gradient(small_images):
    X, y = small_images
    lr, decay = 0.1, 0.05
    network, grads, stepped = _one_step(X, y, optimizer="sgd", lr=lr, weight_decay=decay)
    for (name, got), w, g in zip(
        stepped.module_.named_parameters(), network.parameters(), grads, strict=True
    ):
        # momentum starts from the first gradient: w - lr * (g + decay * w)
        torch.testing.assert_close(got, w - lr * (g + decay * w), atol=1e-6, rtol=1e-5, msg=name)


def test_adamw_weight_decay_shrinks_the_weights_apart_from_the_gradient(small_images):
    X, y = small_images
    lr, decay = 0.01, 0.5
    network, grads, stepped = _one_step(X, y, lr=lr, weight_decay=decay)
    for (name, got), w, g in zip(
        stepped.module_.named_parameters(), network.parameters(), grads, strict=True
    ):
        # Adam's first step is lr * g / (|g| + eps); the decay multiplies w by 1 - lr * decay
        adam = g / (g.abs() + 1e-8)
        torch.testing.assert_close(
            got, w * (1 - lr * decay) - lr * adam, atol=1e-5, rtol=1e-4, msg=name
        )


def test_weight_decay_twice_is_refused(small_images):
    X, y = small_images
    clf = BalancedImageClassifier(weight_decay=0.1, optimizer__weight_decay=0.2, **FAST)
    with pytest.raises(ValueError, match=r"weight_decay=0.1 and optimizer__weight_decay=0.2"):
        clf.fit(X, y)
    with pytest.raises(ValueError, match=r"'optimizer' parameter.*'adamw'"):
        BalancedImageClassifier(optimizer="lbfgs", **FAST).fit(X, y)
