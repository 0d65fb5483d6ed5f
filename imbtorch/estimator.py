"""BalancedImageClassifier: a skorch CNN classifier with imbalance strategies as parameters."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import partial
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from skorch import NeuralNet, NeuralNetClassifier
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from .augment import augment_minority, minority_codes
from .backbones import NormedLinear, build_backbone, check_backbone_output
from .class_weights import compute_imbalance_weights
from .criteria import LOSS_NAMES, focal_alpha_factors, make_criterion
from .data.arrays import DATA_FORMATS
from .data.dataset import (
    SAMPLE_WEIGHT_KEY,
    ImageDataset,
    batch_images,
    is_prepared,
)
from .data.files import COLOR_MODES
from .data.inputs import ImageInputMixin
from .decoupled import retrain_classifier
from .device import check_device, seeded_torch
from .distributed import DistributedMixin, check_accelerator
from .finetune import FineTuningMixin, fine_tuning_callbacks, frozen_parameter_names
from .heads import (
    ImbalanceNetwork,
    check_tau_normalizable,
    difficulty_loss,
    embed,
    find_classifier,
    tau_normalized,
)
from .iterators import LoadersMixin
from .labels import check_class_sample_weight, encode_labels, fit_classes
from .losses import log_prior
from .monitors import progress_monitors, validation_monitors
from .net_params import NetParamsMixin
from .precision import PRECISIONS, PrecisionMixin, as_float32, check_precision
from .pretrained import weights_statistics
from .resume import ResumableMixin, check_resumable
from .samplers import MAX_SEED, SAMPLER_NAMES

_INHERITED_UNUSED = ("module", "criterion", "classes")


class BalancedImageClassifier(
    NetParamsMixin,
    ImageInputMixin,
    FineTuningMixin,
    PrecisionMixin,
    ResumableMixin,
    DistributedMixin,
    LoadersMixin,
    NeuralNetClassifier,
):
    """CNN image classifier whose answers to class imbalance are hyperparameters.

    A subclass of skorch's :class:`~skorch.NeuralNetClassifier` rather than a
    wrapper around one: users keep skorch's whole API (``history``,
    ``callbacks``, ``partial_fit``, ``save_params``, prefixed parameters such
    as ``module__width`` or ``optimizer__weight_decay`` in ``set_params`` and
    ``GridSearchCV``, device-mapped pickling), and it stays a scikit-learn
    classifier: it takes image arrays and labels of any type, ``classes_``
    holds the labels, ``predict`` returns them.

    Parameters
    ----------
    backbone : str, torch.nn.Module class or instance, default='simple_cnn'
        The network. ``'simple_cnn'`` is :class:`~imbtorch.backbones.SimpleCNN`;
        a torchvision model name (e.g. ``'resnet18'``, needs torchvision) builds
        that model untrained; a module class gets ``num_classes`` and
        ``in_channels`` from the data when its signature takes them; an
        instance is copied at every fit. ``module__*`` parameters go to its
        constructor. ``'timm/<name>'`` builds a timm model (needs timm).
    backbone_weights : None, str or path, default=None
        Pretrained weights: ``None`` (random initialisation), ``'DEFAULT'`` or a
        torchvision weights name such as ``'IMAGENET1K_V1'`` (torchvision and
        timm backbones; from torch's cache or downloaded), or the path of a
        state_dict file or a checkpoint holding one (any backbone). The head is
        rebuilt with one output per class; keys that do not fit are listed in
        the error (see :mod:`imbtorch.pretrained`).
    freeze : None, 'backbone' or int, default=None
        Freeze the whole backbone (train the head only) or its first ``k``
        stages (see :mod:`imbtorch.finetune`), with skorch's ``Freezer``.
        Frozen BatchNorm layers keep their running statistics.
    unfreeze_epoch : int or None, default=None
        Fine-tune everything from this epoch on (0-based: after that many
        epochs), as fastai's ``fine_tune``; needs ``freeze``.
    backbone_lr : float or None, default=None
        Learning rate of the backbone's parameters (its own optimizer
        parameter group); the head keeps ``lr``.
    class_weight : None, 'balanced', 'effective' or dict, default=None
        Weight of each class in the loss. ``'balanced'`` uses
        :func:`sklearn.utils.class_weight.compute_class_weight`; ``'effective'``
        the effective number of samples (Cui et al. 2019) with ``beta``; a dict
        maps the labels of ``y`` (strings too) to weights, others weigh 1.
    beta : float in [0, 1), default=0.999
        Effective-number hyperparameter, used by ``class_weight='effective'``.
    loss : {'ce', 'focal', 'ldam', 'logit_adjusted', 'balanced_softmax'}, default='ce'
        Training loss (see :mod:`imbtorch.losses`); all combine with
        ``class_weight``, ``sample_weight`` and ``ohem_ratio``. ``'ldam'``
        gives ``'simple_cnn'`` its cosine classifier, as in the paper.
    focal_gamma : float >= 0, default=2.0
        Focusing parameter of the focal loss (``0`` gives cross-entropy).
    focal_alpha : None, float, array-like or dict, default=None
        Class balancing factor of the focal loss: a float ``a`` (two classes:
        ``a`` for ``classes_[1]``, ``1 - a`` for ``classes_[0]``), one factor per
        class in ``classes_`` order, or ``{label: factor}``.
    ldam_max_margin : float >= 0, default=0.5
        LDAM margin of the rarest class.
    ldam_scale : float > 0, default=30.0
        LDAM logit scale (30 suits cosine logits).
    logit_adjust_tau : float, default=1.0
        Scale of the prior shift of ``loss='logit_adjusted'``.
    ohem_ratio : float in (0, 1], default=None
        Online hard example mining: train on the hardest fraction of each batch.
    drw_epoch : int, default=None
        Deferred re-weighting (Cao et al. 2019): ``class_weight`` applies only
        from this epoch (0-based) on; earlier epochs weigh classes equally.
    drs_epoch : int, default=None
        Deferred re-sampling: ``sampler`` applies only from this epoch on;
        earlier epochs shuffle plainly.
    predict_logit_adjust : float, default=None
        Post-hoc logit adjustment (Menon et al. 2021): predict with
        ``logits - tau * log(prior)``, moving decisions toward tail classes.
    tau_normalize : float >= 0, default=None
        Post-hoc tau-normalisation (Kang et al. 2020): predict (and validate)
        with each class's classifier weights divided by their norm to the
        power ``tau``, which evens out the larger norms head classes acquire.
        Needs a final ``nn.Linear`` with one output per class.
    logit_scale : bool, default=False
        Multiply the logits by a learnable per-class scale (Kang et al. 2020's
        learnable weight scaling), trained with the network.
    difficulty_head : float > 0, default=None
        Add an auxiliary head that predicts, from the classifier's input
        features, each sample's cross-entropy (Yoo & Kweon 2019); the value is
        the weight of its smooth-L1 loss in the training loss. Read it with
        :meth:`predict_difficulty` to find the hard, often tail or mislabelled,
        samples.
    head_resampler : 'class_balanced' or imblearn sampler, default=None
        Decoupled training (Kang et al. 2020, cRT): after the ``max_epochs``
        of training, keep the trunk, re-initialise the final classifier layer
        and train it alone for ``head_epochs`` on the training set's features,
        either drawn class-balanced or resampled by an imbalanced-learn
        sampler (SMOTE, ADASYN, ... are meaningful on features; ``k`` is
        capped to the smallest class with a warning, see
        :mod:`imbtorch.resampling`). Stage one can use any strategy.
    head_epochs : int, default=30
        Epochs of the classifier re-training (AdamW, ``lr``, ``batch_size``).
    minority_augment : float in (0, 1) or callable, default=None
        Minority-targeted augmentation: transform the training images of the
        ``minority_classes`` only, afresh in every batch. A float is the
        largest shift of :func:`~imbtorch.augment.random_shift` as a fraction
        of the image size (``0.125``: CIFAR's pad-4-and-crop); a callable
        (e.g. a ``torchvision.transforms.v2`` transform) is applied to each
        tail image as a ``(C, H, W)`` tensor, after standardisation (and
        after ``train_transform``), on the training device. It helps
        alongside re-balancing (``class_weight``, ``sampler``), which shows
        the tail often; on its own it makes the tail harder to fit.
    minority_classes : 'auto' or array-like of labels, default='auto'
        The classes ``minority_augment`` transforms; ``'auto'`` takes those
        with fewer training samples than the median class.
    sampler : None, str or imblearn sampler, default=None
        How training batches are drawn, re-drawn every epoch: ``None`` (shuffle),
        ``'weighted'`` (inverse class frequency, with replacement), ``'sqrt'``
        (square-root frequency), ``'over'`` / ``'under'`` (random over- /
        under-sampling), ``'class_balanced'`` (each batch holds the classes
        equally), or an imbalanced-learn sampler that selects samples (e.g.
        ``RandomUnderSampler(sampling_strategy=...)``) applied to the indices.
        ``'progressive'`` moves from instance- to class-balanced sampling over
        ``max_epochs`` (Kang et al. 2020).
    train_transform : callable, default=None
        Augmentation of every training image, e.g. a
        ``torchvision.transforms.v2`` pipeline: called on each image as a
        float ``(C, H, W)`` tensor (``uint8`` pixels and files scaled to
        ``[0, 1]``), before standardisation, in the loader's worker processes
        for files and Datasets. It must keep the shape. Prediction and the
        validation split never see it.
    image_size : (int, int), default=None
        Resize every image to ``(H, W)`` (files and PIL images with Pillow's
        bilinear resize, arrays and tensors with torch's antialiased one).
        ``None`` keeps the sizes, which must then all be equal: files of
        different sizes raise an error naming two of them.
    color_mode : {'auto', 'grey', 'rgb'}, default='auto'
        Channels of the images: ``'auto'`` keeps those of the first image
        (file, Dataset item or array), and converts every other image to
        them; ``'grey'`` and ``'rgb'`` convert every image to 1 or 3
        channels. Prediction converts to the channels fitted.
    image_shape : tuple of int, default=None
        Shape ``(H, W)`` or ``(C, H, W)`` of each row of 2-D ``X`` (``-1`` infers
        one axis). ``None`` accepts square rows (e.g. 64 pixels -> 8x8).
    data_format : {'auto', 'channels_first', 'channels_last'}, default='auto'
        Channel axis of 4-D ``X`` (and of 3-D array items of a Dataset);
        ``'auto'`` picks the axis of size <= 4.
    normalize : bool, default=True
        Standardise each channel with the mean and std of the training
        images: exact for arrays, estimated from 1,000 images for files and
        Datasets. Standardisation runs per batch, on the training device.
        Pretrained torchvision and timm weights bring their own statistics
        (ImageNet's), which are used instead; grey images are then repeated to
        three channels.
    precision : {'32', 'bf16-mixed', '16-mixed'}, default='32'
        ``torch.autocast`` in bfloat16 or float16 for training and prediction;
        ``'16-mixed'`` adds a gradient scaler and needs CUDA. Losses and
        outputs stay float32.
    channels_last : bool, default=False
        Keep the network and its input batches in ``channels_last`` memory
        order (faster convolutions on recent GPUs, above all with mixed
        precision). skorch's ``compile=True`` works with both.
    optimizer : torch optimizer class, default=torch.optim.AdamW
    lr : float, default=1e-3
    max_epochs : int, default=30
    batch_size : int, default=64
    train_split : callable or None, default=None
        skorch's internal validation split, e.g.
        ``skorch.dataset.ValidSplit(5, stratified=True)``. ``None`` trains on
        all the data, which small tail classes need. With a split, the history
        records ``valid_bacc`` (balanced accuracy) and ``valid_f1`` (macro-F1)
        each epoch, and the ``early_stopping`` callback stops after 10 epochs
        without a better macro-F1 (never before ``drw_epoch``/``drs_epoch``)
        and restores the best weights; tune or drop it with
        ``callbacks__early_stopping__patience=20`` or
        ``callbacks__early_stopping=None`` (see :mod:`imbtorch.monitors`).
    checkpoint_dir : str or path, default=None
        Folder for checkpoints. After every epoch the whole training state
        goes there (network, optimizer, history, callbacks, sampler seed,
        random number generators; see :mod:`imbtorch.resume`), and training
        loaders keep no worker processes between epochs unless
        ``iterator_train__persistent_workers`` says so. With a validation
        split, the state of best macro-F1 is kept too (skorch's
        :class:`~skorch.callbacks.Checkpoint`) and loaded at the end of ``fit``.
    resume : bool, default=False
        Let ``fit`` continue from the newest training state in
        ``checkpoint_dir`` (a fit that was killed) up to ``max_epochs`` epochs
        in all, ending with the weights an uninterrupted fit ends with; with
        no state there yet it starts afresh, so the same script serves the
        first run and every restart. Needs the same data and a reproducible
        ``train_split``.
    callbacks : list of skorch callbacks, default=None
    device : 'auto', str, torch.device or None, default='auto'
        ``'auto'`` trains on CUDA when available and on the CPU otherwise. The
        ``device`` attribute reads the resolved device; ``get_params`` returns
        the setting.
    accelerator : accelerate.Accelerator, default=None
        Train over the processes of ``accelerate launch`` or ``torchrun``
        (data-parallel, one GPU or CPU per process). Every process calls
        ``fit`` with all the data; each trains on its slice of every batch,
        and the samples of an epoch over all processes are exactly those one
        process would draw, for every ``sampler``. Validation scores and
        predictions are gathered in order on every process. Create it
        without ``mixed_precision`` (use ``precision``). Pickles drop it. See
        :mod:`imbtorch.distributed` and the "Scaling out" guide.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, shuffling and samplers; the
        global torch RNG is restored afterwards. With an int, fits on CPU are
        reproducible. ``None`` draws from torch's global RNG, so
        ``torch.manual_seed`` set before ``fit`` applies.
    verbose : int, default=0
        When > 0, print skorch's epoch log and show a progress bar over each
        epoch's batches.
    **kwargs
        skorch's other parameters: ``module__*``, ``optimizer__*``,
        ``criterion__*``, ``iterator_train__*``, ``iterator_valid__*``,
        ``callbacks__*``, ``warm_start``, ``predict_nonlinearity``, ...
        Loaders get ``num_workers`` (one per CPU up to 8 for files and
        Datasets, 0 for arrays), ``pin_memory`` (on CUDA) and
        ``persistent_workers`` by default; ``iterator_train__num_workers=4``
        and the like override them (see :mod:`imbtorch.data.loader`).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels of ``y``, sorted; columns of ``predict_proba``.
    class_counts_ : ndarray of shape (n_classes,)
        Training samples per class.
    class_weight_ : ndarray of shape (n_classes,)
        Loss weight of each class (ones when ``class_weight=None``).
    minority_classes_ : ndarray
        The classes ``minority_augment`` transforms (set when it is given).
    image_shape_ : tuple of int
        ``(C, H, W)`` of the training images as the network sees them.
    channel_mean_, channel_std_ : ndarray of shape (C,)
        Standardisation statistics (zeros and ones with ``normalize=False``).
    n_features_in_ : int
        ``X.shape[1]`` of training data given as an array, as scikit-learn
        checks it (not set for files and Datasets).
    sampler_seed_ : int
        Seed of the training batches' per-epoch draws (and of the loader
        workers' seeds); the same on every process of a distributed fit.
    module_, criterion_, optimizer_, history_
        skorch's fitted components.

    Examples
    --------
    >>> from imbtorch import BalancedImageClassifier
    >>> from imbtorch.datasets import load_long_tailed_digits
    >>> X_train, X_test, y_train, y_test = load_long_tailed_digits(imbalance_ratio=50)
    >>> clf = BalancedImageClassifier(class_weight="balanced", random_state=0)
    >>> clf.fit(X_train, y_train).predict(X_test[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "backbone": [str, callable],
        "backbone_weights": [str, os.PathLike, None],
        "freeze": [StrOptions({"backbone"}), Interval(Integral, 1, None, closed="left"), None],
        "unfreeze_epoch": [Interval(Integral, 1, None, closed="left"), None],
        "backbone_lr": [Interval(Real, 0, None, closed="left"), None],
        "class_weight": [StrOptions({"balanced", "effective"}), dict, None],
        "beta": [Interval(Real, 0, 1, closed="left")],
        "loss": [StrOptions(set(LOSS_NAMES))],
        "focal_gamma": [Interval(Real, 0, None, closed="left")],
        "focal_alpha": [Interval(Real, 0, 1, closed="both"), "array-like", dict, None],
        "ldam_max_margin": [Interval(Real, 0, None, closed="left")],
        "ldam_scale": [Interval(Real, 0, None, closed="neither")],
        "logit_adjust_tau": [Interval(Real, None, None, closed="neither")],
        "ohem_ratio": [Interval(Real, 0, 1, closed="right"), None],
        "drw_epoch": [Interval(Integral, 0, None, closed="left"), None],
        "drs_epoch": [Interval(Integral, 0, None, closed="left"), None],
        "predict_logit_adjust": [Interval(Real, None, None, closed="neither"), None],
        "tau_normalize": [Interval(Real, 0, None, closed="left"), None],
        "logit_scale": ["boolean"],
        "difficulty_head": [Interval(Real, 0, None, closed="neither"), None],
        "head_resampler": [StrOptions({"class_balanced"}), HasMethods(["fit_resample"]), None],
        "head_epochs": [Interval(Integral, 1, None, closed="left")],
        "minority_augment": [Interval(Real, 0, 1, closed="neither"), callable, None],
        "minority_classes": [StrOptions({"auto"}), "array-like"],
        "sampler": [StrOptions(set(SAMPLER_NAMES)), HasMethods(["fit_resample"]), None],
        "train_transform": [callable, None],
        "image_size": [tuple, list, None],
        "color_mode": [StrOptions(set(COLOR_MODES))],
        "image_shape": [tuple, list, None],
        "data_format": [StrOptions(set(DATA_FORMATS))],
        "normalize": ["boolean"],
        "precision": [StrOptions(set(PRECISIONS))],
        "channels_last": ["boolean"],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1})],
        "train_split": [callable, None],
        "checkpoint_dir": [str, os.PathLike, None],
        "resume": ["boolean"],
        "device": [str, torch.device, None],
        "accelerator": "no_validation",  # check_accelerator
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        backbone="simple_cnn",
        *,
        backbone_weights=None,
        freeze=None,
        unfreeze_epoch=None,
        backbone_lr=None,
        class_weight=None,
        beta=0.999,
        loss="ce",
        focal_gamma=2.0,
        focal_alpha=None,
        ldam_max_margin=0.5,
        ldam_scale=30.0,
        logit_adjust_tau=1.0,
        ohem_ratio=None,
        drw_epoch=None,
        drs_epoch=None,
        predict_logit_adjust=None,
        tau_normalize=None,
        logit_scale=False,
        difficulty_head=None,
        head_resampler=None,
        head_epochs=30,
        minority_augment=None,
        minority_classes="auto",
        sampler=None,
        train_transform=None,
        image_size=None,
        color_mode="auto",
        image_shape=None,
        data_format="auto",
        normalize=True,
        precision="32",
        channels_last=False,
        optimizer=torch.optim.AdamW,
        lr=1e-3,
        max_epochs=30,
        batch_size=64,
        train_split=None,
        checkpoint_dir=None,
        resume=False,
        callbacks=None,
        device="auto",
        accelerator=None,
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        # Set before skorch's __init__: afterwards skorch refuses plain attributes
        # holding torch modules, and a backbone instance is a hyperparameter here.
        self.backbone = backbone
        self.backbone_weights = backbone_weights
        self.freeze = freeze
        self.unfreeze_epoch = unfreeze_epoch
        self.backbone_lr = backbone_lr
        self.class_weight = class_weight
        self.beta = beta
        self.loss = loss
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        self.ldam_max_margin = ldam_max_margin
        self.ldam_scale = ldam_scale
        self.logit_adjust_tau = logit_adjust_tau
        self.ohem_ratio = ohem_ratio
        self.drw_epoch = drw_epoch
        self.drs_epoch = drs_epoch
        self.predict_logit_adjust = predict_logit_adjust
        self.tau_normalize = tau_normalize
        self.logit_scale = logit_scale
        self.difficulty_head = difficulty_head
        self.head_resampler = head_resampler
        self.head_epochs = head_epochs
        self.minority_augment = minority_augment
        self.minority_classes = minority_classes
        self.sampler = sampler
        self.train_transform = train_transform
        self.image_size = image_size
        self.color_mode = color_mode
        self.image_shape = image_shape
        self.data_format = data_format
        self.normalize = normalize
        self.precision = precision
        self.channels_last = channels_last
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume
        self.accelerator = accelerator
        self.random_state = random_state
        super().__init__(
            None,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            callbacks=callbacks,
            device=device,
            verbose=verbose,
            **kwargs,
        )
        # ``backbone`` and ``loss`` replace skorch's module/criterion, ``classes_``
        # comes from y: drop the parent's parameters so they are not dead settings.
        for name in _INHERITED_UNUSED:
            vars(self).pop(name, None)

    # -- parameters -----------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = False
        return tags

    def _validate_hyperparameters(self):
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )
        check_device(self.__dict__["device"])
        if self.accelerator is not None:
            self._check_distributed()
        check_precision(self.precision, self.device)
        if self.unfreeze_epoch is not None and self.freeze is None:
            raise ValueError(
                f"unfreeze_epoch={self.unfreeze_epoch} unfreezes what freeze froze, but "
                "freeze=None; set freeze='backbone' (or a number of stages) or drop unfreeze_epoch."
            )
        if self.resume:
            check_resumable(self.checkpoint_dir, self.train_split)

    def _check_distributed(self) -> None:
        check_accelerator(self.accelerator)
        if self.__dict__["device"] != "auto":
            raise ValueError(
                f"device={self.__dict__['device']!r} and an accelerator were both given; the "
                "accelerator places each process on its device, so leave device='auto'."
            )
        if self._world_size > 1 and self.checkpoint_dir is not None:
            raise ValueError(
                "checkpoint_dir is not supported yet in a fit over several processes (each "
                "process would write the same files); drop checkpoint_dir, or save the model "
                "from the main process after fit (accelerator.is_main_process)."
            )

    @property
    def _default_callbacks(self):
        """skorch's defaults plus imbalance-aware validation monitors and a progress bar."""
        callbacks = list(super()._default_callbacks)
        callbacks += fine_tuning_callbacks(self.freeze, self.unfreeze_epoch)
        if self.train_split is not None:
            starts = [e for e in (self.drw_epoch, self.drs_epoch) if e is not None]
            callbacks += validation_monitors(
                start_epoch=max(starts, default=0), checkpoint_dir=self.checkpoint_dir
            )
        if self.verbose and self._is_main_process:
            callbacks += progress_monitors()
        return callbacks  # skorch runs PrintLog last

    # -- data -----------------------------------------------------------------------
    def _fit_dataset(self, X, y, sample_weight, *, reset: bool, classes=None) -> ImageDataset:
        source = self._image_source(X, reset=reset)
        y = self._targets(source, y)
        if reset:
            self.classes_ = fit_classes(y, classes)
        codes = encode_labels(y, self.classes_)
        sample_weight = check_class_sample_weight(sample_weight, codes)
        if reset:
            self.class_counts_ = np.bincount(codes, minlength=len(self.classes_))
            self.class_weight_ = compute_imbalance_weights(
                self.class_weight, classes=self.classes_, y=y, beta=self.beta
            )
            if self.minority_augment is not None:
                codes_to_augment = minority_codes(
                    self.class_counts_, self.classes_, self.minority_classes
                )
                self.minority_classes_ = self.classes_[codes_to_augment]
            else:
                vars(self).pop("minority_classes_", None)  # from an earlier fit
            self._fit_normalization(source)
        return ImageDataset(source, codes, sample_weight)

    def _pretrained_statistics(self) -> tuple | None:
        return weights_statistics(self.backbone, self.backbone_weights)

    def _prediction_input(self, X):
        self.check_is_fitted()
        if is_prepared(X):  # skorch's scoring callbacks pass our own prepared datasets
            return X
        return self._prediction_dataset(X)

    # -- training -------------------------------------------------------------------
    def _train(self, dataset: ImageDataset, fit_params: dict, *, resume: bool = False):
        # NeuralNet.partial_fit runs skorch's loop without re-entering our overrides.
        if self.head_resampler is not None and dataset.sample_weight is not None:
            raise ValueError(
                "head_resampler re-trains the classifier on re-balanced features, which carry "
                "no sample weights; drop sample_weight or head_resampler."
            )
        # one seed for the sampler's per-epoch draws, drawn before a saved state is loaded
        self.sampler_seed_ = self._shared_seed(int(torch.randint(MAX_SEED, (1,)).item()))
        epochs = self._resume_epochs() if resume else None
        NeuralNet.partial_fit(self, dataset, dataset.codes, epochs=epochs, **fit_params)
        if self.head_resampler is not None:
            self._retrain_classifier(dataset)
        else:
            vars(self).pop("head_history_", None)  # from an earlier fit

    def _retrain_classifier(self, dataset: ImageDataset) -> None:
        """Decoupled stage two (cRT): the classifier alone, on re-balanced features."""
        batch_size = len(dataset) if self.batch_size == -1 else self.batch_size
        features = embed(
            self.module_.trunk,
            self._evaluation_loader(dataset, shard=False),  # every process embeds all
            prepare=partial(self._network_input, device=self.device),
            autocast=self._autocast,
        )
        classifier = self.module_.classifier
        self.head_history_ = retrain_classifier(
            classifier,
            features,
            dataset.y,
            resampler=self.head_resampler,
            epochs=self.head_epochs,
            batch_size=batch_size,
            lr=self.lr,
            logit_scale=self.ldam_scale if isinstance(classifier, NormedLinear) else 1.0,
        )

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Build the network for the data and train it for ``max_epochs`` epochs.

        Parameters
        ----------
        X : array, sequence of file paths, or torch Dataset
            Images: an array of shape ``(N, H, W)``, ``(N, H, W, C)``,
            ``(N, C, H, W)`` or ``(N, H*W)``, kept as given (``uint8`` pixels
            are scaled to [0, 1] per batch); a 1-D array, list or pandas
            Series of image file paths (see
            :func:`imbtorch.datasets.load_image_folder`), decoded lazily with
            Pillow in the loader's workers; or a map-style torch Dataset of
            ``(image, target)`` pairs (``ImageFolder``, your own) or skorch's
            ``SliceDataset``, whose images may be PIL images, tensors or
            arrays.
        y : array-like of shape (N,), or None
            Labels of any type. ``None`` for a Dataset reads its ``targets``
            (or ``y``) attribute, else the targets of its items.
        sample_weight : array-like of shape (N,), default=None
            Non-negative weight of each sample in the loss.
        **fit_params
            Passed on to skorch (``forward`` and ``train_split``).

        Returns
        -------
        self
        """
        if self.warm_start and self.initialized_:
            return self.partial_fit(X, y, sample_weight=sample_weight, **fit_params)
        self._validate_hyperparameters()
        dataset = self._fit_dataset(X, y, sample_weight, reset=True)
        with seeded_torch(self.random_state, self.device):
            self.initialize()
            self._train(dataset, fit_params, resume=self.resume)
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None, **fit_params):
        """Train ``max_epochs`` more epochs, building the network on the first call.

        Parameters
        ----------
        X, y, sample_weight
            As in :meth:`fit`.
        classes : array-like, default=None
            All labels that will ever appear, needed on the first call when
            ``y`` does not hold them all.

        Returns
        -------
        self
        """
        first_call = not self.initialized_
        self._validate_hyperparameters()
        dataset = self._fit_dataset(X, y, sample_weight, reset=first_call, classes=classes)
        epochs_done = 0 if first_call else len(self.history_)
        with seeded_torch(self.random_state, self.device, offset=epochs_done):
            if first_call:
                self.initialize()
            self._train(dataset, fit_params)
        return self

    def check_data(self, X, y):
        """No-op: ``fit`` validated the data and skorch gets a prepared dataset."""

    def initialize_module(self):
        """Build ``module_`` from ``backbone`` for the fitted image shape and classes."""
        if "classes_" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__} builds its network from the training data; call "
                "fit(X, y) rather than initialize()."
            )
        n_classes = len(self.classes_)
        kwargs = self.get_params_for("module")
        if self.loss == "ldam" and isinstance(self.backbone, str) and self.backbone == "simple_cnn":
            kwargs.setdefault("cosine_classifier", True)
        in_channels = len(self.channel_mean_)  # grey images for RGB weights are repeated
        module = build_backbone(
            self.backbone,
            in_channels=in_channels,
            num_classes=n_classes,
            weights=self.backbone_weights,
            **kwargs,
        )
        check_backbone_output(module, (in_channels, *self.image_shape_[1:]), n_classes)
        if self.logit_scale or self.difficulty_head is not None or self.head_resampler is not None:
            module = ImbalanceNetwork(
                module,
                n_classes,
                logit_scale=self.logit_scale,
                difficulty_head=self.difficulty_head is not None,
            )
        if isinstance(self.freeze, Integral):
            frozen_parameter_names(module, n_classes, self.freeze)  # enough stages?
        self.module_ = (
            module.to(memory_format=torch.channels_last) if self.channels_last else module
        )
        if self.tau_normalize is not None:
            check_tau_normalizable(self._classifier())
        return self

    def _classifier(self) -> torch.nn.Module:
        """The layer of ``module_`` that maps features to class logits."""
        if isinstance(self.module_, ImbalanceNetwork):
            return self.module_.classifier
        return find_classifier(self.module_, len(self.classes_))[1]

    def initialize_criterion(self):
        """Build ``criterion_`` from ``loss``, the class weights and ``criterion__*``."""
        self.criterion_ = self._build_criterion(epoch=0)
        return self

    def _build_criterion(self, epoch: int) -> torch.nn.Module:
        """The loss module in force at ``epoch`` (class weights wait for ``drw_epoch``)."""
        deferred = self.drw_epoch is not None and epoch < self.drw_epoch
        return make_criterion(
            self.loss,
            class_counts=self.class_counts_,
            weight=np.ones_like(self.class_weight_) if deferred else self.class_weight_,
            focal_gamma=self.focal_gamma,
            focal_alpha=focal_alpha_factors(self.focal_alpha, self.classes_),
            ldam_max_margin=self.ldam_max_margin,
            ldam_scale=self.ldam_scale,
            logit_adjust_tau=self.logit_adjust_tau,
            ohem_ratio=self.ohem_ratio,
            **self.get_params_for("criterion"),
        )

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        epoch = len(self.history) - 1
        if self.drw_epoch is not None and epoch == self.drw_epoch > 0:
            # deferred re-weighting: from here on the loss carries the class weights
            self.criterion_ = self._build_criterion(epoch).to(self.criterion_.weight.device)

    def train_step_single(self, batch, **fit_params):
        """skorch's step, on images standardised on the device (and minority-augmented)."""
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        images = self._network_input(batch_images(Xi), self.device)
        if self.minority_augment is not None:
            images = self._augment_minority(images, yi)
        with self._autocast():
            y_pred = self._forward_network(images, **fit_params)
        y_pred = as_float32(y_pred)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        self._backward(loss)
        return {"loss": loss, "y_pred": y_pred}

    def _augment_minority(self, images: torch.Tensor, codes) -> torch.Tensor:
        augment_codes = torch.as_tensor(np.searchsorted(self.classes_, self.minority_classes_))
        return augment_minority(
            images, to_tensor(codes, device=self.device), augment_codes, self.minority_augment
        )

    def infer(self, x, **fit_params):
        """The network's output for a batch as the loader gives it (raw images, or a dict)."""
        images = self._network_input(batch_images(x), self.device)
        with self._autocast():
            return as_float32(self._forward_network(images, **fit_params))

    def _forward_network(self, images: torch.Tensor, **fit_params):
        if self.tau_normalize is None or self.module_.training:
            return self._training_network()(images, **fit_params)
        # evaluation (validation and prediction) sees the tau-normalised classifier
        with tau_normalized(self._classifier(), self.tau_normalize):
            return self.module_(images, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        sample_weight = X.get(SAMPLE_WEIGHT_KEY) if isinstance(X, Mapping) else None
        if sample_weight is not None:
            sample_weight = to_tensor(sample_weight, device=self.device)
        y_true = to_tensor(y_true, device=self.device)
        if not isinstance(y_pred, tuple):
            return self.criterion_(y_pred, y_true, sample_weight=sample_weight)
        logits, difficulty = y_pred
        loss = self.criterion_(logits, y_true, sample_weight=sample_weight)
        if training:  # the auxiliary head learns; valid_loss stays the classification loss
            loss = loss + self.difficulty_head * difficulty_loss(difficulty, logits, y_true)
        return loss

    def _get_predict_nonlinearity(self):
        if not (isinstance(self.predict_nonlinearity, str) and self.predict_nonlinearity == "auto"):
            return super()._get_predict_nonlinearity()
        if self.predict_logit_adjust is None:
            return partial(torch.softmax, dim=-1)
        shift = self.predict_logit_adjust * log_prior(self.class_counts_)

        def adjusted_softmax(logits):
            return torch.softmax(logits - shift.to(logits.device, logits.dtype), dim=-1)

        return adjusted_softmax

    # -- prediction -----------------------------------------------------------------
    def predict_proba(self, X):
        """Class probabilities, columns in ``classes_`` order.

        Parameters
        ----------
        X : images, as in :meth:`fit`

        Returns
        -------
        proba : ndarray of shape (N, n_classes)
        """
        proba = super().predict_proba(self._prediction_input(X)).astype(np.float64)
        # a float32 softmax sums to 1 only to ~1e-7, which sklearn's log_loss warns about
        return proba / proba.sum(axis=1, keepdims=True)

    def predict_difficulty(self, X) -> np.ndarray:
        """Difficulty of each sample as the auxiliary head predicts it (``difficulty_head``).

        Parameters
        ----------
        X : images, as in :meth:`fit`

        Returns
        -------
        difficulty : ndarray of shape (N,)
            Predicted cross-entropy of each sample; higher is harder.
        """
        X = self._prediction_input(X)
        if self.difficulty_head is None or not isinstance(self.module_, ImbalanceNetwork):
            raise AttributeError(
                "predict_difficulty needs the auxiliary difficulty head; fit with "
                "difficulty_head=1.0 (the weight of its loss)."
            )
        _, difficulty = self.forward(X, training=False)
        return difficulty.numpy().astype(np.float64)

    def predict(self, X):
        """Predicted labels (elements of ``classes_``).

        Parameters
        ----------
        X : images, as in :meth:`fit`
            imbtorch's own prepared dataset (what skorch's scoring callbacks
            pass inside the training loop) gets class codes instead of
            labels, to match the codes such datasets hold as targets.

        Returns
        -------
        y_pred : ndarray of shape (N,)
        """
        codes = np.argmax(self.predict_proba(X), axis=1)
        return codes if is_prepared(X) else self.classes_[codes]
