"""The plan of the unlabelled images of a fit (``y == -1``): used, and how, or left out.

:func:`plan_unlabeled` decides, from the parameters and the number of
unlabelled images, whether the fit trains on them, and how: by self-training
(a teacher's pseudo-labels within a budget,
:mod:`imbtorch.training.self_training`), the default's way, or by FixMatch
(pseudo-labels under the pool's class prior,
:mod:`imbtorch.training.semi_supervised`). The resulting
:class:`UnlabeledPlan` is part of the fit's
:class:`~imbtorch.strategies.plan.Plan`; it holds the evidence: the
teacher's pseudo-labels, or the pool's prior FixMatch's followed and the
share of confident ones.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from numbers import Real

import numpy as np

from ..data.augmentation import (
    STRONG_TEXT,
    build_augmentation,
    build_strong_augmentation,
    describe_augmentation,
)
from .constants import (
    PSEUDO_LABEL_PRIOR,
    PSEUDO_LABEL_REBALANCE,
    PSEUDO_LABEL_THRESHOLD,
    SELF_TRAINING_BUDGET,
    SELF_TRAINING_THRESHOLD,
    UNLABELED_RATIO,
)

#: How ``unlabeled='auto'`` trains on unlabelled images, and why.
AUTO_METHOD = "self_training"
AUTO_REASON = (
    "self-training beat the labelled-only default on digits and MNIST with both pools of the "
    "benchmark of unlabelled images, and on its texture patches with the balanced pool"
)
#: What ``unlabeled`` takes.
UNLABELED_MODES = ("auto", "self_training", "fixmatch", "ignore")
#: The named priors the pseudo-labels may follow.
PSEUDO_LABEL_PRIORS = ("estimate", "labeled", "uniform")
#: Each method's least confidence of a pseudo-label, where ``pseudo_label_threshold=None``.
METHOD_THRESHOLDS = {"self_training": SELF_TRAINING_THRESHOLD, "fixmatch": PSEUDO_LABEL_THRESHOLD}
#: The parameters only one method reads, with their defaults.
_METHOD_PARAMS = {
    "fixmatch": {"unlabeled_ratio": UNLABELED_RATIO, "pseudo_label_prior": PSEUDO_LABEL_PRIOR},
    "self_training": {"pseudo_label_rebalance": PSEUDO_LABEL_REBALANCE},
}


@dataclass
class UnlabeledPlan:
    """What a fit does with its unlabelled images, and what training found.

    Parameters
    ----------
    n_unlabeled : int
        Images marked ``-1``.
    method : {'self_training', 'fixmatch'} or None
        How they are trained on; None: left out.
    reason : str
        Why.
    threshold : float, default=PSEUDO_LABEL_THRESHOLD
        Least confidence of a pseudo-label.
    ratio : int, default=UNLABELED_RATIO
        FixMatch's unlabelled images per labelled image in a step.
    prior : str, ndarray or None, default='estimate'
        The class prior FixMatch's pseudo-labels follow (see
        ``BalancedImageClassifier``'s ``pseudo_label_prior``).
    rebalance : float or None, default=PSEUDO_LABEL_REBALANCE
        Self-training's rebalancing exponent; None: the smallest within ``budget``.
    budget : float, default=SELF_TRAINING_BUDGET
        Self-training's pseudo-labels kept at most per labelled image, where
        ``rebalance`` is None.
    weak, strong : callable or None
        The transforms of FixMatch's weak and strong view.
    weak_text : str or None
        The weak view in words.
    pool_prior : ndarray or None
        The prior FixMatch's pseudo-labels followed in the last epoch; set in training.
    confident_share : float or None
        Share of the unlabelled images FixMatch pseudo-labelled in the last epoch; set in
        training.
    classes : ndarray or None
        The labels of ``pool_prior``'s entries; set in training.
    pseudo_labels : PseudoLabels or None
        Self-training's teacher's pseudo-labels and their evidence; set before training.
    """

    n_unlabeled: int
    method: str | None
    reason: str
    threshold: float = PSEUDO_LABEL_THRESHOLD
    ratio: int = UNLABELED_RATIO
    prior: object = PSEUDO_LABEL_PRIOR
    rebalance: float | None = PSEUDO_LABEL_REBALANCE
    budget: float = SELF_TRAINING_BUDGET
    weak: object = None
    strong: object = None
    weak_text: str | None = None
    pool_prior: np.ndarray | None = None
    confident_share: float | None = None
    classes: np.ndarray | None = None
    pseudo_labels: object = None

    @property
    def needs_teacher(self) -> bool:
        """Whether the fit must first train the teacher that pseudo-labels the images."""
        return self.method == "self_training" and self.pseudo_labels is None

    def record(self, pool_prior: np.ndarray, confident_share: float, classes) -> None:
        """FixMatch's evidence: the pool's prior of the last epoch and its confident share.

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
        if self.method == "self_training":
            return [f"{count} used by self-training ({self.reason})", *self._self_training()]
        return self._fixmatch_lines(count)

    def _self_training(self) -> list[str]:
        record = self.pseudo_labels
        teacher = "a teacher (this estimator on the labelled images alone)"
        found = f"pseudo-labels those it predicts with confidence >= {self.threshold:g}"
        if record is not None:
            teacher = (
                f"a teacher (this estimator on the {record.labeled_counts.sum()} labelled images)"
            )
            found = (
                f"gave {record.confident_counts.sum()} of them a pseudo-label of confidence "
                f">= {self.threshold:g}"
            )
        exponent = (
            f"alpha = {self.rebalance:g}"
            if self.rebalance is not None
            else f"alpha the smallest that keeps at most {self.budget:g} per labelled image, "
            "0 (all) where they fit"
        )
        lines = [
            f"{teacher} {found}; of each class the most confident share "
            f"(n_rarest / n_class) ** alpha is kept (CReST, classes ranked by labelled count), "
            f"{exponent}; the network trains on the labelled and kept images, the rest left out"
        ]
        if record is None:
            if self.rebalance is None:
                lines.append(
                    f"cost: at most about {2 + self.budget:g} times a labelled-only fit (the "
                    f"teacher, then this fit on at most {1 + self.budget:g} times its images)"
                )
            return lines
        kept = ", ".join(
            f"{label!s}: {int(n)} of {int(c)}"
            for label, n, c in zip(
                record.classes, record.kept_counts, record.confident_counts, strict=True
            )
        )
        how = f"alpha = {record.alpha:.3g}"
        if record.budget is not None:
            how += f", within the budget of {record.budget}"
            if record.share < 1:
                how += (
                    f"; the rarest classes alone exceeded it, so every class kept "
                    f"{record.share:.1%} of that"
                )
        lines.append(f"pseudo-labels kept: {len(record.positions)} ({kept}); {how}")
        n_labeled = int(record.labeled_counts.sum())
        times = (n_labeled + len(record.positions)) / n_labeled
        lines.append(
            f"cost: the teacher (a labelled-only fit), then this fit on "
            f"{n_labeled + len(record.positions)} images, {times:.1f} times the teacher's: about "
            f"{1 + times:.1f} times a labelled-only fit"
        )
        return lines

    def _fixmatch_lines(self, count: str) -> list[str]:
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

    ``unlabeled='auto'`` trains on them by :data:`AUTO_METHOD` where it can
    and leaves them out with a warning where it cannot (a multi-label ``y``,
    ``partial_fit``); ``'self_training'`` and ``'fixmatch'`` train on them
    where they can and refuse elsewhere. Where ``facts.pseudo_labels`` holds
    a teacher's pseudo-labels, the plan records them (the fit after the
    teacher). FixMatch's weak view is the fit's training transform, or random
    shifts (``augment='shift'``) where it has none; its strong view adds
    FixMatch's (:func:`~imbtorch.data.augmentation.build_strong_augmentation`).

    Parameters
    ----------
    params : dict
        The estimator's ``get_params(deep=False)``.
    facts : TrainingFacts
        What ``fit`` knows of the data (``n_unlabeled``, ``multilabel``,
        ``incremental``, ``pseudo_labels``).
    transform : callable or None
        The training transform of the plan.

    Returns
    -------
    UnlabeledPlan or None

    Raises
    ------
    ValueError
        With ``unlabeled='self_training'`` or ``'fixmatch'`` on a multi-label
        ``y`` or in ``partial_fit``, and where a parameter of the other method
        is set.
    """
    pseudo_labels = facts.pseudo_labels
    n_unlabeled, mode = facts.n_unlabeled, params["unlabeled"]
    if pseudo_labels is not None:
        n_unlabeled = pseudo_labels.n_unlabeled
    if not n_unlabeled:
        return None
    if mode == "ignore":
        return UnlabeledPlan(n_unlabeled, None, "unlabeled='ignore'")
    method = AUTO_METHOD if mode == "auto" else mode
    obstacle = None
    if facts.multilabel:
        obstacle = "semi-supervised training takes one label per image, not a multi-label y"
    elif facts.incremental:
        obstacle = "partial_fit trains on the labelled images only; fit trains on both"
    if obstacle is not None:
        if mode != "auto":
            raise ValueError(
                f"unlabeled={mode!r} cannot train on the {n_unlabeled} images marked -1: "
                f"{obstacle}. Set unlabeled='ignore' to leave them out, or drop them."
            )
        warnings.warn(
            f"The {n_unlabeled} images marked -1 (unlabelled) are left out: {obstacle}. Set "
            "unlabeled='ignore' to leave them out without this warning.",
            UserWarning,
            stacklevel=5,
        )
        return UnlabeledPlan(n_unlabeled, None, f"unlabeled='auto': {obstacle}")
    _check_method_params(params, method)
    threshold = params["pseudo_label_threshold"]
    threshold = METHOD_THRESHOLDS[method] if threshold is None else float(threshold)
    reason = f"unlabeled='auto': {AUTO_REASON}" if mode == "auto" else f"unlabeled={mode!r}"
    if method == "self_training":
        rebalance = params["pseudo_label_rebalance"]
        rebalance = None if rebalance is None else float(rebalance)
        return UnlabeledPlan(
            n_unlabeled, method, reason, threshold, rebalance=rebalance, pseudo_labels=pseudo_labels
        )
    weak, weak_text = transform, "the training transform"
    if weak is None:
        size = tuple(facts.image_size)
        weak, weak_text = build_augmentation("shift", size), describe_augmentation("shift", size)
    return UnlabeledPlan(
        n_unlabeled,
        method,
        reason,
        threshold,
        ratio=int(params["unlabeled_ratio"]),
        prior=params["pseudo_label_prior"],
        weak=weak,
        strong=build_strong_augmentation(weak),
        weak_text=weak_text,
    )


def _check_method_params(params: dict, method: str) -> None:
    """Refuse a parameter that only the other method reads, set away from its default."""
    for other, defaults in _METHOD_PARAMS.items():
        if other == method:
            continue
        for name, default in defaults.items():
            value = params[name]
            kind = str if isinstance(default, str) else Real
            if not (value is default or (isinstance(value, kind) and value == default)):
                raise ValueError(
                    f"{name}={value!r} sets {other.replace('_', '-')} training, but the fit "
                    f"trains on its unlabelled images by {method.replace('_', '-')} "
                    f"(unlabeled={params['unlabeled']!r}); set unlabeled={other!r}, or drop "
                    f"{name}."
                )
