"""The network of a fit: the backbone for the fitted images and classes, with its heads."""

from __future__ import annotations

from numbers import Integral

import torch
from torch import nn

from .backbones import BUILTIN_BACKBONES, build_backbone, check_backbone_output
from .heads import ImbalanceNetwork, classifier_layer
from .layers import check_not_cosine
from .stages import frozen_parameter_names


def build_network(
    backbone,
    *,
    weights,
    image_shape: tuple[int, int, int],
    num_classes: int,
    module_kwargs: dict,
    cosine_classifier: bool = False,
    logit_scale: bool = False,
    difficulty_head: bool = False,
    freeze=None,
    tau_normalize: float | None = None,
    max_norm: float | None = None,
    channels_last: bool = False,
) -> nn.Module:
    """Build the network that maps ``image_shape`` images to ``num_classes`` logits.

    Parameters
    ----------
    backbone, weights
        The estimator's ``backbone`` and ``backbone_weights``
        (:func:`~imbtorch.networks.backbones.build_backbone`).
    image_shape : (C, H, W)
        The images as the network takes them.
    num_classes : int
    module_kwargs : dict
        ``module__*`` parameters, for the backbone's constructor.
    cosine_classifier : bool, default=False
        Give a built-in backbone (``'simple_cnn'``, ``'resnet32'``) its cosine
        classifier unless ``module_kwargs`` say otherwise (LDAM).
    logit_scale, difficulty_head : bool, default=False
        Heads of :class:`~imbtorch.networks.heads.ImbalanceNetwork`.
    freeze : None, 'backbone' or int, default=None
        Checked against the backbone's stages.
    tau_normalize, max_norm : float, default=None
        Checked against the classifier (a cosine classifier is refused: its
        class weights are normalised already).
    channels_last : bool, default=False
        Parameters in ``channels_last`` memory order.
    """
    kwargs = dict(module_kwargs)
    if cosine_classifier and isinstance(backbone, str) and backbone in BUILTIN_BACKBONES:
        kwargs.setdefault("cosine_classifier", True)
    module = build_backbone(
        backbone,
        in_channels=image_shape[0],
        num_classes=num_classes,
        weights=weights,
        **kwargs,
    )
    check_backbone_output(module, image_shape, num_classes)
    if logit_scale or difficulty_head:
        module = ImbalanceNetwork(
            module, num_classes, logit_scale=logit_scale, difficulty_head=difficulty_head
        )
    if isinstance(freeze, Integral):
        frozen_parameter_names(module, num_classes, freeze)  # enough stages?
    if tau_normalize is not None:
        check_not_cosine(
            classifier_layer(module, num_classes),
            "tau_normalize",
            "use predict_logit_adjust instead",
        )
    if max_norm is not None:
        check_not_cosine(classifier_layer(module, num_classes), "max_norm", "drop max_norm")
    return module.to(memory_format=torch.channels_last) if channels_last else module
