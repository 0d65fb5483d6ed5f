"""The optimizer of a fit: AdamW or SGD with momentum by name, and their weight decay.

The same ``weight_decay`` number means two different things:

- AdamW (Loshchilov & Hutter 2019) *decouples* the decay from the gradient:
  every step shrinks each weight by ``lr * weight_decay`` of itself,
  whatever its gradient's scale. torch's default is 0.01.
- SGD adds ``weight_decay * w`` to the gradient (*coupled* L2
  regularisation), which momentum then accumulates; the usual value for
  ResNets on CIFAR is 5e-4, and Weight Balancing (Alshammari et al. 2022)
  tunes it to about 5e-3.

So ``weight_decay=None`` takes each optimizer's usual value, and a number
goes to the optimizer as it is.

``lr=None`` does the same for the learning rate, by whether the network
starts from pretrained weights. From scratch, AdamW takes 4e-3 and SGD
0.05: on small long-tailed sets AdamW at 1e-3 left a small network
under-trained in the default 30 epochs. Fine-tuning ``backbone_weights``
keeps 1e-3, the rate every fit had before, where fine-tuning at 4e-3 lost
what pretrained weights gave.
"""

from __future__ import annotations

import inspect

import torch

from .finetune import backbone_parameter_ids, split_backbone_groups

#: Optimizers by name, with the settings they get unless ``optimizer__*`` says otherwise.
OPTIMIZERS: dict[str, tuple[type, dict]] = {
    "adamw": (torch.optim.AdamW, {"weight_decay": 0.01}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9, "weight_decay": 5e-4}),
}

#: ``lr=None``: the learning rate of a named optimizer, from scratch and fine-tuning.
DEFAULT_LR: dict[str, dict[bool, float]] = {
    "adamw": {False: 4e-3, True: 1e-3},
    "sgd": {False: 0.05, True: 1e-3},
}


def build_optimizer(net) -> torch.optim.Optimizer:
    """``net``'s optimizer: ``optimizer``, ``lr``, ``weight_decay``, ``optimizer__*``, and the
    backbone's own parameter group with ``backbone_lr``."""
    named_parameters = net.get_all_learnable_params()
    args, kwargs = net.get_params_for_optimizer("optimizer", named_parameters)
    if net.backbone_lr is not None:
        backbone = backbone_parameter_ids(net.module_, len(net.classes_))
        args = (split_backbone_groups(args[0], backbone, net.backbone_lr), *args[1:])
    optimizer_class, defaults = optimizer_settings(net.optimizer, net.weight_decay)
    kwargs["lr"] = learning_rate(net)  # skorch's is ``lr``, None here by default
    return optimizer_class(*args, **{**defaults, **kwargs})


def learning_rate(net) -> float:
    """The learning rate ``net``'s optimizer is built with: ``optimizer__lr``, ``lr``, or the
    default that ``lr=None`` takes (:data:`DEFAULT_LR`, or the optimizer class's own).

    The warm-up and ``lr_schedule`` scale it epoch by epoch (history key ``event_lr``).
    """
    rate = net.get_params_for("optimizer").get("lr", net.lr)
    if rate is not None:
        return rate
    return default_lr(net.optimizer, pretrained=net.backbone_weights is not None)


def default_lr(optimizer, *, pretrained: bool) -> float:
    """The learning rate ``lr=None`` takes: :data:`DEFAULT_LR` by name, else the class's own."""
    if isinstance(optimizer, str):
        return DEFAULT_LR[optimizer][pretrained]
    parameter = inspect.signature(optimizer).parameters.get("lr")
    if parameter is None or parameter.default is inspect.Parameter.empty:
        raise ValueError(f"{optimizer.__name__} has no default learning rate: set lr.")
    return parameter.default


def optimizer_settings(optimizer, weight_decay: float | None) -> tuple[type, dict]:
    """The optimizer class and its default keyword arguments.

    Parameters
    ----------
    optimizer : 'adamw', 'sgd' or torch optimizer class
        A class gets no defaults but ``weight_decay`` when it is given.
    weight_decay : float or None
        ``None``: the named optimizer's usual value (see the module's notes).

    Returns
    -------
    optimizer_class : type
    defaults : dict
        Overridden by the ``optimizer__*`` parameters.
    """
    if isinstance(optimizer, str):
        optimizer_class, defaults = OPTIMIZERS[optimizer]
        defaults = dict(defaults)
    else:
        optimizer_class, defaults = optimizer, {}
    if weight_decay is not None:
        defaults["weight_decay"] = weight_decay
    return optimizer_class, defaults
