"""The backbone's stages: which parameters form the backbone, and its blocks in input order.

The *backbone* is every parameter outside the classification head (and the
extra heads of :class:`~imbtorch.networks.heads.ImbalanceNetwork`). Its *stages* are
the network's top-level blocks in input order: a run of single layers (a
stem such as ResNet's conv1 + bn1) counts as one stage, a container module
(ResNet's layer1, a SimpleCNN conv block) as one each. For a torchvision
ResNet they are stem, layer1, layer2, layer3, layer4.
"""

from __future__ import annotations

from torch import nn

from .heads import ImbalanceNetwork
from .layers import find_classifier


def _trunk(module: nn.Module, num_classes: int) -> tuple[nn.Module, str, str]:
    """The module holding the backbone, the prefix of its parameter names, its head's name."""
    if isinstance(module, ImbalanceNetwork):
        return module.trunk, "trunk.", ""  # the trunk's classifier is an Identity already
    return module, "", find_classifier(module, num_classes)[0]


def backbone_stages(module: nn.Module, num_classes: int) -> list[list[str]]:
    """Parameter names of each stage of the backbone, in input order."""
    trunk, prefix, head = _trunk(module, num_classes)

    def holds_backbone(name: str, child: nn.Module) -> bool:
        return name != head and any(True for _ in child.parameters())

    node, path = trunk, ""
    while True:  # walk down through wrappers that hold a single block with parameters
        children = [(n, c) for n, c in node.named_children() if holds_backbone(path + n, c)]
        if len(children) != 1 or not any(True for _ in children[0][1].children()):
            break
        path += children[0][0] + "."
        node = children[0][1]
    stages: list[list[str]] = []
    single_layers = False
    for name, child in children:
        names = [
            f"{prefix}{path}{name}.{p}"
            for p, _ in child.named_parameters()
            if not f"{path}{name}.{p}".startswith(f"{head}.")
        ]
        is_layer = not any(True for _ in child.children())
        if is_layer and single_layers:
            stages[-1] += names
        else:
            stages.append(names)
        single_layers = is_layer
    return stages


def frozen_parameter_names(module: nn.Module, num_classes: int, freeze) -> list[str]:
    """Names of the parameters that ``freeze`` (``'backbone'`` or a number of stages) covers."""
    stages = backbone_stages(module, num_classes)
    if freeze == "backbone":
        return [name for stage in stages for name in stage]
    if freeze > len(stages):
        raise ValueError(
            f"freeze={freeze} stages, but the backbone has {len(stages)}; freeze at most "
            f"{len(stages)} (or 'backbone' for all of it)."
        )
    return [name for stage in stages[:freeze] for name in stage]
