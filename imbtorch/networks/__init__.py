"""Networks: backbones, the heads around them, pretrained weights, and the network of a fit.

- :mod:`~imbtorch.networks.layers`: the classifier layer (the cosine
  classifier; finding the layer with one output per class in any module);
- :mod:`~imbtorch.networks.pretrained`: weights by name or from local files,
  and the input statistics they expect;
- :mod:`~imbtorch.networks.backbones`: the built-in CNN and CIFAR ResNet,
  torchvision and timm models, your modules;
- :mod:`~imbtorch.networks.heads`: tau-normalisation, the learnable logit
  scale, the difficulty head, features and logits of a network;
- :mod:`~imbtorch.networks.stages`: the backbone's stages (what freezing and
  the backbone's learning rate act on);
- :mod:`~imbtorch.networks.build`: the network of a fit, from its settings.
"""

from .backbones import CifarResNet, NormedLinear, SimpleCNN, build_backbone
from .build import build_network

__all__ = ["CifarResNet", "NormedLinear", "SimpleCNN", "build_backbone", "build_network"]
