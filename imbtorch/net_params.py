"""How a skorch net whose settings include a module instance and ``device='auto'`` keeps
scikit-learn's parameter conventions (``get_params``, ``clone``, ``repr``, pickling)."""

from __future__ import annotations

import copy

import torch
from sklearn.base import clone
from torch import nn

from .device import resolve_device

_LOADER_PREFIXES = ("iterator_train__", "iterator_valid__", "dataset__")
#: Settings that may hold an ``nn.Module`` instance (a backbone, a
#: ``torchvision.transforms.v2`` transform): hyperparameters, not fitted parts.
_MODULE_SETTINGS = ("backbone", "train_transform", "minority_augment")


class NetParamsMixin:
    """Parameter plumbing for :class:`~imbtorch.BalancedImageClassifier`.

    - ``backbone``, ``train_transform`` and ``minority_augment`` may be
      ``nn.Module`` instances (torchvision's v2 transforms are modules):
      settings, which skorch would otherwise refuse to ``set_params`` as
      unregistered modules, and which ``clone`` deep-copies (scikit-learn's
      ``clone`` would call a transform's static ``get_params`` as an
      estimator's);
    - ``device='auto'`` is kept as set (``get_params``, ``clone``, pickles)
      while the ``device`` attribute reads the resolved device, so a model
      pickled on a GPU machine loads on a CPU one;
    - ``classes_`` before fit raises an AttributeError that says to fit;
    - loader settings (``iterator_valid__num_workers=0``, ...) can be set on
      a fitted net;
    - ``repr`` lists only the parameters that differ from the defaults.
    """

    def __setattr__(self, name, value):
        if name in _MODULE_SETTINGS:  # may be a module instance: a setting, not a fitted part
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    @property
    def device(self):
        """The torch device in use: the ``device`` setting with ``'auto'`` resolved, or the
        device of the process's ``accelerator``."""
        accelerator_device = getattr(self.__dict__.get("accelerator"), "device", None)
        if accelerator_device is not None:
            # accelerate names the CPU of a multi-process run 'cpu:0', which torch.load's
            # map_location (skorch's load_params: resume) does not take
            cpu = torch.device(accelerator_device).type == "cpu"
            return torch.device("cpu") if cpu else accelerator_device
        return resolve_device(self.__dict__["device"])

    @device.setter
    def device(self, value):
        self.__dict__["device"] = value

    @property
    def classes_(self):
        try:
            return self.__dict__["classes_"]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no classes_ before fit; call fit(X, y) first."
            ) from None

    @classes_.setter
    def classes_(self, value):
        self.__dict__["classes_"] = value

    def set_params(self, **kwargs):
        """skorch's ``set_params``, which also takes loader settings on a fitted net.

        skorch 1.4 raises "Something went wrong" for ``iterator_train__*``,
        ``iterator_valid__*`` and ``dataset__*`` once the net is initialised;
        they need no re-initialisation (the loaders read them when built).
        """
        loader = {key: value for key, value in kwargs.items() if key.startswith(_LOADER_PREFIXES)}
        super().set_params(**{k: v for k, v in kwargs.items() if k not in loader})
        vars(self).update(loader)
        self._params_to_validate.update(loader)
        return self

    def __sklearn_clone__(self):
        """scikit-learn's ``clone``, with every ``nn.Module`` setting deep-copied.

        ``clone`` treats any object with a ``get_params`` attribute as an
        estimator; torchvision transforms (``RandomAffine``,
        ``RandomResizedCrop``, ...) have a static ``get_params`` that draws
        their random parameters, and a module is never an estimator.
        """
        params = self.get_params(deep=False)
        if not any(isinstance(value, nn.Module) for value in params.values()):
            return super().__sklearn_clone__()
        copies = {
            name: copy.deepcopy(value) if isinstance(value, nn.Module) else clone(value, safe=False)
            for name, value in params.items()
        }
        new = type(self)(**copies)
        if "_metadata_request" in vars(self):  # set_fit_request & co., as clone keeps them
            new._metadata_request = copy.deepcopy(self._metadata_request)
        return new

    def get_params(self, deep=True, **kwargs):
        params = super().get_params(deep=False, **kwargs)
        if deep:  # scikit-learn's deep walk, minus modules (a transform's get_params draws)
            for name, value in list(params.items()):
                if hasattr(value, "get_params") and not isinstance(value, (type, nn.Module)):
                    params.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            params.update(self._get_params_callbacks(deep=True))
        params["device"] = self.__dict__["device"]
        params.pop("_params_to_validate", None)  # skorch bookkeeping, not a parameter
        return params

    def __repr__(self):
        defaults = type(self)().get_params(deep=False)
        changed = {
            key: value
            for key, value in self.get_params(deep=False).items()
            if key not in defaults or repr(value) != repr(defaults[key])
        }
        args = ", ".join(f"{key}={value!r}" for key, value in changed.items())
        return f"{type(self).__name__}({args})"

    def __setstate__(self, state):
        requested = state["device"]
        auto = isinstance(requested, str) and requested == "auto"
        if auto:
            state["device"] = resolve_device("auto")
        super().__setstate__(state)
        if auto:
            self.__dict__["device"] = "auto"
