"""BalancedImageClassifier: a skorch CNN classifier with imbalance strategies as parameters.

The estimator is the conductor of a fit: it reads its parameters, holds the
pieces that own the training state, and asks them. The data path turns ``X``
into a dataset (:mod:`imbtorch.data`, through :class:`ImageInputMixin`); the
fit's plan says what it trains and decides (:mod:`imbtorch.strategies`); the
network is built from ``backbone`` (:mod:`imbtorch.networks`), the loss from
``loss`` and the class weights (:mod:`imbtorch.losses`). Training runs in
:class:`~imbtorch.training.loop.TrainingRun`:
:class:`~imbtorch.training.schedule.TrainingSchedule` owns the seed of the
draws and the fit's span, the loaders follow from it
(:mod:`imbtorch.training.loaders`), callbacks own the schedules of the loss,
freezing, the weight average and the monitors,
:class:`~imbtorch.training.precision.Precision` autocast and the gradient
scaler, :class:`~imbtorch.training.distributed.Processes` the processes of an
``accelerator``, and :class:`~imbtorch.training.resume.TrainingCheckpoint`
saves and restores it all. skorch's hooks (``train_step``, ``infer``,
``get_loss``, ``get_iterator``, ...) are this class's methods, each handing
the work to its owner (:mod:`imbtorch.training.steps`, ...).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
from skorch import NeuralNetClassifier

from .data.dataset import ImageDataset, is_prepared
from .data.inputs import ImageInputMixin
from .data.splits import split_for_validation
from .data.unlabeled import SubsetSource, TwoViews, check_labeled_part, split_unlabeled
from .device import seeded_torch
from .labels import check_class_sample_weight, encode_labels, fit_classes
from .losses.factory import loss_class_weight, make_criterion
from .net_params import NetParamsMixin
from .networks.backbones import weights_statistics
from .networks.build import build_network
from .networks.heads import ImbalanceNetwork, classifier_layer, embed
from .networks.pretrained import fitted_trunk
from .parameters import CONSTRAINTS, check_label_settings, check_prior_source, check_settings
from .prediction import predict, predict_proba
from .strategies import TrainingFacts, plan_training
from .strategies.constants import (
    HEAD_EPOCHS,
    PSEUDO_LABEL_PRIOR,
    PSEUDO_LABEL_REBALANCE,
    UNLABELED_RATIO,
)
from .strategies.plan import Plan
from .strategies.unlabeled import plan_unlabeled
from .training import steps
from .training.augment import minority_codes
from .training.compiled import CompiledForwards
from .training.distributed import Processes, silent
from .training.loaders import net_loader, whole_set_loader
from .training.loop import TrainingRun, default_callbacks
from .training.optimizers import build_optimizer, learning_rate
from .training.precision import Precision
from .training.self_training import (
    PseudoLabels,
    pseudo_labeled_rows,
    split_true_labels,
    teach,
)

_INHERITED_UNUSED = ("module", "criterion", "classes")


def _plan(net) -> Plan:
    plan = net.__dict__.get("plan_")
    if plan is None:
        raise AttributeError(f"{type(net).__name__} is not fitted yet; call fit(X, y) first.")
    return plan


def _trained(name: str) -> property:
    """``<name>_``: what the fit's plan trained for the parameter ``name``."""
    return property(lambda net: _plan(net).trained(name), doc=f"``plan_``'s ``{name}``.")


def _joint_train_score(net) -> float:
    score = _plan(net).joint_train_score
    if score is None:
        raise AttributeError(
            "joint_train_score_ is set where strategy='auto' decided its classifier stage; "
            "this fit did not (see plan_)."
        )
    return score


class BalancedImageClassifier(NetParamsMixin, ImageInputMixin, NeuralNetClassifier):
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
        The network. ``'simple_cnn'`` is :class:`~imbtorch.networks.backbones.SimpleCNN`;
        ``'resnet32'`` the CIFAR ResNet-32 of the long-tail papers
        (:class:`~imbtorch.networks.backbones.CifarResNet`, ``module__depth`` for
        ResNet-20/44/56/110); a torchvision model name (e.g. ``'resnet18'``,
        needs torchvision) builds that model untrained; a module class gets
        ``num_classes`` and ``in_channels`` from the data when its signature
        takes them; an instance is copied at every fit. ``module__*``
        parameters go to its constructor. ``'timm/<name>'`` builds a timm model (needs timm).
    backbone_weights : None, str, path or ImageEmbedder, default=None
        Pretrained weights: ``None`` (random initialisation); for torchvision
        backbones ``'DEFAULT'`` or a weights name such as ``'IMAGENET1K_V1'``
        (from torch's cache or downloaded); for timm backbones ``'DEFAULT'``,
        the weights of the tag named in the backbone (``'timm/<name>.<tag>'``,
        from the Hugging Face cache or downloaded); or, for any backbone, the
        path of a state_dict file or a checkpoint holding one; or a fitted
        :class:`~imbtorch.ImageEmbedder` (e.g. trained ``self_supervised`` on
        unlabelled images), whose input statistics come along. The head is
        rebuilt with one output per class; keys that do not fit are listed in
        the error (see :mod:`imbtorch.networks.pretrained`).
    freeze : None, 'backbone' or int, default=None
        Freeze the whole backbone (train the head only) or its first ``k``
        stages (see :mod:`imbtorch.training.finetune`), with skorch's ``Freezer``.
        Frozen BatchNorm layers keep their running statistics.
    unfreeze_epoch : int or None, default=None
        Fine-tune everything from this epoch on (0-based: after that many
        epochs), as fastai's ``fine_tune``; needs ``freeze``.
    backbone_lr : float or None, default=None
        Learning rate of the backbone's parameters (its own optimizer
        parameter group); the head keeps ``lr``.
    strategy : 'auto' or None, default='auto'
        ``'auto'``: with no re-balancing parameter set, one policy plans the
        fit from the class counts and records it in ``plan_``: the
        logit-adjusted loss (Menon et al. 2021) on mixup batches for two
        thirds of the epochs, its weights averaged, then, where the network
        still errs on its training images, ``extra_epochs`` more and a
        classifier stage on square-root-sampled features. Setting
        ``class_weight``, ``sampler``, ``drw_epoch``, ``drs_epoch``,
        ``predict_logit_adjust``, ``tau_normalize``, ``remix``,
        ``criterion__weight`` or a ``loss`` other than ``'ce'`` trains those
        as set; other options combine with it. ``None`` trains the
        parameters exactly as set (alone: plain cross-entropy). See the user
        guide's page "The default and its plan".
    class_weight : None, 'balanced', 'effective' or dict, default=None
        Weight of each class in the loss. ``'balanced'`` uses
        :func:`sklearn.utils.class_weight.compute_class_weight`; ``'effective'``
        the effective number of samples (Cui et al. 2019) with ``beta``; a dict
        maps the labels of ``y`` (strings too) to weights, others weigh 1.
        For a multi-label ``y``, the weight of each label's positive term
        (``pos_weight``): ``'balanced'`` is ``n_neg / n_pos``, ``'effective'``
        the ratio of their effective numbers, a dict maps label columns.
    beta : float in [0, 1), default=0.999
        Effective-number hyperparameter, used by ``class_weight='effective'``.
    loss : str, default='ce'
        Training loss (see :mod:`imbtorch.losses`): ``'ce'``, ``'focal'``,
        ``'ldam'``, ``'logit_adjusted'``, ``'balanced_softmax'``, ``'vs'``
        (the vector-scaling loss of Kini et al. 2021); ``strategy='auto'``
        turns the default ``'ce'`` into ``'logit_adjusted'``. All combine
        with ``class_weight``, ``sample_weight`` and ``ohem_ratio``.
        ``'ldam'`` gives the built-in backbones their cosine classifier, as
        in the paper. For a multi-label ``y`` (see :mod:`imbtorch.losses.multilabel`):
        ``'ce'`` (binary cross-entropy per label), ``'focal'`` (sigmoid),
        ``'logit_adjusted'`` (by each label's log-odds), ``'asl'`` (asymmetric
        loss; ``criterion__gamma_neg=4``, ``criterion__gamma_pos=0``,
        ``criterion__clip=0.05``) and ``'distribution_balanced'``
        (``criterion__neg_scale=2``, ``criterion__init_bias=0.05``, ...).
    focal_gamma : float >= 0, default=2.0
        Focusing parameter of the focal loss (``0`` gives cross-entropy).
    focal_alpha : None, float, array-like or dict, default=None
        Class balancing factor of the focal loss: a float ``a`` (two classes:
        ``a`` for ``classes_[1]``, ``1 - a`` for ``classes_[0]``), one factor per
        class in ``classes_`` order, or ``{label: factor}``. Multi-label: the
        positive term's factor (``1 - a`` the negative's), for every label or
        per label.
    ldam_max_margin : float >= 0, default=0.5
        LDAM margin of the rarest class.
    ldam_scale : float > 0, default=30.0
        LDAM logit scale (30 suits cosine logits).
    logit_adjust_tau : float, default=1.0
        Scale of the prior shift of ``loss='logit_adjusted'`` and ``'vs'``.
    vs_gamma : float >= 0, default=0.2
        Power of the multiplicative logit scale ``(n_c / n_max) ** gamma`` of
        ``loss='vs'`` (``0`` gives the logit-adjusted loss).
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
        May be changed after ``fit``: it replaces the fit's shift
        (``predict_logit_adjust_``) in ``predict``; probabilities under a
        ``proba_prior`` stay the same.
    proba_prior : {'train', 'balanced'}, array-like or dict, default=None
        The class prior ``predict_proba`` reports probabilities under:
        ``'train'`` (the training frequencies), ``'balanced'``, or your
        deployment's frequencies (one per class in ``classes_`` order, or
        ``{label: frequency}``). ``None``: the scores ``predict`` decides by.
        ``predict`` never changes with it, and it may be changed after
        ``fit``. The correction is exact for most strategies; the others, and
        a temperature, are fitted on ``train_split``'s validation part. See
        :doc:`/user_guide/probabilities`.
    tau_normalize : float >= 0, default=None
        Post-hoc tau-normalisation (Kang et al. 2020): predict (and validate)
        with each class's classifier weights divided by their norm to the
        power ``tau``, which evens out the larger norms head classes acquire.
        Needs a final ``nn.Linear`` with one output per class.
    max_norm : float > 0, default=None
        MaxNorm constraint on the classifier (Alshammari et al. 2022, "Long-
        tailed recognition via weight balancing"): after every optimizer step,
        each class's weight vector in the final ``nn.Linear`` is projected
        back to an L2 norm of at most ``max_norm``, so that head classes
        cannot grow larger weights than the tail (see
        :class:`~imbtorch.training.constraints.MaxNorm`). Combine it with
        ``weight_decay``. It also caps the classifier re-trained by
        ``head_resampler``: with ``head_resampler='class_balanced'`` and a
        raised ``weight_decay`` that is the two-stage Weight Balancing
        recipe (strategy ``'weight_balancing'``).
    logit_scale : bool, default=False
        Multiply the logits by a learnable per-class scale (Kang et al. 2020's
        learnable weight scaling), trained with the network.
    difficulty_head : float > 0, default=None
        Add an auxiliary head that predicts, from the classifier's input
        features, each sample's cross-entropy (Yoo & Kweon 2019); the value is
        the weight of its smooth-L1 loss in the training loss. Read it with
        :meth:`predict_difficulty` to find the hard, often tail or mislabelled,
        samples.
    head_resampler : 'class_balanced', 'sqrt' or imblearn sampler, default=None
        Decoupled training (Kang et al. 2020, cRT): after the ``max_epochs``
        of training, keep the trunk, re-initialise the final classifier layer
        and train it alone for ``head_epochs`` on the training set's features
        (less the ``train_split`` validation part, which stays held out),
        drawn class-balanced, by square-root sampling (class ``c`` in
        proportion to ``sqrt(n_c)``; ``predict_logit_adjust=0.5`` then decides
        as on balanced classes, which ``strategy='auto'`` does by itself), or
        resampled by an imbalanced-learn
        sampler (SMOTE, ADASYN, ... are meaningful on features; ``k`` is
        capped to the smallest class with a warning, see
        :mod:`imbtorch.samplers.resampling`). Stage one can use any strategy.
    head_epochs : int, default=30
        Epochs of the classifier re-training (AdamW, ``lr``, ``batch_size``).
    head_smoothing : None or (float, float), default=None
        Label-aware smoothing of the classifier re-training (MiSLAS, Zhong
        et al. 2021): ``(head, tail)``, the label smoothing of the most and
        the least frequent class, the others on a concave curve between
        (see :func:`~imbtorch.training.decoupled.label_aware_smoothing`);
        the paper uses ``(0.3, 0.0)`` on CIFAR-10-LT. Needs ``head_resampler``.
    minority_augment : float in (0, 1) or callable, default=None
        Minority-targeted augmentation: transform the training images of the
        ``minority_classes`` only, afresh in every batch. A float is the
        largest shift of :func:`~imbtorch.training.augment.random_shift` as a fraction
        of the image size (``0.125``: CIFAR's pad-4-and-crop); a callable
        (e.g. a ``torchvision.transforms.v2`` transform) is applied to each
        tail image as a ``(C, H, W)`` tensor, after standardisation (and
        after ``train_transform``), on the training device. It helps
        alongside re-balancing (``class_weight``, ``sampler``), which shows
        the tail often; on its own it makes the tail harder to fit.
    minority_classes : 'auto' or array-like of labels, default='auto'
        The classes ``minority_augment`` transforms; ``'auto'`` takes those
        with fewer training samples than the median class.
    mixup : None, 'mixup', 'cutmix' or 'unimix', default=None
        Mix every training batch (of the first ``mixup_epochs``, if set)
        with a permutation of itself (Zhang et al.
        2018, mixup: a weighted average of two images; Yun et al. 2019,
        CutMix: a box of one pasted into the other), with a share ``lam ~
        Beta(mixup_alpha, mixup_alpha)``; the loss counts each image as both
        labels in those shares, with their class and sample weights.
        ``'unimix'`` (Xu et al. 2021, one label per image) averages each
        image with a partner drawn more often from the rarer classes (in
        proportion to ``n ** -0.5``), in a share of its own of
        ``(n_partner / (n_own + n_partner) + s) mod 1``, ``s ~
        Beta(mixup_alpha, mixup_alpha)``. Works with every loss and
        sampler (see :mod:`imbtorch.training.mixing`).
    mixup_alpha : float > 0 or None, default=None
        Parameter of the Beta distribution of the mixing share; ``None``
        takes the papers' 1.0 for ``'mixup'`` and ``'cutmix'``, 0.8 for
        ``'unimix'`` (at 1.0 its shares would not depend on the classes).
    mixup_epochs : int >= 0 or None, default=None
        How many epochs, from the first, mix their batches; the later ones
        train on the images as they are (0: none mixes). ``None``: every
        epoch with a ``mixup`` you set; the first two thirds where
        ``strategy='auto'`` mixes (``mixup_epochs_``).
    remix : bool, default=False
        Remix (Chou et al. 2020): the images mix as ``mixup`` says, but a
        mixed image whose partner is at least 3 times rarer counts as the
        partner's label alone when the partner's share is over 0.5. Needs
        ``mixup``.
    sampler : None, str or imblearn sampler, default=None
        How training batches are drawn, re-drawn every epoch: ``None`` (shuffle),
        ``'weighted'`` (inverse class frequency, with replacement), ``'sqrt'``
        (square-root frequency), ``'over'`` / ``'under'`` (random over- /
        under-sampling), ``'class_balanced'`` (each batch holds the classes
        equally), or an imbalanced-learn sampler that selects samples (e.g.
        ``RandomUnderSampler(sampling_strategy=...)``) applied to the indices.
        ``'progressive'`` moves from instance- to class-balanced sampling over
        the epochs of the fit (Kang et al. 2020): over ``max_epochs`` for
        ``fit`` (resumed or not), over the epochs already done plus
        ``max_epochs`` for ``partial_fit``; the last epoch is class-balanced.
        For a multi-label ``y``: ``'weighted'`` and ``'sqrt'`` weigh each
        image by its rarest label; ``'class_balanced'`` is label-aware
        sampling (a label, then an image that carries it); images without
        labels are a group of their own.
    train_transform : callable, default=None
        Augmentation of every training image, e.g. a
        ``torchvision.transforms.v2`` pipeline: called on each image as a
        float ``(C, H, W)`` tensor (``uint8`` pixels and files scaled to
        ``[0, 1]``), before standardisation, in the loader's worker processes
        for files and Datasets. It must keep the shape. Prediction and the
        validation split never see it. In a ``GridSearchCV`` grid, put a
        transform that has a static ``get_params`` (``RandomAffine``,
        ``RandomResizedCrop``, ...) inside ``v2.Compose``: the search clones
        the grid's values, and scikit-learn's ``clone`` would take it for an
        estimator. The same holds for ``minority_augment``.
    augment : None, 'shift', 'flip', 'trivial' or 'randaugment', default=None
        A named augmentation of every training image, from torchvision's
        transforms v2 in the loader's workers (needs torchvision; see
        :mod:`imbtorch.data.augmentation`): ``'shift'`` random translations
        of up to an eighth of the image, safe for almost any image, digits
        and text included; ``'flip'`` adds horizontal flips (where a mirror
        keeps the meaning); ``'trivial'`` and ``'randaugment'`` add
        TrivialAugment or RandAugment. ``plan_`` names it. Not together
        with ``train_transform``.
    unlabeled : {'auto', 'self_training', 'fixmatch', 'ignore'} or None, default='auto'
        What to do with images ``y`` marks unlabelled (``-1``, as for
        scikit-learn's semi-supervised estimators; see
        :mod:`imbtorch.data.unlabeled` for other label types). ``None``:
        ``-1`` is a label like any other (labels -1 and 1).
        ``'self_training'`` first fits a teacher on the labelled images,
        then trains on them and the unlabelled images it labels
        confidently, at most twice as many as the labelled images, the
        frequent classes' given up first (see
        :mod:`imbtorch.training.self_training`; at most about 4 times the
        cost of a labelled-only fit); ``'fixmatch'`` trains on them by
        FixMatch (see :mod:`imbtorch.training.semi_supervised`); ``'ignore'`` leaves them
        out; ``'auto'`` is ``'self_training'``, and leaves them out with a
        warning where it cannot train on them (a multi-label ``y``,
        ``partial_fit``). ``plan_`` says what was done. See the guide's
        page on unlabelled images.
    pseudo_label_threshold : float in (0, 1], default=None
        Least confidence of a pseudo-label; ``None``: 0.5 for self-training,
        0.95 for FixMatch.
    pseudo_label_rebalance : float >= 0 or None, default=None
        Self-training's rebalancing exponent: of the unlabelled images the
        teacher gives class ``c`` confidently, the most confident share
        ``(n_rarest / n_c) ** pseudo_label_rebalance`` is kept (CReST's
        ``alpha``, ranks by labelled count); 0 keeps them all. ``None``:
        the smallest exponent that keeps at most twice as many images as
        the labelled ones (0 where they all fit), which bounds the fit's
        cost whatever the number of unlabelled images.
    unlabeled_ratio : int, default=2
        Unlabelled images per labelled image in a FixMatch step.
    pseudo_label_prior : {'estimate', 'labeled', 'uniform'}, array-like or None, default='estimate'
        The class prior of the unlabelled images that FixMatch's
        pseudo-labels follow: estimated along training, the labelled
        images' frequencies, equal classes, one share per class in
        ``classes_`` order, or ``None`` for the network's own (no
        correction).
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
        precision). skorch's ``compile=True`` (with ``compile__*`` options for
        ``torch.compile``) works with both: the forward passes run compiled,
        while ``module_`` stays the plain network.
    optimizer : 'adamw', 'sgd' or torch optimizer class, default='adamw'
        ``'adamw'`` is :class:`torch.optim.AdamW`; ``'sgd'`` is
        :class:`torch.optim.SGD` with ``momentum=0.9`` (it usually wants
        ``lr_schedule='cosine'`` too). A class is
        built as skorch builds it. ``optimizer__*`` parameters (e.g.
        ``optimizer__momentum=0.8``) go to its constructor.
    lr : float > 0 or None, default=None
        ``None``: 4e-3 for AdamW and 0.05 for SGD on a network trained from
        scratch, 1e-3 for both when fine-tuning ``backbone_weights``; any
        other optimizer class keeps its own default. AdamW at 1e-3
        under-trained the default network in 30 epochs on small long-tailed
        sets (see :mod:`imbtorch.training.optimizers`). Set it when your
        network came pretrained without ``backbone_weights``.
        :meth:`learning_rate` returns the rate a fit took.
    weight_decay : float >= 0 or None, default=None
        AdamW's decay is *decoupled*: each step shrinks every weight by
        ``lr * weight_decay`` of itself. SGD's is *coupled* L2: it adds
        ``weight_decay * w`` to the gradient, which momentum accumulates.
        ``None`` takes each one's usual value: 0.01 for AdamW (torch's
        default), 5e-4 for SGD, the class's own default for any other
        class. Weight decay moves long-tail results a lot; it is worth
        searching (see :mod:`imbtorch.training.optimizers`). Not together
        with ``optimizer__weight_decay``.
    sam_rho : float > 0, default=None
        Sharpness-aware minimisation (Foret et al. 2021): every step takes the
        gradient at ``w + sam_rho * g / ||g||`` and applies it at ``w``, at the
        cost of a second forward and backward pass (see
        :mod:`imbtorch.training.sam`). Foret et al. use 0.05; on long-tailed
        data Rangwani et al. 2022 go up to 0.8 together with deferred
        re-weighting. Not with ``precision='16-mixed'``.
    sam_classes : 'all' or 'minority', default='all'
        ``'minority'`` is ImbSAM (Zhou et al. 2023): only the loss of the
        ``minority_classes`` is perturbed, the other classes' gradient is
        taken at ``w`` (a third pass a step). Not with ``difficulty_head``.
    lr_schedule : None or 'cosine', default=None
        ``'cosine'`` decays the learning rate along half a cosine over
        ``max_epochs`` (after the warm-up), epoch by epoch, with skorch's
        :class:`~skorch.callbacks.LRScheduler` (history key ``event_lr``;
        see :class:`~imbtorch.training.schedule.WarmupCosine`). ``None``
        keeps ``lr``.
    warmup_epochs : int >= 0 or None, default=None
        Epochs of linear learning-rate warm-up: epoch ``e`` trains with
        ``(e + 1) / (warmup_epochs + 1)`` of ``lr``. ``None``: a tenth of
        ``max_epochs`` (3 of the default 30, none under 10) from scratch,
        none when fine-tuning ``backbone_weights`` (see
        :func:`~imbtorch.training.schedule.default_warmup`).
    precise_bn : 'auto' or bool, default='auto'
        When a fit ends, re-estimate the
        BatchNorm layers' running statistics in one pass over the training
        set with the final weights (:mod:`imbtorch.training.precise_bn`),
        before cRT's re-training. Layers frozen for fine-tuning keep
        theirs. ``'auto'`` does it unless ``train_split`` is set: then the
        returned network is exactly the one the validation monitors scored
        (and early stopping restored); ``True`` does it there too.
    ema_epochs : float >= 0 or None, default=None
        Average the weights along training (timm's model EMA), with a time
        constant of ``ema_epochs`` epochs; the network takes the average when
        its epochs end. ``None``: 3 where ``strategy='auto'`` trains its own
        schedule, none elsewhere; ``0``: none. With ``train_split`` the
        monitors score the average. See :mod:`imbtorch.training.averaging`.
    max_epochs : int, default=30
        Epochs of training; ``strategy='auto'`` adds ``extra_epochs`` where
        its network still errs on its training images (``extension_``).
    extra_epochs : int >= 0 or None, default=None
        Epochs ``strategy='auto'`` trains after ``max_epochs`` where its
        network still errs on the training images (``joint_train_score_``
        under 0.99). ``None``: two thirds of ``max_epochs`` where ``'auto'``
        trains its own schedule; ``0``: none, ``fit`` trains ``max_epochs``
        exactly. A positive number where that schedule cannot run is refused
        with the reason. See :doc:`/user_guide/default`.
    batch_size : int, default=64
    train_split : callable or None, default=None
        skorch's validation split, e.g.
        ``skorch.dataset.ValidSplit(5, stratified=True)``. ``None`` trains on
        all the data, which small tail classes need. With a split, the history
        records ``valid_bacc`` and ``valid_f1`` each epoch, and early stopping
        (``callbacks__early_stopping__patience``, or ``=None`` to drop it)
        restores the best weights, never before a deferred stage or the end
        of the mixing. See :mod:`imbtorch.training.monitors`.
    checkpoint_dir : str or path, default=None
        Folder for checkpoints. After every epoch the whole training state
        goes there (network, optimizer, history, callbacks, the schedule's
        seed, gradient scaler, random number generators; see
        :mod:`imbtorch.training.resume`), and training loaders keep no
        worker processes between epochs unless
        ``iterator_train__persistent_workers`` says so. With a validation
        split, the state of the epoch early stopping restores is kept too
        (skorch's :class:`~skorch.callbacks.Checkpoint`); the fit ends as without
        ``checkpoint_dir``, with early stopping's best weights and every epoch's
        history.
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
        :mod:`imbtorch.training.distributed` and the "Scaling out" guide.
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
        A ``criterion__*`` parameter always wins over the named loss
        parameter it meets (``criterion__gamma`` over ``focal_gamma``,
        ``criterion__scale`` over ``ldam_scale``, ...), for every loss;
        ``criterion__weight`` (one weight per class in ``classes_`` order) is
        the loss's class weights, which ``class_weight`` also sets, so the two
        cannot be given together. Loaders get ``num_workers`` (one per CPU up to 8 for files and
        Datasets, 0 for arrays), ``pin_memory`` (on CUDA) and
        ``persistent_workers`` by default; ``iterator_train__num_workers=4``
        and the like override them (see :mod:`imbtorch.data.loader`).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels of ``y``, sorted; columns of ``predict_proba``. For a
        multi-label ``y``, ``arange(n_labels)`` (the columns of ``y``), as
        :class:`~sklearn.neural_network.MLPClassifier` has it.
    multilabel_ : bool
        Whether ``y`` was a multi-label indicator matrix: ``predict_proba``
        then gives each label's sigmoid and ``predict`` the indicator matrix.
    class_counts_ : ndarray of shape (n_classes,)
        Training samples per class (that carry each label).
    n_samples_fit_ : int
        Training samples.
    class_weight_ : ndarray of shape (n_classes,)
        Loss weight of each class (ones when ``class_weight=None``); of each
        label's positive term for a multi-label ``y``.
    plan_ : Plan
        What the fit trained and decided, and why
        (:class:`~imbtorch.strategies.plan.Plan`): the loss, sampler, mixing,
        weight averaging, extension rule, classifier stage and decision
        shift, the decisions taken in training with the evidence each read.
        ``print(clf.plan_)`` in a terminal, HTML in a notebook. The
        attributes ``strategy_`` to ``extension_`` below read it.
    strategy_ : str
        ``'logit_adjusted+mixup+sqrt_head'`` when ``strategy='auto'``
        trained the logit-adjusted loss with mixup for two thirds of the
        epochs and its square-root classifier stage,
        ``'logit_adjusted+sqrt_head'`` the same without its mixing,
        ``'logit_adjusted+mixup'`` (or ``'logit_adjusted'``) when it kept
        the classifier trained with the network (``joint_train_score_``),
        ``'logit_adjusted'`` when it trained the loss alone (or with your
        ``head_resampler``), ``'distribution_balanced+label_aware'`` on a
        multi-label ``y``; ``'as_set'`` when the parameters were trained as
        set.
    loss_ : str
        The loss trained: ``loss``, or the one ``strategy='auto'`` chose.
    sampler_ : None, str or imblearn sampler
        The sampler trained with: ``sampler``, or the one ``strategy='auto'``
        chose (``'class_balanced'``, label-aware, on a multi-label ``y``).
    head_resampler_ : None, str or imblearn sampler
        How the classifier was re-trained: ``head_resampler``, or
        ``strategy='auto'``'s ``'sqrt'`` (``None`` where it kept the
        classifier trained with the network).
    mixup_, mixup_epochs_ : None or str, None or int
        How training batches were mixed, and for how many epochs from the
        first (``None``: all): ``mixup`` and ``mixup_epochs``, or
        ``strategy='auto'``'s ``'mixup'`` for the first two thirds.
    ema_epochs_ : float or None
        The time constant in epochs of the weight average the network took
        when its epochs ended: ``ema_epochs``, or ``strategy='auto'``'s 3
        (see ``ema_epochs``); ``None`` or 0 where none was kept.
    predict_logit_adjust_ : float or None
        The shift of the logits by the log prior that ``predict`` decides
        by: ``predict_logit_adjust``, or ``strategy='auto'``'s 0.5 after a
        square-root classifier stage. ``predict_logit_adjust`` set after
        ``fit`` replaces it.
    minority_classes_ : ndarray
        The classes ``minority_augment`` transforms and ImbSAM perturbs (set
        with ``minority_augment`` or ``sam_classes='minority'``).
    image_shape_ : tuple of int
        ``(C, H, W)`` of the training images as the network sees them.
    channel_mean_, channel_std_ : ndarray of shape (C,)
        Standardisation statistics (zeros and ones with ``normalize=False``).
    n_features_in_ : int
        ``X.shape[1]`` of training data given as an array, as scikit-learn
        checks it (not set for files and Datasets).
    schedule_ : TrainingSchedule
        The seed of the last fit's per-epoch draws (batches, loader workers'
        seeds, cRT) and the epoch it ends at; the same on every process of a
        distributed fit (see :mod:`imbtorch.training.schedule`).
    head_history_ : list of float
        Mean loss of each epoch of the classifier re-training (set with
        ``head_resampler_``).
    joint_train_score_ : float
        Balanced accuracy of the classifier trained with the network on the
        training images, as they are, from which ``strategy='auto'`` chose
        between keeping it (0.99 or more) and its square-root stage (set
        when ``'auto'`` added that stage; after ``extension_``'s epochs
        where it trained them).
    extension_ : Extension or None
        The epochs ``strategy='auto'`` trained after ``max_epochs`` because
        the classifier trained with the network still erred on the training
        images (its ``start``, ``epochs`` and the ``train_score`` that decided
        it, also in the history as ``joint_train_score``); ``None`` where it
        trained none (see :mod:`imbtorch.strategies.plan`).
    decision_prior_ : ndarray of shape (n_classes,) or None
        The class prior under which ``softmax`` of the scores ``predict``
        decides by is the posterior (with the fit's ``predict_logit_adjust_``;
        a shift set after ``fit`` moves it at prediction); ``None`` when
        unknown (see ``proba_prior``).
    decision_prior_source_ : {'strategy', 'held_out'} or None
        Where ``decision_prior_`` comes from: the training settings, or a
        fit on the validation split.
    proba_temperature_ : float
        The scores' temperature, which ``predict_proba`` divides them by:
        fitted on the validation split of a single-label fit with
        ``train_split``, else 1.
    precision_ : Precision
        Autocast and, with ``precision='16-mixed'``, the gradient scaler
        (``grad_scaler_``) of the fit's steps
        (:class:`~imbtorch.training.precision.Precision`).
    processes : Processes
        The processes of the fit: one, or those of ``accelerator``
        (:class:`~imbtorch.training.distributed.Processes`).
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

    _parameter_constraints: dict = CONSTRAINTS

    def __init__(
        self,
        backbone="simple_cnn",
        *,
        backbone_weights=None,
        freeze=None,
        unfreeze_epoch=None,
        backbone_lr=None,
        strategy="auto",
        class_weight=None,
        beta=0.999,
        loss="ce",
        focal_gamma=2.0,
        focal_alpha=None,
        ldam_max_margin=0.5,
        ldam_scale=30.0,
        logit_adjust_tau=1.0,
        vs_gamma=0.2,
        ohem_ratio=None,
        drw_epoch=None,
        drs_epoch=None,
        predict_logit_adjust=None,
        proba_prior=None,
        tau_normalize=None,
        max_norm=None,
        logit_scale=False,
        difficulty_head=None,
        head_resampler=None,
        head_epochs=HEAD_EPOCHS,
        head_smoothing=None,
        minority_augment=None,
        minority_classes="auto",
        mixup=None,
        mixup_alpha=None,
        mixup_epochs=None,
        remix=False,
        sampler=None,
        train_transform=None,
        augment=None,
        unlabeled="auto",
        pseudo_label_threshold=None,
        pseudo_label_rebalance=PSEUDO_LABEL_REBALANCE,
        unlabeled_ratio=UNLABELED_RATIO,
        pseudo_label_prior=PSEUDO_LABEL_PRIOR,
        image_size=None,
        color_mode="auto",
        image_shape=None,
        data_format="auto",
        normalize=True,
        precision="32",
        channels_last=False,
        optimizer="adamw",
        lr=None,
        weight_decay=None,
        sam_rho=None,
        sam_classes="all",
        lr_schedule=None,
        warmup_epochs=None,
        precise_bn="auto",
        ema_epochs=None,
        max_epochs=30,
        extra_epochs=None,
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
        self.strategy = strategy
        self.class_weight = class_weight
        self.beta = beta
        self.loss = loss
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        self.ldam_max_margin = ldam_max_margin
        self.ldam_scale = ldam_scale
        self.logit_adjust_tau = logit_adjust_tau
        self.vs_gamma = vs_gamma
        self.ohem_ratio = ohem_ratio
        self.drw_epoch = drw_epoch
        self.drs_epoch = drs_epoch
        self.predict_logit_adjust = predict_logit_adjust
        self.proba_prior = proba_prior
        self.tau_normalize = tau_normalize
        self.max_norm = max_norm
        self.lr_schedule = lr_schedule
        self.sam_rho = sam_rho
        self.sam_classes = sam_classes
        self.warmup_epochs = warmup_epochs
        self.precise_bn = precise_bn
        self.ema_epochs = ema_epochs
        self.extra_epochs = extra_epochs
        self.weight_decay = weight_decay
        self.logit_scale = logit_scale
        self.difficulty_head = difficulty_head
        self.head_resampler = head_resampler
        self.head_epochs = head_epochs
        self.head_smoothing = head_smoothing
        self.minority_augment = minority_augment
        self.minority_classes = minority_classes
        self.mixup = mixup
        self.mixup_alpha = mixup_alpha
        self.mixup_epochs = mixup_epochs
        self.remix = remix
        self.sampler = sampler
        self.train_transform = train_transform
        self.augment = augment
        self.unlabeled = unlabeled
        self.pseudo_label_threshold = pseudo_label_threshold
        self.pseudo_label_rebalance = pseudo_label_rebalance
        self.unlabeled_ratio = unlabeled_ratio
        self.pseudo_label_prior = pseudo_label_prior
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

    # -- what the plan of the fit trained and decided (read from ``plan_``) --------------
    strategy_ = property(lambda net: _plan(net).strategy_name, doc="``plan_`` in one word.")
    extension_ = property(lambda net: _plan(net).extension, doc="``plan_``'s extension.")
    joint_train_score_ = property(_joint_train_score, doc="``plan_``'s evidence.")
    loss_, sampler_, mixup_, mixup_epochs_ = map(
        _trained, ("loss", "sampler", "mixup", "mixup_epochs")
    )
    ema_epochs_, head_resampler_, predict_logit_adjust_ = map(
        _trained, ("ema_epochs", "head_resampler", "predict_logit_adjust")
    )

    def __setstate__(self, state):
        fitted_by_0_1 = "plan_" not in state and "strategy_" in state
        if fitted_by_0_1:  # its plan and owners were attributes of the estimator then
            state["plan_"] = Plan.from_fitted_attributes(state)
            scaler, compiled = state.pop("grad_scaler_", None), state.pop("_compiled_", None)
        super().__setstate__(state)
        if fitted_by_0_1:
            self.precision_ = Precision(self.precision, self.device)
            self.precision_.scaler = scaler
            self.compiled_forwards_ = compiled

    # -- parameters -----------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = False
        tags.target_tags.multi_output = True  # a multi-label indicator y
        tags.classifier_tags.multi_label = True
        return tags

    # -- data -----------------------------------------------------------------------
    def _fit_dataset(
        self,
        X,
        y,
        sample_weight,
        *,
        reset: bool,
        classes=None,
        incremental: bool = False,
        pseudo_labels: PseudoLabels | None = None,
    ) -> tuple[ImageDataset, TwoViews | SubsetSource | None]:
        """The labelled images as a dataset, and the unlabelled ones (``y == -1``) as the
        plan's method takes them: FixMatch the dataset of their two views, a self-training
        teacher the images themselves (else None). ``pseudo_labels``: a teacher's, which
        label some of the unlabelled images."""
        source = self._image_source(X, reset=reset)
        y = self._targets(source, y)
        if pseudo_labels is not None:
            y = pseudo_labels.label(y)
        pool = None
        if self.unlabeled is not None:  # None: -1 is a label like any other
            source, y, sample_weight, pool = split_unlabeled(source, y, sample_weight)
        if pool is not None:
            check_labeled_part(y, len(pool[0]), first_call=reset and classes is None)
        if reset:
            check_label_settings(self, multilabel=y.ndim == 2)
            self.multilabel_ = y.ndim == 2
            self.classes_ = fit_classes(y, classes)
        check_prior_source(self)  # after the label checks: a multi-label y is named first
        codes = encode_labels(y, self.classes_, multilabel=self.multilabel_)
        sample_weight = check_class_sample_weight(sample_weight, codes)
        if self.head_resampler is not None and sample_weight is not None:
            raise ValueError(
                "head_resampler re-trains the classifier on re-balanced features, which carry "
                "no sample weights; drop sample_weight or head_resampler."
            )
        if reset:
            self.n_samples_fit_ = len(codes)
            self.class_counts_ = (
                y.sum(axis=0, dtype=np.int64)
                if self.multilabel_
                else np.bincount(codes, minlength=len(self.classes_))
            )
            facts = TrainingFacts(
                self.class_counts_,
                multilabel=self.multilabel_,
                sample_weighted=sample_weight is not None,
                incremental=incremental,
                validation=self.train_split is not None,
                image_size=self.image_shape_[1:],
                n_unlabeled=0 if pool is None else len(pool[0]),
                pseudo_labels=pseudo_labels,
            )
            params = self.get_params(deep=False)
            self.plan_ = plan_training(params, self.get_params_for("criterion"), facts)
            self.class_weight_ = loss_class_weight(
                self.class_weight,
                self.get_params_for("criterion").get("weight"),
                classes=self.classes_,
                y=y,
                beta=self.beta,
            )
            vars(self).pop("minority_classes_", None)  # from an earlier fit
            if self.minority_augment is not None or self.sam_classes == "minority":
                minority = minority_codes(self.class_counts_, self.classes_, self.minority_classes)
                self.minority_classes_ = self.classes_[minority]
            self._fit_normalization(source if pool is None else source.source)
        elif pool is not None:  # later partial_fit calls: the same refusal or warning
            facts = TrainingFacts(self.class_counts_, incremental=True, n_unlabeled=len(pool[0]))
            plan_unlabeled(self.get_params(deep=False), facts, None)
        unlabeled = self.plan_.unlabeled if pool is not None else None
        views = None
        if unlabeled is not None and unlabeled.method == "fixmatch":
            views = TwoViews(pool[0], unlabeled.weak, unlabeled.strong, pool[1])
        elif unlabeled is not None and unlabeled.needs_teacher:
            views = pool[0]
        return ImageDataset(source, codes, sample_weight), views

    def _pretrained_statistics(self) -> tuple | None:
        trunk = fitted_trunk(self.backbone_weights)  # an ImageEmbedder's: its statistics
        if trunk is not None:
            return trunk[1]
        return weights_statistics(self.backbone, self.backbone_weights)

    def _prediction_input(self, X):
        self.check_is_fitted()
        if is_prepared(X):  # skorch's scoring callbacks pass our own prepared datasets
            return X
        return self._prediction_dataset(X)

    # -- training -------------------------------------------------------------------
    def fit(self, X, y=None, sample_weight=None, **fit_params):
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
            arrays; or a Hugging Face ``datasets.Dataset``
            (:class:`~imbtorch.data.HFImageDataset`).
        y : array-like of shape (N,) or (N, n_labels), or None
            Labels of any type; or a multi-label 0/1 indicator matrix (an
            array, a scipy sparse matrix or a pandas DataFrame, one column
            per label), trained with one sigmoid per label. ``None`` for a
            Dataset reads its ``targets`` (or ``y``) attribute (a
            ``datasets.Dataset``'s ``ClassLabel`` names), else the targets
            of its items.
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
        check_settings(self)
        dataset, unlabeled = self._fit_dataset(X, y, sample_weight, reset=True)
        if self.plan_.unlabeled is not None and self.plan_.unlabeled.needs_teacher:
            pseudo_labels = teach(self, unlabeled, X, y, sample_weight, **fit_params)
            dataset, unlabeled = self._fit_dataset(
                X, y, sample_weight, reset=True, pseudo_labels=pseudo_labels
            )
        with seeded_torch(self.random_state, self.device):
            self.initialize()
            self._run(
                dataset,
                fit_params,
                end_epoch=self.max_epochs,
                resume=self.resume,
                unlabeled=unlabeled,
            )
        return self

    def partial_fit(self, X, y=None, classes=None, sample_weight=None, **fit_params):
        """Train ``max_epochs`` more epochs, building the network on the first call.

        Parameters
        ----------
        X, y, sample_weight
            As in :meth:`fit`.
        classes : array-like, default=None
            All labels that will ever appear, needed on the first call when
            ``y`` does not hold them all.
        **fit_params : dict
            Passed on to skorch's ``partial_fit``.

        Returns
        -------
        self
        """
        first_call = not self.initialized_
        check_settings(self)
        dataset, _ = self._fit_dataset(  # the plan leaves unlabelled images out here
            X, y, sample_weight, reset=first_call, classes=classes, incremental=True
        )
        epochs_done = 0 if first_call else len(self.history_)
        with seeded_torch(self.random_state, self.device, offset=epochs_done):
            if first_call:
                self.initialize()
            self._run(dataset, fit_params, end_epoch=epochs_done + self.max_epochs)
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
        trunk = fitted_trunk(self.backbone_weights)  # an ImageEmbedder's state_dict
        self.module_ = build_network(
            self.backbone,
            weights=self.backbone_weights if trunk is None else trunk[0],
            image_shape=(len(self.channel_mean_), *self.image_shape_[1:]),  # grey for RGB: 3
            num_classes=len(self.classes_),
            module_kwargs=self.get_params_for("module"),
            cosine_classifier=self.loss_ == "ldam",
            logit_scale=self.logit_scale,
            difficulty_head=self.difficulty_head is not None,
            freeze=self.freeze,
            tau_normalize=self.tau_normalize,
            max_norm=self.max_norm,
            channels_last=self.channels_last,
        )
        self.compiled_forwards_ = CompiledForwards(self.get_params_for("compile"))
        return self

    def torch_compile(self, module, name):
        """Keep ``module_`` and ``criterion_`` plain: with ``compile=True`` forward passes of
        the network run through a compiled wrapper (:mod:`imbtorch.training.compiled`)."""
        return module

    def initialize_criterion(self):
        """Build ``criterion_`` from ``loss``, the class weights and ``criterion__*``."""
        self.criterion_ = self.build_criterion(class_weighted=self.drw_epoch is None)
        return self

    def build_criterion(self, *, class_weighted: bool = True) -> torch.nn.Module:
        """The training loss for the fitted classes, on the device.

        The named loss parameters (``focal_gamma``, ``ldam_scale``, ...) set
        it up, and ``criterion__*`` parameters win over them, for every loss.

        Parameters
        ----------
        class_weighted : bool, default=True
            Weigh the classes by ``class_weight_``; ``False`` weighs them
            equally (deferred re-weighting before ``drw_epoch``).
        """
        weight = self.class_weight_ if class_weighted else np.ones_like(self.class_weight_)
        criterion = make_criterion(
            self.loss_,
            settings=self.get_params(deep=False),
            classes=self.classes_,
            class_counts=self.class_counts_,
            weight=weight,
            overrides=self.get_params_for("criterion"),
            n_samples=self.n_samples_fit_ if self.multilabel_ else None,
        )
        return criterion.to(self.device)

    # -- prediction -----------------------------------------------------------------
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

    def embed(self, X) -> np.ndarray:
        """Features of the images: what the network's classifier layer receives.

        ``ImageEmbedder(clf, prefit=True)`` and cRT use them; imblearn's
        resamplers (SMOTE, ...) work on them.

        Parameters
        ----------
        X : images, as in :meth:`fit`

        Returns
        -------
        features : ndarray of shape (N, n_features), float32
        """
        return embed(
            self.module_,
            whole_set_loader(self, self._prediction_input(X)),
            prepare=partial(steps.network_input, self),
            autocast=self.precision_.autocast,
            layer=classifier_layer(self.module_, len(self.classes_)),
        )

    def predict_proba(self, X):
        """Class probabilities, columns in ``classes_`` order.

        With ``proba_prior=None``, the softmax of the scores ``predict``
        decides by (``logits - tau * log(prior)`` with
        ``predict_logit_adjust=tau``), divided by the temperature fitted on
        a validation split (``proba_temperature_``; 1 without one); with
        ``proba_prior`` set, the posterior under that prior. A
        ``predict_nonlinearity`` other than ``'auto'`` is applied as skorch
        applies it. For a multi-label fit, each label's own probability (the
        sigmoid of its logit), as :class:`~sklearn.neural_network.MLPClassifier`
        gives; rows need not sum to one.

        Parameters
        ----------
        X : images, as in :meth:`fit`

        Returns
        -------
        proba : ndarray of shape (N, n_classes)
        """
        return predict_proba(self, self._prediction_input(X))

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
        y_pred : ndarray of shape (N,), or (N, n_classes) for a multi-label fit
            A multi-label fit predicts the 0/1 indicator of every label whose
            probability is 0.5 or more (:class:`~imbtorch.TunedLabelThresholdsCV`
            tunes a threshold per label).
        """
        return predict(self, X, self._prediction_input(X))

    def learning_rate(self) -> float:
        """The learning rate the optimizer is built with: ``optimizer__lr``, ``lr``, or the
        default ``lr=None`` takes (see :mod:`imbtorch.training.optimizers`)."""
        return learning_rate(self)

    # -- the owners of the training state, and skorch's hooks handed to them ----------
    @property
    def processes(self) -> Processes:
        """The processes of this estimator's fits (one, or its ``accelerator``'s)."""
        accelerator = self.__dict__.get("accelerator")
        processes = self.__dict__.get("processes_")
        if processes is None or processes.accelerator is not accelerator:
            processes = self.__dict__["processes_"] = Processes(accelerator)
        return processes

    def _run(
        self,
        dataset: ImageDataset,
        fit_params: dict,
        *,
        end_epoch: int,
        resume=False,
        unlabeled: TwoViews | None = None,
    ):
        self.run_ = TrainingRun(self, dataset, fit_params, end_epoch, unlabeled=unlabeled)
        try:
            self.run_.run(resume=resume)
        finally:
            vars(self).pop("run_")

    @property
    def _default_callbacks(self):
        return default_callbacks(self, super()._default_callbacks)

    def initialize_callbacks(self, *args, **kwargs):
        if not self.processes.is_main:  # one epoch log, not one per process (as skorch's)
            self.callbacks__print_log__sink = silent
        return super().initialize_callbacks(*args, **kwargs)

    def initialize_optimizer(self, triggered_directly=None):
        """Build ``optimizer_`` (see :mod:`imbtorch.training.optimizers`) and ``precision_``,
        the owner of autocast and the gradient scaler."""
        self.optimizer_ = build_optimizer(self)
        self.precision_ = Precision(self.precision, self.device)
        return self

    @property
    def grad_scaler_(self):
        """The gradient scaler of ``precision='16-mixed'`` (``precision_``'s), else None."""
        return self.precision_.scaler

    def get_iterator(self, dataset, training=False):
        """The loader of training epochs (from ``schedule_``) or of evaluation, in order."""
        return net_loader(self, dataset, training=training)

    def get_split_datasets(self, X, y=None, **fit_params):
        """skorch's ``train_split`` of ``X``; in the epochs ``'auto'`` adds, the parts its
        first run drew (a split with no seed would draw other ones). After self-training's
        teacher, the validation part holds labelled images only."""
        held = self.run_.split() if getattr(self, "run_", None) is not None else None
        if held is not None:
            return held
        unlabeled = self.plan_.unlabeled if "plan_" in vars(self) else None
        record = None if unlabeled is None else unlabeled.pseudo_labels
        pseudo_labeled = pseudo_labeled_rows(X, record) if self.train_split else None
        if pseudo_labeled is not None:  # validation on the user's labels (self-training)
            return split_true_labels(partial(self._split, **fit_params), X, y, pseudo_labeled)
        return self._split(X, y, **fit_params)

    def _split(self, X, y=None, **fit_params):
        parts = split_for_validation(self.train_split, y)
        if parts is None:
            return super().get_split_datasets(X, y, **fit_params)
        dataset = self.get_dataset(X, y)
        return tuple(torch.utils.data.Subset(dataset, indices) for indices in parts)

    def notify(self, method_name, **cb_kwargs):
        super().notify(method_name, **cb_kwargs)
        if getattr(self, "run_", None) is not None:  # after every callback
            self.run_.after(method_name)

    def train_step(self, batch, **fit_params):
        return steps.train_step(self, batch, **fit_params)

    def train_step_single(self, batch, **fit_params):
        return steps.train_step_single(self, batch, **fit_params)

    def infer(self, x, **fit_params):
        return steps.infer(self, x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False, mixed=None):
        return steps.get_loss(self, y_pred, y_true, X=X, training=training, mixed=mixed)

    def validation_step(self, batch, **fit_params):
        """skorch's step; with several processes, on the batch gathered from all of them."""
        if self.processes.world_size == 1:
            return super().validation_step(batch, **fit_params)
        return self.processes.validation_step(self, batch, **fit_params)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch; with several processes, validation batches are recorded and scored
        over all of them, and after a training epoch every process takes the buffers
        (BatchNorm's running statistics) of process 0, so that all validate and predict
        with the same network."""
        processes = self.processes
        if processes.world_size == 1 or iterator is None:
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        if training:
            super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
            processes.share_buffers(self.module_)
            return None
        return processes.validation_epoch(self, iterator, prefix, step_fn, **fit_params)

    def evaluation_step(self, batch, training=False):
        return self.processes.gather(super().evaluation_step(batch, training=training))

    def set_params(self, **kwargs):
        """Set parameters, as skorch does; ``lr=None`` on an initialised net sets the default rate.

        Parameters
        ----------
        **kwargs : dict
            Parameters, ``callbacks__*``, ``module__*``, ``optimizer__*`` and
            ``iterator_*__*`` settings included.

        Returns
        -------
        self
        """
        resets = "lr" in kwargs and kwargs["lr"] is None
        if not resets or not getattr(self, "initialized_", False):
            return super().set_params(**kwargs)
        super().set_params(**{key: value for key, value in kwargs.items() if key != "lr"})
        self.lr = None
        rate = self.learning_rate()
        for group in self.optimizer_.param_groups:  # as skorch sets ``lr``: every group
            group["lr"] = rate
        return self

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("run_", None)
        if state.get("accelerator") is not None:
            state["accelerator"] = None  # a process group does not travel; the model does
        return state
