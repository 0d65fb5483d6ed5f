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
"""

from __future__ import annotations

import torch

#: Optimizers by name, with the settings they get unless ``optimizer__*`` says otherwise.
OPTIMIZERS: dict[str, tuple[type, dict]] = {
    "adamw": (torch.optim.AdamW, {"weight_decay": 0.01}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9, "weight_decay": 5e-4}),
}


class OptimizerMixin:
    """A skorch net's ``optimizer`` (a name or a class) and ``weight_decay`` at work.

    Replaces skorch's ``initialize_optimizer``; mixins before it in the
    method order (mixed precision's gradient scaler) extend it through
    ``super()``.
    """

    def initialize_optimizer(self, triggered_directly=None):
        """Build ``optimizer_``: ``optimizer``, ``lr``, ``weight_decay``, ``optimizer__*``."""
        named_parameters = self.get_all_learnable_params()
        args, kwargs = self.get_params_for_optimizer("optimizer", named_parameters)
        optimizer_class, defaults = optimizer_settings(self.optimizer, self.weight_decay)
        self.optimizer_ = optimizer_class(*args, **{**defaults, **kwargs})
        return self


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
