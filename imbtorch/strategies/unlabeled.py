"""The plan of the unlabelled images of a fit (``y == -1``): used, and how, or left out.

:func:`plan_unlabeled` decides, from the parameters and the number of
unlabelled images, whether the fit trains on them semi-supervised (FixMatch
with pseudo-labels under the pool's class prior), and with what settings.
The resulting :class:`UnlabeledPlan` is part of the fit's
:class:`~imbtorch.strategies.plan.Plan`; training records in it the pool's
prior its pseudo-labels followed and the share of confident ones.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..data.augmentation import (
    STRONG_TEXT,
    build_augmentation,
    build_strong_augmentation,
    describe_augmentation,
)
from .constants import PSEUDO_LABEL_PRIOR, PSEUDO_LABEL_THRESHOLD, UNLABELED_RATIO

#: Why ``unlabeled='auto'`` leaves unlabelled images out, until a method beats the
#: labelled-only default on ``benchmarks/unlabeled.py``.
AUTO_LEAVES_OUT = (
    "the default trains on labelled images only, as FixMatch at its budget trailed the "
    "labelled-only fit on the benchmark of unlabelled images"
)
#: What ``unlabeled`` takes.
UNLABELED_MODES = ("auto", "fixmatch", "ignore")
#: The named priors the pseudo-labels may follow.
PSEUDO_LABEL_PRIORS = ("estimate", "labeled", "uniform")


@dataclass
class UnlabeledPlan:
    """What a fit does with its unlabelled images, and what training found.

    Parameters
    ----------
    n_unlabeled : int
        Images marked ``-1``.
    method : 'fixmatch' or None
        How they are trained on; None: left out.
    reason : str
        Why.
    threshold : float, default=PSEUDO_LABEL_THRESHOLD
        Least confidence of a pseudo-label.
    ratio : int, default=UNLABELED_RATIO
        Unlabelled images per labelled image in a step.
    prior : str, ndarray or None, default='estimate'
        The class prior the pseudo-labels follow (see
        ``BalancedImageClassifier``'s ``pseudo_label_prior``).
    pool_prior : ndarray or None
        The prior they followed in the last epoch; set in training.
    weak, strong : callable or None
        The transforms of the weak and the strong view.
    weak_text : str or None
        The weak view in words.
    confident_share : float or None
        Share of the unlabelled images pseudo-labelled in the last epoch; set in training.
    classes : ndarray or None
        The labels of ``pool_prior``'s entries; set in training.
    """

    n_unlabeled: int
    method: str | None
    reason: str
    threshold: float = PSEUDO_LABEL_THRESHOLD
    ratio: int = UNLABELED_RATIO
    prior: object = PSEUDO_LABEL_PRIOR
    weak: object = None
    strong: object = None
    weak_text: str | None = None
    pool_prior: np.ndarray | None = None
    confident_share: float | None = None
    classes: np.ndarray | None = None

    def record(self, pool_prior: np.ndarray, confident_share: float, classes) -> None:
        """Training's evidence: the pool's prior of the last epoch and its confident share.

        Parameters
        ----------
        pool_prior : ndarray of shape (n_classes,)
        confident_share : float
        classes : ndarray
            The fit's ``classes_``, which name the prior's entries.
        """
        self.pool_prior = np.asarray(pool_prior, dtype=float)
        self.confident_share = float(confident_share)
        self.classes = np.asarray(classes)

    def lines(self) -> list[str]:
        """The plan in words, one statement a line."""
        count = f"{self.n_unlabeled} unlabelled image{'s' if self.n_unlabeled != 1 else ''}"
        if self.method is None:
            return [f"{count} (y == -1) left out: {self.reason}"]
        prior = self.prior
        if isinstance(prior, str):
            prior = {
                "estimate": "the unlabelled images' class prior, estimated along training",
                "labeled": "the labelled images' class frequencies",
                "uniform": "equal classes",
            }[prior]
        elif prior is None:
            prior = "the network's own training prior (no correction)"
        else:
            prior = "the given prior"
        lines = [
            f"{count} trained on by FixMatch ({self.reason}): {self.ratio} per labelled image "
            f"a step; pseudo-labels of confidence >= {self.threshold:g} on a weak view "
            f"({self.weak_text}) taught to a strong view ({STRONG_TEXT}); "
            f"they follow {prior}"
        ]
        if self.confident_share is not None:
            lines.append(
                f"last epoch: {self.confident_share:.0%} of the unlabelled images pseudo-labelled"
            )
        if self.pool_prior is not None and self.prior == "estimate":
            shares = ", ".join(
                f"{label!s}: {share:.3f}"
                for label, share in zip(self.classes, self.pool_prior, strict=True)
            )
            lines.append(f"the unlabelled images' class prior, estimated: {shares}")
        return lines


def plan_unlabeled(params: dict, facts, transform) -> UnlabeledPlan | None:
    """The plan of the images marked ``-1`` under ``params`` (None: there are none).

    ``unlabeled='auto'`` leaves them out with a warning (:data:`AUTO_LEAVES_OUT`);
    ``'fixmatch'`` trains on them where it can (one label per image, ``fit``)
    and refuses elsewhere. The weak view is the fit's
    training transform, or random shifts (``augment='shift'``) where it has
    none; the strong view adds FixMatch's
    (:func:`~imbtorch.data.augmentation.build_strong_augmentation`).

    Parameters
    ----------
    params : dict
        The estimator's ``get_params(deep=False)``.
    facts : TrainingFacts
        What ``fit`` knows of the data (``n_unlabeled``, ``multilabel``, ``incremental``).
    transform : callable or None
        The training transform of the plan.

    Returns
    -------
    UnlabeledPlan or None

    Raises
    ------
    ValueError
        With ``unlabeled='fixmatch'`` on a multi-label ``y`` or in ``partial_fit``.
    """
    n_unlabeled, mode = facts.n_unlabeled, params["unlabeled"]
    if not n_unlabeled:
        return None
    if mode == "ignore":
        return UnlabeledPlan(n_unlabeled, None, "unlabeled='ignore'")
    obstacle = None
    if mode == "auto":
        obstacle = AUTO_LEAVES_OUT
    elif facts.multilabel:
        obstacle = "semi-supervised training takes one label per image, not a multi-label y"
    elif facts.incremental:
        obstacle = "partial_fit trains on the labelled images only; fit trains on both"
    if obstacle is not None:
        if mode == "fixmatch":
            raise ValueError(
                f"unlabeled='fixmatch' cannot train on the {n_unlabeled} images marked -1: "
                f"{obstacle}. Set unlabeled='ignore' to leave them out, or drop them."
            )
        fixmatch = (
            ", or unlabeled='fixmatch' to train on them" if obstacle == AUTO_LEAVES_OUT else ""
        )
        warnings.warn(
            f"The {n_unlabeled} images marked -1 (unlabelled) are left out: {obstacle}. Set "
            f"unlabeled='ignore' to leave them out without this warning{fixmatch}.",
            UserWarning,
            stacklevel=5,
        )
        return UnlabeledPlan(n_unlabeled, None, f"unlabeled='auto': {obstacle}")
    weak, weak_text = transform, "the training transform"
    if weak is None:
        size = tuple(facts.image_size)
        weak, weak_text = build_augmentation("shift", size), describe_augmentation("shift", size)
    return UnlabeledPlan(
        n_unlabeled,
        "fixmatch",
        f"unlabeled={mode!r}",
        threshold=float(params["pseudo_label_threshold"]),
        ratio=int(params["unlabeled_ratio"]),
        prior=params["pseudo_label_prior"],
        weak=weak,
        strong=build_strong_augmentation(weak),
        weak_text=weak_text,
    )
