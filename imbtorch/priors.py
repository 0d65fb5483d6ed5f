"""The class prior a fitted classifier's scores assume, and probabilities under another.

Re-balancing trains a network toward a prior other than the data's: class
weights, samplers, the logit-adjusted and balanced-softmax losses and cRT all
make ``softmax(logits)`` the posterior under (nearly) equal classes. When that
*decision prior* ``rho`` is known, the posterior under any prior ``q`` is
exact (Bayes' rule; Saerens et al. 2002)::

    p_q(y | x) = softmax(logits / T - log rho + log q)

with ``T = 1``. For each strategy whose effect on the prior is a known
factor, :func:`strategy_prior` computes ``rho`` from the training counts.
The rest (focal, LDAM and VS margins, OHEM, tau-normalisation, Remix, label
smoothing, progressive or imblearn sampling) change the scores in ways no
prior describes; :func:`fit_bias_temperature` then estimates a per-class
bias and a temperature on held-out data, which plays the same part.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "fit_bias_temperature",
    "probabilities_under",
    "strategy_prior",
    "target_prior",
    "unknown_prior_reason",
]

#: Samplers that draw every class equally often.
_BALANCING_SAMPLERS = ("weighted", "over", "under", "class_balanced")


def unknown_prior_reason(params: Mapping, criterion_params: Mapping) -> str | None:
    """The setting whose effect on the scores' prior is not a known factor, or None.

    Parameters
    ----------
    params : dict
        The classifier's ``get_params(deep=False)``, with ``loss`` the loss it
        trains (``loss_``).
    criterion_params : dict
        Its ``criterion__*`` parameters.
    """
    post_hoc = {  # settings that change the scores after any training stage
        "tau_normalize": params["tau_normalize"] is not None,
        "logit_scale": bool(params["logit_scale"]),
        "loss": params["loss"] == "ldam",  # a cosine classifier, scaled only in training
    }
    if params["head_resampler"] is not None:  # cRT re-trains the classifier with plain CE
        unknown = {
            **post_hoc,
            "head_resampler": params["head_resampler"] not in ("class_balanced", "sqrt"),
            "head_smoothing": params["head_smoothing"] is not None,
        }
    else:
        sampler = params["sampler"]
        unknown = {
            **post_hoc,
            "loss": params["loss"] in ("focal", "ldam", "vs"),
            "ohem_ratio": params["ohem_ratio"] is not None,
            "remix": bool(params["remix"]),
            "sampler": not (sampler is None or sampler in ("sqrt", *_BALANCING_SAMPLERS)),
            "criterion__label_smoothing": bool(criterion_params.get("label_smoothing", 0)),
        }
    for name, is_unknown in unknown.items():
        if is_unknown:
            value = criterion_params["label_smoothing"] if "__" in name else params[name]
            return f"{name}={value!r}"
    return None


def strategy_prior(
    params: Mapping,
    criterion_params: Mapping,
    *,
    class_counts: np.ndarray,
    class_weight: np.ndarray,
    codes: np.ndarray,
    sample_weight: np.ndarray | None = None,
) -> np.ndarray:
    """The prior under which ``softmax`` of the decision scores is the posterior.

    The class mass training sees is the product of what the data hold
    (sample-weighted), what the sampler draws of each class, and the loss's
    class weight. The logit-adjusted and balanced-softmax losses train
    ``logits + tau * log(prior)``, and ``predict_logit_adjust`` decides on
    ``logits - tau * log(prior)``: each divides the mass by ``prior ** tau``.
    cRT re-trains the classifier on class-balanced batches, which replaces
    the first stage's mass by equal classes (``head_resampler='sqrt'``: by
    ``sqrt(n_c)``).

    Parameters
    ----------
    params, criterion_params
        As in :func:`unknown_prior_reason`, which must return None for them.
    class_counts : ndarray of shape (n_classes,)
        Training samples per class.
    class_weight : ndarray of shape (n_classes,)
        The loss's weight of each class at the end of training.
    codes : ndarray of shape (n_samples,)
        Class code of every training sample.
    sample_weight : ndarray of shape (n_samples,), default=None

    Returns
    -------
    prior : ndarray of shape (n_classes,)
        Sums to one.
    """
    counts = np.asarray(class_counts, dtype=np.float64)
    prior = counts / counts.sum()
    weights = np.ones(len(codes)) if sample_weight is None else np.asarray(sample_weight)
    mean_weight = np.bincount(codes, weights=weights, minlength=len(counts)) / counts
    if params["head_resampler"] is not None:  # cRT: plain CE on re-balanced batches
        mass = _drawn_mass(params["head_resampler"], counts)
    else:
        mass = _drawn_mass(params["sampler"], counts)
        mass = mass * mean_weight * np.asarray(class_weight, dtype=np.float64)
        tau = 0.0  # the loss trains logits + tau * log(prior)
        if params["loss"] == "logit_adjusted":
            tau = criterion_params.get("tau", params["logit_adjust_tau"])
        elif params["loss"] == "balanced_softmax":
            tau = 1.0
        mass = mass * prior ** -float(tau)
    if params["predict_logit_adjust"] is not None:
        mass = mass * prior ** -float(params["predict_logit_adjust"])
    return mass / mass.sum()


def _drawn_mass(sampler, counts: np.ndarray) -> np.ndarray:
    """Each class's share of what ``sampler`` (or ``head_resampler``) draws, unnormalised:
    its count (``None``), ``sqrt(n_c)`` (``'sqrt'``), or equal (the re-balancing ones)."""
    return {None: counts, "sqrt": np.sqrt(counts)}.get(sampler, np.ones_like(counts))


def target_prior(proba_prior, classes: np.ndarray, class_counts: np.ndarray) -> np.ndarray:
    """The prior ``proba_prior`` names, as frequencies in ``classes`` order.

    Parameters
    ----------
    proba_prior : 'train', 'balanced', array-like or dict
        ``'train'``: the training class frequencies; ``'balanced'``: equal
        classes; an array: one positive frequency per class in ``classes``
        order; a dict: ``{label: frequency}`` for every class. Normalised to
        sum to one.
    classes, class_counts : ndarray of shape (n_classes,)

    Returns
    -------
    prior : ndarray of shape (n_classes,)
    """
    if isinstance(proba_prior, str):
        if proba_prior == "balanced":
            return np.full(len(classes), 1.0 / len(classes))
        counts = np.asarray(class_counts, dtype=np.float64)
        return counts / counts.sum()
    if isinstance(proba_prior, Mapping):
        missing = [label for label in classes.tolist() if label not in proba_prior]
        unknown = [label for label in proba_prior if label not in set(classes.tolist())]
        if missing or unknown:
            raise ValueError(
                f"proba_prior must give a frequency for every class of classes_ "
                f"{classes.tolist()!r} and no other; missing {missing!r}, unknown {unknown!r}."
            )
        proba_prior = [proba_prior[label] for label in classes.tolist()]
    prior = np.asarray(proba_prior, dtype=np.float64)
    if prior.shape != (len(classes),) or not np.all(np.isfinite(prior)) or np.any(prior <= 0):
        raise ValueError(
            f"proba_prior needs {len(classes)} positive finite frequencies, one per class in "
            f"classes_ order {classes.tolist()!r} (or a dict {{label: frequency}}); got "
            f"{np.asarray(proba_prior).tolist()!r}."
        )
    return prior / prior.sum()


def probabilities_under(
    scores: np.ndarray, decision_prior: np.ndarray, prior: np.ndarray, temperature: float = 1.0
) -> np.ndarray:
    """``softmax(scores / temperature - log decision_prior + log prior)``, row-wise."""
    logits = torch.as_tensor(scores, dtype=torch.float64) / temperature
    shift = torch.as_tensor(np.log(prior) - np.log(decision_prior), dtype=torch.float64)
    return torch.softmax(logits + shift, dim=1).numpy()


def fit_bias_temperature(
    scores: np.ndarray,
    codes: np.ndarray,
    n_classes: int,
    *,
    decision_prior: np.ndarray | None = None,
    bias_sd: float = 3.0,
    log_temperature_sd: float = 2.0,
) -> tuple[np.ndarray, float]:
    """Estimate the decision prior and a temperature from held-out scores.

    Fits ``softmax(scores / T + b + log pi)`` to the held-out labels by
    maximum likelihood, with ``pi`` the held-out class frequencies, so that
    ``softmax(scores / T + b)`` is the posterior under equal classes and
    ``exp(-b)`` (normalised) is the decision prior. Weak Gaussian priors on
    each bias and on ``log T`` (standard deviations ``bias_sd`` and
    ``log_temperature_sd``) keep the estimate finite for a class with few
    held-out samples and for a held-out set classified without error. With
    ``decision_prior`` given (known from the training settings), only the
    temperature is fitted.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes)
        Decision scores (logits) of held-out samples.
    codes : ndarray of shape (n_samples,)
        Their class codes; every class must occur where ``decision_prior``
        is not given (a class that does not only leaves the temperature's
        fit).
    n_classes : int
    decision_prior : ndarray of shape (n_classes,), default=None
        The known prior: ``b = -log(decision_prior)`` stays fixed.
    bias_sd, log_temperature_sd : float, default=3.0, 2.0

    Returns
    -------
    decision_prior : ndarray of shape (n_classes,)
    temperature : float
    """
    codes = np.asarray(codes)
    held_out = np.bincount(codes, minlength=n_classes)
    if decision_prior is None and np.any(held_out == 0):
        raise ValueError(
            f"The held-out set has no sample of class codes {np.flatnonzero(held_out == 0)}, so "
            "their bias cannot be estimated; use a stratified split with room for every class "
            "(e.g. train_split=ValidSplit(0.2, stratified=True))."
        )
    z = torch.as_tensor(scores, dtype=torch.float64)
    target = torch.as_tensor(codes, dtype=torch.int64)
    # a class the held-out set lacks (known prior only) gets no probability there
    log_pi = torch.log(torch.as_tensor(held_out / held_out.sum(), dtype=torch.float64))
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    if decision_prior is None:
        bias = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
        fitted = [log_t, bias]
    else:
        bias = -torch.log(torch.as_tensor(decision_prior, dtype=torch.float64))
        bias, bias_sd, fitted = bias - bias.mean(), np.inf, [log_t]
    optimizer = torch.optim.LBFGS(fitted, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        logits = z / log_t.exp() + bias + log_pi
        penalty = (bias**2).sum() / (2 * bias_sd**2) + log_t**2 / (2 * log_temperature_sd**2)
        loss = F.cross_entropy(logits, target, reduction="sum") + penalty
        loss.backward()
        return loss

    optimizer.step(closure)
    prior = torch.softmax(-bias.detach(), dim=0).numpy()
    return prior, float(log_t.detach().exp())
