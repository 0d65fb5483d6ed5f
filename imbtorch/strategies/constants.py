"""Every constant of the default, ``strategy='auto'``, defined once, with where it comes from.

Each names the paper it comes from, and the sets it was chosen and checked
on (the documentation's design notes give the numbers). The sets: digits-LT
and MNIST-LT (scikit-learn's 8x8 digits and a 5,000-image MNIST, made
long-tailed at rho = 10 and 100), the textures (patches of scikit-image's
photographs), the photographs and the sample images (patches of other
packages' images, held out when the rule was written), and digit mosaics for
multi-label ``y``.
"""

from __future__ import annotations

#: The loss: the logit-adjusted loss (Menon et al. 2021), which targets balanced accuracy
#: and is cross-entropy on balanced data. Chosen on digits-LT and MNIST-LT, rho 10 and 100.
AUTO_LOSS = "logit_adjusted"

#: The classifier stage: the classifier re-trained alone (Kang et al. 2020's decoupling) on
#: features drawn by square-root sampling, deciding with ``AUTO_HEAD_SHIFT`` of the log prior
#: subtracted, the half the sampling left. Chosen on the textures, digits-LT and MNIST-LT,
#: checked on the photographs.
AUTO_HEAD = "sqrt"
AUTO_HEAD_SHIFT = 0.5

#: Mixing: mixup (Zhang et al. 2018) in the first two thirds of the epochs, the images as
#: they are in the rest. Chosen on digits-LT, MNIST-LT, the textures and the photographs.
AUTO_MIXUP = "mixup"

#: Where a deferred phase begins: after two thirds of the epochs, Cao et al. 2019's switch
#: for deferred re-weighting and re-sampling; the end of ``'auto'``'s mixing and the length
#: of its extension (:func:`deferred_epoch`).
DEFERRED_FRACTION = (2, 3)

#: Weight averaging: an exponential moving average of the weights with a time constant of
#: 3 epochs (timm's model EMA). Suggested by digits-LT and the sample images, checked on
#: digits-LT and MNIST-LT in both rankings, the textures, the photographs and the sample
#: images.
AUTO_EMA_EPOCHS = 3.0

#: The evidence both decisions read: the training balanced accuracy of the classifier
#: trained with the network, on its training images. From 0.99 up the network makes no
#: training error worth a stage (one-shot digits: the stage over-corrects toward a tail of
#: one or two images); under it the network trains longer and the stage runs. Suggested by
#: digits-LT and the photographs, checked on MNIST-LT, the textures and digits-LT rho = 10;
#: the extension (two thirds of ``max_epochs``) suggested by the photographs, checked on the
#: textures in both rankings and the sample images.
AUTO_JOINT_MIN_SCORE = 0.99

#: Fits of fewer epochs are a quick look and train none more: the extension was measured
#: at 30 epochs, beside the default warm-up (none under 10).
MIN_EXTENSION_EPOCHS = 10

#: Epochs of the classifier stage (the ``head_epochs`` default): one layer on cached
#: features. Set when cRT was added, with no measurement of its own; every measurement of
#: the default's stage trained it so.
HEAD_EPOCHS = 30

#: Multi-label ``y``: the distribution-balanced loss with label-aware sampling, the pairing
#: Wu et al. 2020 trained. Chosen on MNIST and digit mosaics, rho 100.
AUTO_MULTILABEL = {"loss": "distribution_balanced", "sampler": "class_balanced"}

#: The names of what ``'auto'`` trains (``strategy_``).
AUTO_NAME = "logit_adjusted+sqrt_head"
AUTO_MIXED_NAME = "logit_adjusted+mixup+sqrt_head"
AUTO_MULTILABEL_NAME = "distribution_balanced+label_aware"
#: ... and once the classifier trained with the network is kept.
AUTO_JOINT_NAMES = {AUTO_NAME: AUTO_LOSS, AUTO_MIXED_NAME: "logit_adjusted+mixup"}


def deferred_epoch(max_epochs: int) -> int:
    """Where a deferred phase begins: after :data:`DEFERRED_FRACTION` of ``max_epochs``."""
    numerator, denominator = DEFERRED_FRACTION
    return numerator * max_epochs // denominator


#: Semi-supervised training with unlabelled images (``y == -1``): FixMatch (Sohn et al. 2020),
#: its confidence threshold for a pseudo-label, and unlabelled images per labelled one in a
#: step (FixMatch's mu is 7; a smaller ratio costs less, measured on digits-LT and MNIST-LT
#: with both pools of ``benchmarks/unlabeled.py``).
PSEUDO_LABEL_THRESHOLD = 0.95
UNLABELED_RATIO = 2
#: The pseudo-labels follow the unlabelled pool's class prior, estimated along training from
#: the counts of the network's predictions on it, as ACR (Wei & Gan 2023) estimates it.
PSEUDO_LABEL_PRIOR = "estimate"
#: Self-training with unlabelled images, the default's way with them: a teacher's
#: pseudo-labels of confidence at least this, kept per class by CReST's rebalancing (Wei et
#: al. 2021) with the smallest exponent that holds them within the budget
#: (``SELF_TRAINING_BUDGET`` pseudo-labels per labelled image; None below), which bounds the
#: fit's cost whatever the number of unlabelled images. Chosen over
#: a fixed exponent (2, 1, 0.5, 0) on digits-LT with both pools of
#: ``benchmarks/unlabeled.py``, 10 seeds, then checked on MNIST-LT.
SELF_TRAINING_THRESHOLD = 0.5
PSEUDO_LABEL_REBALANCE = None
SELF_TRAINING_BUDGET = 2.0
