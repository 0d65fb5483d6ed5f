"""The classifier layer of a network: the cosine classifier, and finding the layer
that gives one output per class in any module."""

from __future__ import annotations

import torch
from torch import nn


class NormedLinear(nn.Module):
    """Cosine classifier: logits are cosines between normalised features and weights.

    The logits lie in [-1, 1]; losses that expect it (LDAM) scale them up.

    Parameters
    ----------
    in_features : int
        Features of the trunk.
    out_features : int
        Classes.
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(x, dim=1) @ nn.functional.normalize(self.weight, dim=1).T


CLASSIFIER_TYPES = (nn.Linear, NormedLinear)


def find_classifier(module: nn.Module, num_classes: int | None = None) -> tuple[str, nn.Module]:
    """The last linear layer of ``module`` (with ``num_classes`` outputs, if given), and its name.

    Layers are searched in registration order, which puts the classifier last
    in :class:`~imbtorch.networks.backbones.SimpleCNN` and torchvision models.

    Raises
    ------
    ValueError
        When ``module`` has no such layer.
    """
    found = [
        (name, layer)
        for name, layer in module.named_modules()
        if isinstance(layer, CLASSIFIER_TYPES)
        and (num_classes is None or layer.weight.shape[0] == num_classes)
    ]
    if not found:
        outputs = "" if num_classes is None else f" with {num_classes} outputs"
        raise ValueError(
            f"{type(module).__name__} has no nn.Linear layer{outputs}, so its classifier "
            "cannot be found; end the backbone in nn.Linear(features, num_classes)."
        )
    return found[-1]


def split_classifier(
    module: nn.Module, num_classes: int | None = None
) -> tuple[nn.Module, nn.Module]:
    """Split ``module`` (in place) into a feature trunk and its classifier layer.

    The classifier is replaced by ``nn.Identity`` inside ``module``, which then
    returns features: ``classifier(trunk(x))`` equals the original ``module(x)``.
    A bare linear layer has no trunk to split off. The classifier is found by
    :func:`find_classifier` (any last linear layer when ``num_classes`` is None).

    Returns
    -------
    trunk, classifier : torch.nn.Module
    """
    name, classifier = find_classifier(module, num_classes)
    if not name:
        raise ValueError(
            "The backbone is a single linear layer; there are no features to split from it."
        )
    module.set_submodule(name, nn.Identity())
    return module, classifier


def check_not_cosine(classifier: nn.Module, option: str, instead: str) -> None:
    """Refuse a cosine classifier for ``option``, which rescales the class weights.

    A cosine classifier normalises its class weights in every forward pass.
    """
    if isinstance(classifier, NormedLinear):
        raise ValueError(
            f"{option} rescales the class weight norms, but the classifier is a cosine "
            "classifier whose weights are already normalised (loss='ldam' builds one); "
            f"{instead}, or use a plain linear head (module__cosine_classifier=False)."
        )
