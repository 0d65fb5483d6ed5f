"""ImageEmbedder: images to CNN feature vectors, as a scikit-learn transformer.

The features a CNN computes before its classifier are where imbalanced-learn's
resamplers (SMOTE, ADASYN, Tomek links, ...) make sense: interpolating pixels
gives blurred ghosts, interpolating embeddings gives plausible samples. In an
``imblearn.pipeline.Pipeline`` the embedder turns images into such vectors
and any resampler and classifier follow::

    make_pipeline(ImageEmbedder(), SMOTE(), LogisticRegression())

With ``memory=`` on the pipeline, a grid search over the steps after the
embedder trains the CNN once per training fold.
"""

from __future__ import annotations

import copy
import os
from functools import partial
from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, clone
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.helper import SliceDataset
from skorch.utils import is_dataset
from torch import nn

from .data.huggingface import as_collection
from .data.inputs import INPUT_CONSTRAINTS, ImageInputMixin
from .device import check_device, resolve_device
from .estimator import BalancedImageClassifier
from .networks.backbones import build_backbone, weights_statistics
from .networks.heads import ImbalanceNetwork, classifier_layer, embed
from .networks.layers import split_classifier
from .networks.pretrained import head_outputs, load_weights_file
from .parameters import check_self_supervised_settings
from .training.loaders import evaluation_loader
from .training.precision import PRECISION_CONSTRAINTS, autocast, check_precision
from .training.self_supervised import SELF_SUPERVISED_METHODS, train_backbone


def classifier_trunk(clf: BalancedImageClassifier) -> nn.Module:
    """A copy of a fitted classifier's network without its final classification layer."""
    module = clf.module_
    if isinstance(module, ImbalanceNetwork):
        return copy.deepcopy(module.trunk)
    return split_classifier(copy.deepcopy(module), len(clf.classes_))[0]


def _embedding_dim(clf: BalancedImageClassifier) -> int:
    return int(classifier_layer(clf.module_, len(clf.classes_)).weight.shape[1])


def _is_classifier_model(model) -> bool:
    return isinstance(model, BalancedImageClassifier)


class ImageEmbedder(
    ImageInputMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Turn images into the feature vectors of a CNN (the input of its classifier).

    Four sources of the network:

    - a :class:`~imbtorch.BalancedImageClassifier` (the default, with its
      default settings) trained inside :meth:`fit` on ``(X, y)``, with any
      imbalance strategy it is given;
    - a fitted one with ``prefit=True``: its trained trunk is used as it is;
    - a backbone (name, ``nn.Module`` class or instance) whose weights are
      read from the local file ``weights`` (a ``state_dict`` saved with
      ``torch.save``), e.g. ``backbone='resnet18'`` with torchvision's
      ImageNet weights downloaded beforehand. The last ``nn.Linear`` layer is
      dropped. An instance may also be used without ``weights``, as it is;
    - with ``self_supervised='simclr'``, ``'byol'`` or ``'sdclr'``, a backbone trained in
      :meth:`fit` on ``X`` alone, without labels (lightly's losses, heads and
      views, :mod:`imbtorch.training.self_supervised`), for
      ``max_epochs`` epochs of ``batch_size`` images: ``model`` names the
      backbone, or is a classifier whose ``backbone``, ``backbone_weights``
      and ``module__*`` settings are used. A classifier starts from the
      trained trunk with ``backbone_weights=`` the fitted embedder or the
      file :meth:`save_weights` wrote.

    Parameters
    ----------
    model : BalancedImageClassifier, str, torch.nn.Module class or instance, default=None
        ``None`` trains ``BalancedImageClassifier()`` in ``fit``.
    weights : str or path, default=None
        ``state_dict`` file for a backbone ``model``; loaded on the CPU with
        ``weights_only=True``.
    prefit : bool, default=False
        ``model`` is a fitted :class:`~imbtorch.BalancedImageClassifier` to use
        as it is: ``fit`` only checks it (and needs no ``y``).
    image_size, color_mode, image_shape, data_format
        How to read ``X`` (arrays, image file paths or a torch Dataset) when
        ``model`` is a backbone (see :class:`~imbtorch.BalancedImageClassifier`);
        a classifier reads images with its own settings.
    normalize : bool, default=True
        For a backbone: standardise each channel with the statistics its
        weights expect (ImageNet's for a torchvision or timm name), else with
        the training images'.
    precision : {'32', 'bf16-mixed', '16-mixed'}, default='32'
        ``torch.autocast`` for a backbone's forward passes (a classifier runs
        with its own ``precision``).
    channels_last : bool, default=False
        A backbone and its input batches in ``channels_last`` memory order (a
        classifier uses its own setting).
    batch_size : int, default=256
        Images per forward pass of a backbone in :meth:`transform`; files are
        decoded in worker processes (see :mod:`imbtorch.data.loader`). A
        classifier embeds with :meth:`BalancedImageClassifier.embed`, in its
        own prediction batches.
    device : 'auto', str or torch.device, default='auto'
        Where a backbone runs (a classifier runs on its own device).
    self_supervised : {'simclr', 'byol', 'sdclr'} or None, default=None
        Train the backbone on the images of ``X`` without labels (``y`` is
        not used); needs lightly (``pip install imbtorch[self-supervised]``).
    max_epochs : int, default=50
        Epochs of self-supervised training.
    random_state : int, RandomState or None, default=None
        Seed of the self-supervised training (first weights, batches and
        views): a seeded fit is reproducible.
    verbose : int, default=0
        Show a progress bar of the self-supervised epochs, with their loss.
    checkpoint_dir : str or path, default=None
        Save the self-supervised training's state there after every epoch.
    resume : bool, default=False
        Continue the self-supervised training from the newest state in
        ``checkpoint_dir`` (a killed run, run again, ends with the weights of
        an uninterrupted one); without one, start afresh.
    accelerator : accelerate.Accelerator, default=None
        Self-supervised training over its processes (``accelerate launch``
        or ``torchrun``): each takes a slice of every batch, SimCLR's
        negatives are gathered from all of them, and the gradients averaged.
        Without ``checkpoint_dir`` (every process would write it).

    Attributes
    ----------
    estimator_ : BalancedImageClassifier
        The trained classifier (classifier sources only).
    trunk_ : torch.nn.Module
        The network that maps images to features.
    n_features_in_ : int
    image_shape_ : tuple of int
        ``(C, H, W)`` of the images the trunk takes.
    embedding_dim_ : int
        Length of a feature vector.
    self_supervised_loss_ : list of float
        The mean loss of each epoch of self-supervised training.

    Examples
    --------
    >>> from imblearn.over_sampling import SMOTE
    >>> from imblearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> from imbtorch import BalancedImageClassifier, ImageEmbedder
    >>> pipe = make_pipeline(
    ...     ImageEmbedder(BalancedImageClassifier(max_epochs=10, random_state=0)),
    ...     SMOTE(k_neighbors=1, random_state=0),
    ...     LogisticRegression(max_iter=1000),
    ... )
    """

    _parameter_constraints: dict = {
        "model": [BalancedImageClassifier, str, nn.Module, callable, None],
        "weights": [str, os.PathLike, None],
        "prefit": ["boolean"],
        **INPUT_CONSTRAINTS,
        **PRECISION_CONSTRAINTS,
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device, None],
        "self_supervised": [StrOptions(set(SELF_SUPERVISED_METHODS)), None],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "checkpoint_dir": [str, os.PathLike, None],
        "resume": ["boolean"],
        "accelerator": "no_validation",  # check_accelerator, when fit starts
    }

    def __init__(
        self,
        model=None,
        *,
        weights=None,
        prefit=False,
        image_size=None,
        color_mode="auto",
        image_shape=None,
        data_format="auto",
        normalize=True,
        precision="32",
        channels_last=False,
        batch_size=256,
        device="auto",
        self_supervised=None,
        max_epochs=50,
        random_state=None,
        verbose=0,
        checkpoint_dir=None,
        resume=False,
        accelerator=None,
    ):
        self.model = model
        self.weights = weights
        self.prefit = prefit
        self.image_size = image_size
        self.color_mode = color_mode
        self.image_shape = image_shape
        self.data_format = data_format
        self.normalize = normalize
        self.precision = precision
        self.channels_last = channels_last
        self.batch_size = batch_size
        self.device = device
        self.self_supervised = self_supervised
        self.max_epochs = max_epochs
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume
        self.accelerator = accelerator

    def fit(self, X, y=None):
        """Train (or check, or load) the network and keep its trunk.

        Parameters
        ----------
        X : images: an array, a sequence of image file paths or a torch Dataset
            (as in :meth:`BalancedImageClassifier.fit`)
        y : array-like of shape (N,), default=None
            Needed when the classifier is trained here (a Dataset may carry
            its own targets); not used by self-supervised training.

        Returns
        -------
        self
        """
        self._validate_params()
        model = BalancedImageClassifier() if self.model is None else self.model
        check_self_supervised_settings(self, classifier_model=_is_classifier_model(model))
        vars(self).pop("estimator_", None)  # from an earlier fit
        if self.self_supervised is not None:
            self._fit_self_supervised(model, X)
        elif _is_classifier_model(model):
            self._fit_classifier(model, X, y)
        else:
            self._fit_backbone(model, X)
        if hasattr(self, "estimator_"):
            self.embedding_dim_ = _embedding_dim(self.estimator_)
        else:
            features = self._embed([(torch.zeros((1, *self.image_shape_)), None)])
            self.embedding_dim_ = features.shape[1]
        self._n_features_out = self.embedding_dim_
        return self

    def _fit_classifier(self, model: BalancedImageClassifier, X, y) -> None:
        if self.weights is not None:
            raise ValueError(
                "weights loads a backbone's state_dict, but model is a BalancedImageClassifier; "
                "pass the backbone as model, or drop weights."
            )
        if self.prefit:
            check_is_fitted(model)
            self.estimator_ = model
        else:
            X = as_collection(X)  # a datasets.Dataset carries its labels
            if y is None and not (is_dataset(X) or isinstance(X, SliceDataset)):
                raise ValueError(
                    "ImageEmbedder trains its BalancedImageClassifier in fit, which needs y; "
                    "pass fit(X, y), or a fitted classifier with prefit=True."
                )
            self.estimator_ = clone(model).fit(X, y)
        vars(self).pop("n_features_in_", None)
        if hasattr(self.estimator_, "n_features_in_"):  # arrays, as scikit-learn checks them
            self.n_features_in_ = self.estimator_.n_features_in_
        self.image_shape_ = self.estimator_.image_shape_
        self.trunk_ = classifier_trunk(self.estimator_)

    def _fit_backbone(self, model, X) -> None:
        if self.prefit:
            raise ValueError(
                "prefit=True needs a fitted BalancedImageClassifier as model; a backbone is "
                "used as it is (with its weights file, if any) without prefit."
            )
        if not isinstance(model, nn.Module) and self.weights is None:
            raise ValueError(
                f"model={model!r} would be built with random weights, which embed nothing "
                "learned; pass weights='path/to/state_dict.pt', a trained module instance, or "
                "a BalancedImageClassifier to train on (X, y)."
            )
        check_device(self.device)
        check_precision(self.precision, self._device())
        self._fit_normalization(self._image_source(X, reset=True))
        if isinstance(model, nn.Module):
            network = copy.deepcopy(model)
            if self.weights is not None:
                network.load_state_dict(load_weights_file(self.weights))
        else:
            state = load_weights_file(self.weights)  # read once: head size, then weights
            network = build_backbone(  # loads all but the head, inside any grey adapter
                model,
                in_channels=len(self.channel_mean_),
                num_classes=head_outputs(state),
                weights=state,
            )
        self.trunk_ = self._laid_out(split_classifier(network)[0].to(self._device()))

    def _laid_out(self, trunk: nn.Module) -> nn.Module:
        """``trunk`` in the memory format of ``channels_last``."""
        memory_format = torch.channels_last if self.channels_last else torch.preserve_format
        return trunk.to(memory_format=memory_format)

    def _fit_self_supervised(self, model, X) -> None:
        if _is_classifier_model(model):
            backbone, weights = model.backbone, model.backbone_weights
            kwargs = model.get_params_for("module")
        else:
            backbone, weights, kwargs = model, self.weights, {}
            if isinstance(backbone, nn.Module):
                backbone = copy.deepcopy(backbone)
        check_device(self.device)
        check_precision(self.precision, self._device())
        source = self._image_source(X, reset=True)
        self._fit_normalization(source)
        trunk, self.self_supervised_loss_ = train_backbone(
            backbone,
            weights=weights,
            module_kwargs=kwargs,
            source=source,
            method=self.self_supervised,
            mean=self.channel_mean_,
            std=self.channel_std_,
            epochs=self.max_epochs,
            batch_size=self.batch_size,
            device=self._device(),
            random_state=self.random_state,
            precision=self.precision,
            progress=bool(self.verbose),
            checkpoint_dir=self.checkpoint_dir,
            resume=self.resume,
            accelerator=self.accelerator,
        )
        self.trunk_ = self._laid_out(trunk)

    def backbone_state_dict(self) -> dict:
        """The trunk's weights on the CPU: ``backbone_weights`` of a classifier with its backbone.

        The classification layer is not in it; a classifier built with the
        same backbone (and ``module__*`` settings) loads every other weight.
        """
        check_is_fitted(self, "trunk_")
        return {
            key: value.detach().cpu().clone() for key, value in self.trunk_.state_dict().items()
        }

    def save_weights(self, path) -> None:
        """Save :meth:`backbone_state_dict` with ``torch.save``, for ``backbone_weights=path``.

        Parameters
        ----------
        path : str or path
            The file to write.
        """
        torch.save(self.backbone_state_dict(), path)

    def _pretrained_statistics(self) -> tuple | None:
        if self.self_supervised is not None and _is_classifier_model(self.model):
            return weights_statistics(self.model.backbone, self.model.backbone_weights)
        return weights_statistics(self.model, self.weights)

    def _device(self):
        if hasattr(self, "estimator_"):
            return self.estimator_.device
        if self.accelerator is not None:
            return self.accelerator.device
        return resolve_device(self.device)

    def transform(self, X) -> np.ndarray:
        """Feature vectors of the images.

        Parameters
        ----------
        X : images, as in :meth:`fit`

        Returns
        -------
        features : ndarray of shape (N, ``embedding_dim_``), float32
        """
        check_is_fitted(self, "trunk_")
        if hasattr(self, "estimator_"):  # a classifier reads and embeds images its own way
            return self.estimator_.embed(X)
        dataset = self._prediction_dataset(X)
        return self._embed(
            evaluation_loader(dataset, batch_size=self.batch_size, device=self._device())
        )

    def _embed(self, batches) -> np.ndarray:
        prepare = partial(self._network_input, device=self._device())
        return embed(self.trunk_, batches, prepare=prepare, autocast=self._autocast)

    def _autocast(self):
        return autocast(self.precision, self._device())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = ["float32"]  # the network computes in float32
        return tags
