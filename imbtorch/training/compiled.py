"""skorch's ``compile=True`` without wrapping ``module_``: forward passes run compiled.

skorch replaces ``module_`` by ``torch.compile(module_)``, a wrapper whose
type, submodule names (``_orig_mod.``) and state_dict keys differ from the
network's, so that everything reading the network's structure (its heads,
freezing stages, cRT, ``ImageEmbedder``, checkpoints) would have to see
through it. Here ``module_`` stays the plain network and the forward passes
of training, validation and prediction go through a compiled wrapper of it
(sharing its parameters), made once per wrapped module.
"""

from __future__ import annotations

import torch
from torch import nn


class CompiledForwards:
    """``torch.compile`` of the modules forward passes run through, one per module.

    Parameters
    ----------
    options : dict
        skorch's ``compile__*`` parameters, passed to ``torch.compile``.
    """

    def __init__(self, options: dict) -> None:
        self.options = options
        self._compiled: dict[int, tuple[nn.Module, nn.Module]] = {}

    def __call__(self, module: nn.Module) -> nn.Module:
        """The compiled wrapper of ``module`` (made at the first call for it)."""
        found = self._compiled.get(id(module))
        if found is None or found[0] is not module:
            found = (module, torch.compile(module, **self.options))
            self._compiled[id(module)] = found
        return found[1]

    def __getstate__(self) -> dict:
        return {"options": self.options}  # compiled code does not travel; made again on use

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["options"])
