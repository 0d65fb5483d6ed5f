"""CNN backbones: the built-in small CNN and CIFAR ResNet, torchvision and timm models,
user modules."""

from __future__ import annotations

import copy
import inspect
from typing import Any

import torch
from torch import nn

from .layers import NormedLinear
from .pretrained import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    is_local_weights,
    load_backbone_weights,
    load_local_weights,
    timm_pretrained_model,
    torchvision_state_dict,
    torchvision_weights,
)


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class SimpleCNN(nn.Module):
    """A small CNN for small images (8x8 digits to 32x32 colour).

    Two stages of two 3x3 conv-BN-ReLU blocks, a 2x2 max-pool between them
    (ceil mode, so 1-pixel-high images work), global average pooling, dropout
    and a linear classifier. ``features`` maps images to ``2 * width`` vectors;
    ``classifier`` maps those to logits.

    Parameters
    ----------
    in_channels : int, default=1
    num_classes : int, default=10
    width : int, default=32
        Channels of the first stage; the second stage has ``2 * width``.
    dropout : float, default=0.1
        Dropout before the classifier.
    cosine_classifier : bool, default=False
        Use :class:`NormedLinear` instead of ``nn.Linear`` (as LDAM does).
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        width: int = 32,
        dropout: float = 0.1,
        cosine_classifier: bool = False,
    ) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _conv_block(in_channels, width),
            _conv_block(width, width),
            nn.MaxPool2d(2, ceil_mode=True),
            _conv_block(width, 2 * width),
            _conv_block(2 * width, 2 * width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.dropout = nn.Dropout(dropout)
        head = NormedLinear if cosine_classifier else nn.Linear
        self.classifier = head(2 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.features(x)))


class _RepeatChannels(nn.Module):
    """Repeat a single grey channel to the three channels torchvision models expect."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.expand(-1, 3, -1, -1)


def _torchvision_backbone(
    name: str, in_channels: int, num_classes: int, weights=None, **kwargs
) -> nn.Module:
    try:
        import torchvision.models
    except ImportError:
        raise ValueError(
            f"Unknown backbone {name!r}. Built-in backbones: {BUILTIN_BACKBONES}. Torchvision "
            "model names (e.g. 'resnet18') need torchvision: pip install 'imbtorch[vision]'. "
            "A torch.nn.Module class or instance works too."
        ) from None
    known = torchvision.models.list_models()
    if name not in known:
        raise ValueError(
            f"Unknown backbone {name!r}. Use one of {BUILTIN_BACKBONES}, a torchvision model "
            f"name such as {sorted(known)[:5]} (see torchvision.models.list_models()), "
            "'timm/<model name>', or a torch.nn.Module class or instance."
        )
    if "weights" in kwargs:
        raise ValueError(
            "module__weights is not used; pass backbone_weights='DEFAULT' (or a weights name "
            "such as 'IMAGENET1K_V1', or a file) so the head is rebuilt for your classes."
        )
    model = torchvision.models.get_model(name, weights=None, num_classes=num_classes, **kwargs)
    if weights is not None:
        head = _head_name(model, num_classes)
        if is_local_weights(weights):
            load_local_weights(model, weights, head=head)
        else:
            published = torchvision_weights(name, weights)
            source = f"{type(published).__name__}.{published.name}"
            load_backbone_weights(
                model, torchvision_state_dict(published), head=head, source=source
            )
    if in_channels == 3:
        return model
    adapter = _RepeatChannels() if in_channels == 1 else nn.Conv2d(in_channels, 3, 1)
    return nn.Sequential(adapter, model)


def _timm_backbone(name: str, in_channels: int, num_classes: int, weights=None, **kwargs):
    try:
        import timm
    except ImportError:
        raise ValueError(
            f"backbone={'timm/' + name!r} needs timm: pip install 'imbtorch[timm]'."
        ) from None
    if not timm.is_model(name.split(".")[0]):
        raise ValueError(
            f"timm has no model {name!r}; see timm.list_models(), e.g. {timm.list_models()[:3]}."
        )
    kwargs = {"num_classes": num_classes, "in_chans": in_channels, **kwargs}
    if weights is None or is_local_weights(weights):
        model = timm.create_model(name, pretrained=False, **kwargs)
        if weights is not None:
            load_local_weights(model, weights, head=_head_name(model, num_classes))
        return model
    if weights != "DEFAULT":
        raise ValueError(
            f"For timm backbones backbone_weights is 'DEFAULT' or a file; got {weights!r}. "
            f"Name the pretrained tag in the backbone instead, e.g. 'timm/{name}.<tag>'."
        )
    return timm_pretrained_model(name, **kwargs)


class _CifarBlock(nn.Module):
    """ResNet basic block with the parameter-free shortcut of He et al. 2016 (option A):
    a strided subsample, zero-padded to the new channel count."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.stride = stride
        self.extra_channels = out_channels - in_channels

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1 and self.extra_channels == 0:
            return x
        x = x[:, :, :: self.stride, :: self.stride]
        front = self.extra_channels // 2
        return nn.functional.pad(x, (0, 0, 0, 0, front, self.extra_channels - front))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = nn.functional.relu(self.bn1(self.conv1(x)))
        return nn.functional.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class CifarResNet(nn.Module):
    """The CIFAR ResNet of He et al. 2016 (section 4.2), the long-tail papers' network.

    ``depth = 6n + 2``: a 3x3 stem, three stages of ``n`` basic blocks with
    ``width``, ``2 * width`` and ``4 * width`` channels (the second and third
    halve the resolution), global average pooling and a linear classifier.
    ``depth=32`` with ``width=16`` is the ResNet-32 (0.46M parameters) of
    CIFAR-10-LT results (LDAM-DRW, logit adjustment, MiSLAS, Weight
    Balancing). Shortcuts are parameter-free (option A), weights
    Kaiming-normal, as in those papers' code. ``features`` maps images to
    ``4 * width`` vectors; ``classifier`` maps those to logits.

    Parameters
    ----------
    in_channels : int, default=3
    num_classes : int, default=10
    depth : int, default=32
        ``6n + 2``: 20, 32, 44, 56, 110, ...
    width : int, default=16
        Channels of the first stage.
    cosine_classifier : bool, default=False
        Use :class:`NormedLinear` instead of ``nn.Linear`` (as LDAM does).
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 10,
        depth: int = 32,
        width: int = 16,
        cosine_classifier: bool = False,
    ) -> None:
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(
                f"A CIFAR ResNet has depth = 6n + 2 (20, 32, 44, 56, 110, ...); got "
                f"depth={depth}. Set module__depth to one of those."
            )
        blocks = (depth - 2) // 6
        stages, channels = [], width
        for stage in range(3):
            out_channels = width * 2**stage
            layers = []
            for block in range(blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(_CifarBlock(channels, out_channels, stride))
                channels = out_channels
            stages.append(nn.Sequential(*layers))
        self.features = nn.Sequential(
            _conv_block(in_channels, width),
            *stages,
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        head = NormedLinear if cosine_classifier else nn.Linear
        self.classifier = head(channels, num_classes)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


_BUILTIN_FACTORIES = {"simple_cnn": SimpleCNN, "resnet32": CifarResNet}
#: The names ``backbone`` takes for the networks built into imbtorch.
BUILTIN_BACKBONES = tuple(_BUILTIN_FACTORIES)


def _head_name(model: nn.Module, num_classes: int) -> str:
    from .layers import find_classifier  # heads builds on this module

    return find_classifier(model, num_classes)[0]


def _instantiate(factory: Any, in_channels: int, num_classes: int, kwargs: dict) -> nn.Module:
    """Call a module class (or factory), filling in ``num_classes``/``in_channels``."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}
    for name, value in (("num_classes", num_classes), ("in_channels", in_channels)):
        if name in params and name not in kwargs:
            kwargs[name] = value
    module = factory(**kwargs)
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"backbone={factory!r} returned {type(module).__name__}, not a torch.nn.Module."
        )
    return module


def build_backbone(
    backbone: str | nn.Module | type[nn.Module],
    *,
    in_channels: int,
    num_classes: int,
    weights=None,
    **kwargs,
) -> nn.Module:
    """Create the network that maps ``(N, C, H, W)`` images to ``(N, num_classes)`` logits.

    Parameters
    ----------
    backbone : str, torch.nn.Module class or instance
        ``'simple_cnn'`` (:class:`SimpleCNN`), ``'resnet32'``
        (:class:`CifarResNet`); a torchvision model name, built
        with ``num_classes`` outputs (grey images are repeated to 3 channels,
        other channel counts mapped by a 1x1 conv); ``'timm/<name>'``, a timm
        model; a module class or factory, called with ``kwargs`` plus
        ``num_classes``/``in_channels`` when its signature takes them; or a
        module instance, deep-copied so that every fit starts from the same
        weights.
    in_channels, num_classes : int
        Taken from the training data.
    weights : str, path, state_dict or None
        Pretrained weights (see :mod:`imbtorch.networks.pretrained`): ``'DEFAULT'`` or a
        torchvision weights name (torchvision and timm backbones), or the
        path of a state_dict file or a state_dict read from one (any backbone). Every weight but the
        classification head's is loaded.
    **kwargs
        Constructor arguments (the estimator's ``module__*`` parameters).

    Returns
    -------
    module : torch.nn.Module
    """
    if isinstance(backbone, str) and backbone not in BUILTIN_BACKBONES:
        if backbone.startswith("timm/"):
            return _timm_backbone(backbone[5:], in_channels, num_classes, weights, **kwargs)
        return _torchvision_backbone(backbone, in_channels, num_classes, weights, **kwargs)
    if weights is not None and not is_local_weights(weights):
        raise ValueError(
            f"backbone_weights={weights!r} names published weights, which exist for "
            "torchvision and timm backbones only; pass the path of a state_dict file."
        )
    if isinstance(backbone, nn.Module):
        if kwargs:
            raise TypeError(
                f"module__ parameters {sorted(kwargs)} cannot be applied to a backbone that is "
                "already an instance; pass the module class as backbone instead."
            )
        model = copy.deepcopy(backbone)
    elif isinstance(backbone, str) or callable(backbone):
        factory = _BUILTIN_FACTORIES[backbone] if isinstance(backbone, str) else backbone
        model = _instantiate(factory, in_channels, num_classes, kwargs)
    else:
        raise TypeError(
            f"backbone must be a name such as 'simple_cnn', a torch.nn.Module class or an "
            f"instance; got {type(backbone).__name__}."
        )
    if weights is not None:
        load_local_weights(model, weights, head=_head_name(model, num_classes))
    return model


def check_backbone_output(module: nn.Module, image_shape: tuple[int, ...], num_classes: int):
    """Run two blank images through ``module`` and check it returns ``num_classes`` logits."""
    probe = torch.zeros((2, *image_shape))
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = module(probe)
    except Exception as exc:
        raise ValueError(
            f"The backbone failed on a batch of shape {tuple(probe.shape)} (N, C, H, W): "
            f"{type(exc).__name__}: {exc}. Check that it accepts images of this size and "
            "channel count."
        ) from exc
    finally:
        module.train(was_training)
    out = out[0] if isinstance(out, tuple) else out
    if out.ndim != 2 or out.shape[1] != num_classes:
        raise ValueError(
            f"The backbone returns output of shape {tuple(out.shape)} for 2 images, but y has "
            f"{num_classes} classes, so it must return (2, {num_classes}) logits. Build it with "
            f"{num_classes} outputs, or pass its class so num_classes is filled in."
        )


def weights_statistics(backbone, weights) -> tuple[tuple, tuple] | None:
    """Input mean and std that pretrained ``weights`` of ``backbone`` expect, or None.

    torchvision and timm weights names give their own statistics; a file
    loaded into a torchvision or timm architecture is taken to be ImageNet
    weights; other networks (the built-in ones, your modules) have no known
    statistics, so the training data's are used.
    """
    from .backbones import BUILTIN_BACKBONES  # backbones builds on this module

    if weights is None or not isinstance(backbone, str) or backbone in BUILTIN_BACKBONES:
        return None
    if backbone.startswith("timm/"):
        if is_local_weights(weights):
            return IMAGENET_MEAN, IMAGENET_STD
        import timm

        config = timm.get_pretrained_cfg(backbone.removeprefix("timm/"))
        config = config.to_dict() if config is not None else {}
        return tuple(config.get("mean", IMAGENET_MEAN)), tuple(config.get("std", IMAGENET_STD))
    try:
        from torchvision.models import list_models
    except ImportError:
        return None  # building the backbone says to install torchvision
    if backbone not in list_models():
        return None  # building the backbone raises the error that lists the names
    if is_local_weights(weights):
        return IMAGENET_MEAN, IMAGENET_STD
    transforms = torchvision_weights(backbone, weights).transforms()
    return tuple(transforms.mean), tuple(transforms.std)
