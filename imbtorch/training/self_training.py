"""Self-training on unlabelled images: one generation of pseudo-labels, within a budget.

With ``unlabeled='self_training'`` a fit first trains a *teacher*: the same
estimator on the labelled images alone (the unlabelled ones left out), with
the same seed. The teacher predicts every unlabelled image. Of the images it
predicts as class ``c`` with confidence at least ``threshold``, the most
confident share

    mu_c = (n_(C + 1 - r) / n_1) ** alpha

is kept with ``c`` as its label, where ``r`` is the rank of ``c`` among the
labelled counts (1 the most frequent), ``n_1 >= ... >= n_C`` those counts and
``alpha`` the rebalancing exponent: the rarest class keeps all its confident
images, the most frequent the smallest share (CReST, Wei et al. 2021, one
generation). ``alpha=0`` keeps every confident image.

Where ``alpha`` is not given, the kept images are held to a *budget*, a
number of pseudo-labels per labelled image (the default's is
``imbtorch.strategies.constants.SELF_TRAINING_BUDGET``), which bounds the fit's cost
whatever the number of unlabelled images: ``alpha`` is the smallest exponent
whose kept images fit it (0, every confident image, where they all fit), so
that the head classes give up their pseudo-labels first. Where no exponent
brings them within it (the rarest classes' own confident images exceed it),
every class keeps the same share of what the largest exponent keeps.

The fit then trains its network from the start on the labelled images and
the kept ones, its plan made from both counts; the rest stay out.

:func:`teach` fits the teacher and asks it, :func:`select_pseudo_labels`
makes the choice, and :class:`PseudoLabels` records it: which images, with
which labels, and the evidence (the teacher's labelled counts, its confident
images per class, the exponent and the budget). The fit's plan
(``plan_.unlabeled``) holds the record.
With a validation split (``train_split``), :func:`split_true_labels` draws it
from the labelled images only, as the teacher drew it, and trains on every
pseudo-labelled image: the monitors, early stopping and the fitted prior
score the user's labels, not the teacher's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.base import clone
from torch.utils.data import Subset

from ..data.dataset import ImageDataset
from ..data.sources import ImageSource

#: The sub-folder of ``checkpoint_dir`` where the teacher's checkpoints go.
TEACHER_FOLDER = "teacher"
#: The largest exponent searched; beyond it the shares fall together.
MAX_ALPHA = 64.0


def teacher_folder(checkpoint_dir):
    """Where the teacher of a fit with ``checkpoint_dir`` saves its own (None: nowhere).

    Parameters
    ----------
    checkpoint_dir : str, path or None

    Returns
    -------
    str or None
    """
    return None if checkpoint_dir is None else os.path.join(checkpoint_dir, TEACHER_FOLDER)


def rebalanced_shares(counts, alpha: float) -> np.ndarray:
    """CReST's share ``mu_c`` of each class's confident pseudo-labels that is kept.

    Parameters
    ----------
    counts : array-like of shape (n_classes,)
        Labelled images per class.
    alpha : float
        The rebalancing exponent; 0 keeps every confident image.

    Returns
    -------
    ndarray of shape (n_classes,)
        In ``counts``' order, each in (0, 1].
    """
    counts = np.asarray(counts, dtype=np.float64)
    order = np.argsort(-counts, kind="stable")  # most frequent first
    shares = np.empty(len(counts))
    shares[order] = (counts[order[::-1]] / counts[order[0]]) ** alpha
    return shares


@dataclass
class PseudoLabels:
    """The pseudo-labels a teacher gave, and what they rest on.

    Parameters
    ----------
    positions : ndarray of int
        The kept images' positions in the fit's ``X``.
    labels : ndarray
        Their labels (elements of the teacher's ``classes_``).
    classes : ndarray
        The teacher's ``classes_``.
    labeled_counts : ndarray of shape (n_classes,)
        The labelled images per class the teacher trained on.
    confident_counts : ndarray of shape (n_classes,)
        Unlabelled images the teacher predicted as each class with confidence
        at least ``threshold``.
    kept_counts : ndarray of shape (n_classes,)
        Those kept, per class.
    n_unlabeled : int
        The unlabelled images the teacher predicted.
    threshold, alpha : float
        The settings of the choice; ``alpha`` the exponent found where it was searched.
    budget : int or None, default=None
        The most images that could be kept, where ``alpha`` was searched; None
        where it was given.
    share : float, default=1.0
        The share of each class's rebalanced pseudo-labels kept, below 1 only where no
        exponent brought them within ``budget``.
    """

    positions: np.ndarray
    labels: np.ndarray
    classes: np.ndarray
    labeled_counts: np.ndarray
    confident_counts: np.ndarray
    kept_counts: np.ndarray
    n_unlabeled: int
    threshold: float
    alpha: float
    budget: int | None = None
    share: float = 1.0

    def label(self, y: np.ndarray) -> np.ndarray:
        """``y`` with the kept images labelled (a copy, of a type that holds the labels).

        Parameters
        ----------
        y : ndarray of shape (N,)
            The fit's labels, ``-1`` (or its string) marking the unlabelled images.

        Returns
        -------
        ndarray of shape (N,)
        """
        labeled = np.array(y, dtype=np.result_type(y, self.labels), copy=True)
        labeled[self.positions] = self.labels
        return labeled


def _most_confident(predicted, confidence, n_kept) -> np.ndarray:
    """Positions (in ``predicted``) of each class's ``n_kept`` most confident images, by class."""
    kept = []
    for code, n in enumerate(n_kept):
        candidates = np.flatnonzero(predicted == code)
        most_confident = np.argsort(-confidence[candidates], kind="stable")[:n]
        kept.append(np.sort(candidates[most_confident]))
    return np.concatenate(kept)


def _smallest_fitting(count, budget: int, high: float) -> float:
    """The least ``x`` in ``[0, high]`` with ``count(x) <= budget``, ``count`` non-increasing
    and ``count(high) <= budget`` (to a relative 1e-6)."""
    if count(0.0) <= budget:
        return 0.0
    low = 0.0
    while high - low > 1e-6 * max(high, 1.0):
        middle = (low + high) / 2
        low, high = (low, middle) if count(middle) <= budget else (middle, high)
    return high


def select_pseudo_labels(
    proba: np.ndarray,
    positions,
    labeled_counts,
    classes,
    *,
    threshold: float,
    alpha: float | None,
    budget: float | None = None,
) -> PseudoLabels:
    """The teacher's pseudo-labels to keep (see the module's docstring).

    Parameters
    ----------
    proba : ndarray of shape (n_unlabeled, n_classes)
        The teacher's probabilities of the unlabelled images.
    positions : array-like of int, shape (n_unlabeled,)
        The unlabelled images' positions in the fit's ``X``.
    labeled_counts : array-like of shape (n_classes,)
        The labelled images per class the teacher trained on.
    classes : ndarray of shape (n_classes,)
        The teacher's ``classes_``.
    threshold : float
        Least confidence of a pseudo-label.
    alpha : float or None
        The rebalancing exponent; None: the smallest within the budget.
    budget : float, default=None
        Pseudo-labels kept at most per labelled image; required where ``alpha`` is None.

    Returns
    -------
    PseudoLabels
    """
    proba = np.asarray(proba)
    positions = np.asarray(positions, dtype=np.int64)
    labeled_counts = np.asarray(labeled_counts, dtype=np.int64)
    n_classes = len(classes)
    predicted, confidence = proba.argmax(axis=1), proba.max(axis=1)
    predicted = np.where(confidence >= threshold, predicted, -1)  # -1: not confident
    confident_counts = np.bincount(predicted[predicted >= 0], minlength=n_classes)

    def n_kept(exponent, share=1.0):  # per class, ceil(share * mu_c * confident images)
        shares = share * rebalanced_shares(labeled_counts, exponent)
        return np.ceil(shares * confident_counts - 1e-9).astype(np.int64)

    def count(exponent, share=1.0):
        return int(n_kept(exponent, share).sum())

    share, cap = 1.0, None
    if alpha is None:
        if budget is None:
            raise ValueError("select_pseudo_labels needs a budget to search the exponent in.")
        cap = int(budget * labeled_counts.sum())
        if count(MAX_ALPHA) <= cap:
            alpha = _smallest_fitting(count, cap, MAX_ALPHA)
        else:  # the rarest classes alone exceed it: every class gives up the same share
            alpha = MAX_ALPHA
            share = 1.0 - _smallest_fitting(lambda x: count(MAX_ALPHA, 1.0 - x), cap, 1.0)
    kept = _most_confident(predicted, confidence, n_kept(alpha, share))
    return PseudoLabels(
        positions=positions[kept],
        labels=np.asarray(classes)[predicted[kept]],
        classes=np.asarray(classes),
        labeled_counts=labeled_counts,
        confident_counts=confident_counts,
        kept_counts=np.bincount(predicted[kept], minlength=n_classes),
        n_unlabeled=len(proba),
        threshold=float(threshold),
        alpha=float(alpha),
        budget=cap,
        share=float(share),
    )


def teach(estimator, pool: ImageSource, X, y, sample_weight=None, **fit_params) -> PseudoLabels:
    """Fit ``estimator``'s teacher on the labelled images of ``X`` and keep its pseudo-labels
    of the unlabelled ones, ``pool`` (see the module's docstring).

    The teacher is ``estimator``'s clone (same seed) with ``unlabeled='ignore'``,
    on the same processes; with ``checkpoint_dir`` it saves its own state in
    :func:`teacher_folder`, so that ``resume`` resumes a fit stopped in the
    teacher or after it.

    Parameters
    ----------
    estimator : BalancedImageClassifier
        The fit's, its ``plan_.unlabeled`` made (``threshold``, ``rebalance``).
    pool : SubsetSource
        The unlabelled images, ``indices`` their positions in ``X``.
    X, y, sample_weight, **fit_params
        The arguments of the fit.

    Returns
    -------
    PseudoLabels
    """
    plan = estimator.plan_.unlabeled
    teacher = clone(estimator).set_params(
        unlabeled="ignore",
        accelerator=estimator.accelerator,  # the same processes, not a copy
        checkpoint_dir=teacher_folder(estimator.checkpoint_dir),
    )
    teacher.fit(X, y, sample_weight=sample_weight, **fit_params)
    return select_pseudo_labels(
        teacher.predict_proba(ImageDataset(pool)),
        pool.indices,
        teacher.class_counts_,
        teacher.classes_,
        threshold=plan.threshold,
        alpha=plan.rebalance,
        budget=plan.budget,
    )


def pseudo_labeled_rows(dataset, record: PseudoLabels | None) -> np.ndarray | None:
    """Which rows of a fit's training ``dataset`` hold the teacher's pseudo-labels (a boolean
    mask), or None where none does.

    Parameters
    ----------
    dataset : ImageDataset
        The fit's training data; its ``source`` reads the images of ``X`` at its
        ``indices`` (all of them where it has none).
    record : PseudoLabels or None

    Returns
    -------
    ndarray of bool or None
    """
    if record is None or not len(record.positions):
        return None
    source = getattr(dataset, "source", None)
    if source is None:
        return None
    positions = getattr(source, "indices", np.arange(len(source)))
    return np.isin(positions, record.positions)


def split_true_labels(split, dataset, y, pseudo_labeled: np.ndarray):
    """``split(dataset, y)`` drawn from the rows with true labels only; every pseudo-labelled
    row joins the training part.

    Parameters
    ----------
    split : callable
        ``split(dataset, y) -> (train, valid)``, the estimator's split.
    dataset : Dataset
    y : array-like or tensor
        The targets of ``dataset``'s rows.
    pseudo_labeled : ndarray of bool
        :func:`pseudo_labeled_rows`.

    Returns
    -------
    (Subset, Subset)
        Of ``dataset``; where ``split`` returns parts other than Subsets of the
        rows it was given (a split of your own), its split of the whole ``dataset``.
    """
    labeled = np.flatnonzero(~pseudo_labeled)
    part = Subset(dataset, labeled)
    rows = torch.from_numpy(labeled) if torch.is_tensor(y) else labeled
    train, valid = split(part, None if y is None else y[rows])
    if not all(isinstance(p, Subset) and p.dataset is part for p in (train, valid)):
        return split(dataset, y)
    pseudo = np.flatnonzero(pseudo_labeled)
    train_rows = np.concatenate([labeled[np.asarray(train.indices, dtype=np.int64)], pseudo])
    return Subset(dataset, train_rows), Subset(dataset, labeled[np.asarray(valid.indices)])
