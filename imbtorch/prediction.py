"""Prediction under a stated class prior: the owner of ``decision_prior_`` and its temperature.

These functions give :class:`~imbtorch.BalancedImageClassifier` its
``predict_proba`` and ``predict``. Before training :func:`set_strategy_prior`
sets the prior the scores will assume from the settings
(:func:`imbtorch.priors.strategy_prior`); after training, with a validation
split, :func:`fit_held_out_prior` fits the temperature (and the prior, where
the settings do not tell it) there (:func:`imbtorch.priors.fit_bias_temperature`).
``predict`` decides by the scores; ``predict_proba`` reports them under
``proba_prior``, at that temperature.
"""

from __future__ import annotations

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.dataset import unpack_data

from .data.dataset import ImageDataset, dataset_codes, is_prepared
from .losses.single_label import log_prior
from .networks.heads import softmax_probabilities, stacked_logits
from .parameters import check_label_settings, check_proba_prior
from .priors import (
    fit_bias_temperature,
    probabilities_under,
    strategy_prior,
    target_prior,
    unknown_prior_reason,
)
from .strategies.plan import TRAINED
from .training.loaders import whole_set_loader

__all__ = [
    "fit_held_out_prior",
    "predict",
    "predict_proba",
    "set_strategy_prior",
    "training_prior",
]


def _prior_settings(net) -> tuple[dict, dict]:
    """The parameters (with the loss and sampler trained) and ``criterion__*`` parameters that
    :mod:`imbtorch.priors` reads."""
    trained = {name: getattr(net, f"{name}_") for name in TRAINED}
    return {**net.get_params(deep=False), **trained}, net.get_params_for("criterion")


def set_strategy_prior(net, dataset: ImageDataset) -> None:
    """``decision_prior_`` from the settings, when they tell; called before training."""
    net.decision_prior_, net.decision_prior_source_, net.proba_temperature_ = None, None, 1.0
    if net.multilabel_:  # independent labels: no class prior to state
        return
    params, criterion_params = _prior_settings(net)
    prior = None
    known = unknown_prior_reason(params, criterion_params) is None
    if known and min(net.class_counts_) > 0:  # a class without samples has no prior
        prior = strategy_prior(
            params,
            criterion_params,
            class_counts=net.class_counts_,
            class_weight=net.class_weight_,
            codes=dataset.codes,
            sample_weight=dataset.sample_weight,
        )
    net.decision_prior_ = prior
    net.decision_prior_source_ = None if prior is None else "strategy"
    net.proba_temperature_ = 1.0


def training_prior(net, dataset: ImageDataset) -> np.ndarray:
    """The prior under which ``softmax`` of the network's scores is the posterior in training:
    :func:`~imbtorch.priors.strategy_prior` without the decision's shift and before any
    classifier stage, or the training frequencies where the settings do not tell it (no
    re-balancing is then the nearest guess)."""
    params, criterion_params = _prior_settings(net)
    params.update(predict_logit_adjust=None, head_resampler=None)
    counts = net.class_counts_
    if unknown_prior_reason(params, criterion_params) is not None or min(counts) == 0:
        return counts / counts.sum()
    return strategy_prior(
        params,
        criterion_params,
        class_counts=counts,
        class_weight=net.class_weight_,
        codes=dataset.codes,
        sample_weight=dataset.sample_weight,
    )


def fit_held_out_prior(net, dataset: ImageDataset, fit_params: dict) -> None:
    """The temperature (and ``decision_prior_`` where the settings do not tell it),
    fitted on the validation split after a single-label fit that has one. Where the
    prior is unknown and the split lacks a class, nothing is fitted unless
    ``proba_prior`` asks for it (then :func:`fit_bias_temperature` says why it
    cannot)."""
    if net.train_split is None or net.multilabel_ or min(net.class_counts_) == 0:
        return
    held_out = dict(net.callbacks_)["held_out"].parts(net, dataset, **fit_params)[1]
    codes = dataset_codes(held_out)
    lacks_a_class = len(np.unique(codes)) < len(net.classes_)
    if net.decision_prior_ is None and net.proba_prior is None and lacks_a_class:
        return  # no bias for a class the split lacks, and no prior was asked for
    net.decision_prior_, net.proba_temperature_ = fit_bias_temperature(
        _decision_scores(net, held_out, every_process=True).numpy(),
        codes,
        len(net.classes_),
        decision_prior=net.decision_prior_,
    )
    net.decision_prior_source_ = net.decision_prior_source_ or "held_out"


def predict_proba(net, dataset):
    """``net.predict_proba`` of a prepared ``dataset``: the softmax of the scores ``predict``
    decides by, at the fitted temperature, or the posterior under ``proba_prior``; a custom
    ``predict_nonlinearity`` as skorch applies it; each label's sigmoid for a multi-label fit.
    """
    nonlinearity = net.predict_nonlinearity
    if not (isinstance(nonlinearity, str) and nonlinearity == "auto"):
        check_proba_prior(net)
        return NeuralNetClassifier.predict_proba(net, dataset)
    if getattr(net, "multilabel_", False):
        check_label_settings(net, multilabel=True)  # proba_prior etc. set after fit
        return torch.sigmoid(_decision_scores(net, dataset)).numpy()
    scores = _decision_scores(net, dataset)
    if net.proba_prior is None:  # predict's scores, at the temperature of any split
        return softmax_probabilities(scores / net.proba_temperature_)
    target = target_prior(net.proba_prior, net.classes_, net.class_counts_)
    if net.decision_prior_ is None:
        raise ValueError(_unknown_prior_message(net))
    return probabilities_under(scores.numpy(), _scores_prior(net), target, net.proba_temperature_)


def _scores_prior(net) -> np.ndarray:
    """The prior that ``_decision_scores`` assume: ``decision_prior_``, moved by a
    ``predict_logit_adjust`` set after ``fit``.

    Shifting the scores by another ``-delta * log(p_train)`` than the fit's
    divides what they assume by ``p_train ** (delta / T)`` (``T`` the
    temperature, which divides the scores): the probabilities under a
    stated prior stay the same, only the decisions move.
    """
    delta = _decision_shift(net) - (net.predict_logit_adjust_ or 0.0)
    if delta == 0.0:
        return net.decision_prior_
    log_train = log_prior(net.class_counts_).double().numpy()
    moved = np.log(net.decision_prior_) - delta / net.proba_temperature_ * log_train
    moved = np.exp(moved - moved.max())
    return moved / moved.sum()


def _decision_shift(net) -> float:
    """The ``tau`` of ``logits - tau * log(p_train)`` that ``predict`` decides by:
    ``predict_logit_adjust`` when set, else the fit's (``predict_logit_adjust_``,
    which ``strategy='auto'`` may have set)."""
    shift = net.predict_logit_adjust
    if shift is None:
        shift = net.predict_logit_adjust_
    return 0.0 if shift is None else float(shift)


def _unknown_prior_message(net) -> str:
    reason = unknown_prior_reason(*_prior_settings(net))
    if reason is None:
        reason = f"a class without training samples ({net.class_counts_.tolist()})"
    return (
        f"proba_prior={net.proba_prior!r} converts the scores from the class prior they "
        f"assume, which {reason} leaves unknown without held-out data; fit with "
        "proba_prior set and train_split=ValidSplit(0.2, stratified=True) so that fit "
        "estimates it there, or leave proba_prior=None and calibrate with sklearn's "
        "CalibratedClassifierCV."
    )


def _decision_scores(net, dataset, *, every_process: bool = False) -> torch.Tensor:
    """The scores ``predict`` decides by: logits less ``predict_logit_adjust``'s shift.

    ``predict_logit_adjust`` set after ``fit`` replaces the shift the fit
    decided by (``predict_logit_adjust_``, which ``strategy='auto'`` may
    have set).

    ``every_process`` reads the whole set on each process of a distributed
    fit (rather than this process's share).
    """
    if every_process:  # not evaluation_step, which gathers the processes' batches
        net.module_.eval()
        with torch.no_grad():
            batches = whole_set_loader(net, dataset)
            scores = stacked_logits(net.infer(unpack_data(b)[0]) for b in batches)
    else:
        scores = stacked_logits(net.forward_iter(dataset))
    shift = _decision_shift(net)
    if shift != 0.0:  # every class seen (else no prior)
        scores = scores - shift * log_prior(net.class_counts_).double()
    return scores


def predict(net, X, dataset):
    """``net.predict(X)`` (``dataset``: ``X`` prepared): labels by the scores, or class codes
    for imbtorch's own prepared datasets (skorch's scoring callbacks); for a multi-label fit
    the indicator of every label whose probability is 0.5 or more."""
    if getattr(net, "multilabel_", False):
        return (predict_proba(net, dataset) >= 0.5).astype(np.int64)
    if net.proba_prior is None:  # predict_proba's own scores (and nonlinearity)
        codes = np.argmax(predict_proba(net, dataset), axis=1)
    else:  # the decision stays the one the scores make
        codes = _decision_scores(net, dataset).argmax(dim=1).numpy()
    return codes if is_prepared(X) else net.classes_[codes]
