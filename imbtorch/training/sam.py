"""Sharpness-aware minimisation as the optimizer step of a skorch net.

SAM (Foret et al., "Sharpness-Aware Minimization for Efficiently Improving
Generalization", ICLR 2021) takes the gradient at the worst point of a small
neighbourhood, ``w + rho * g / ||g||``, and applies it at ``w``. On long-
tailed data it flattens the loss landscape of the tail classes, where plain
training converges to sharp minima (Rangwani et al., "Escaping Saddle Points
for Effective Generalization on Class-Imbalanced Data", NeurIPS 2022).

Every pass sees the same batch: the same minority augmentation, mixing and
dropout (the random number generators are set back before each further
pass), and BatchNorm layers update their running statistics in the first
pass only. Gradient clipping callbacks see the final gradients
(``on_grad_computed``), as in skorch's own step. Under several processes
both passes' gradients are averaged over the processes by DDP, so every
process perturbs and steps alike.

ImbSAM (Zhou et al., "ImbSAM: A Closer Look at Sharpness-Aware Minimization
in Class-Imbalanced Recognition", ICCV 2023) seeks flat minima for the tail
classes only: the loss splits into the head classes' part, whose gradient
is taken at ``w``, and the tail classes' part, whose gradient is taken at
``w + rho * g_tail / ||g_tail||``; the step applies their sum. It costs a
third pass.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext

import torch
from skorch.utils import TeeGenerator
from torch import nn

from ..losses.single_label import counting_classes
from .finetune import BATCH_NORM_TYPES


def _rng_state(device) -> tuple:
    cuda = torch.device(device).type == "cuda" if device is not None else False
    return torch.random.get_rng_state(), torch.cuda.get_rng_state(device) if cuda else None


def _set_rng_state(state: tuple, device) -> None:
    torch.random.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)


@contextmanager
def _running_stats_frozen(module: nn.Module):
    """BatchNorm layers normalise with the batch but leave their running statistics alone."""
    norms = [m for m in module.modules() if isinstance(m, BATCH_NORM_TYPES)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum


def _counting(net, class_mask: torch.Tensor | None):
    return nullcontext() if class_mask is None else counting_classes(net.criterion_, class_mask)


def sam_step(net, batch, rho: float, tail: torch.Tensor | None = None, **fit_params) -> dict:
    """One SAM step of ``net``: the gradient at ``w + rho * g / ||g||``, applied at ``w``.

    Parameters
    ----------
    net : initialised skorch net
        Its ``train_step_single`` computes the loss and backpropagates.
    batch
        The batch as the loader gives it.
    rho : float
        Radius of the neighbourhood.
    tail : Tensor of shape (n_classes,), default=None
        ImbSAM: 1 for the tail classes, whose loss alone is perturbed; the
        head's gradient is taken at ``w``. ``None``: SAM on the whole loss.
    **fit_params
        Passed on to ``train_step_single``.

    Returns
    -------
    step : dict
        The first pass's ``y_pred`` (at ``w``) and the loss at ``w``.
    """
    params = [p for _, p in net.get_all_learnable_params() if p.requires_grad]
    state = _rng_state(net.device)
    net.optimizer_.zero_grad()
    with _counting(net, tail):
        step = net.train_step_single(batch, **fit_params)
    head_grads = None
    if tail is not None:  # the head's gradient at w, kept for the step
        grads = [None if p.grad is None else p.grad.clone() for p in params]
        _set_rng_state(state, net.device)
        net.optimizer_.zero_grad()
        with _running_stats_frozen(net.module_), _counting(net, 1 - tail):
            head = net.train_step_single(batch, **fit_params)
        head_grads = [p.grad for p in params]
        for p, grad in zip(params, grads, strict=True):
            p.grad = grad
        step = {**step, "loss": step["loss"] + head["loss"]}
    grads = [p.grad for p in params if p.grad is not None]
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    scale = rho / (norm + 1e-12)
    shifts = []
    with torch.no_grad():
        for p in params:
            shift = None if p.grad is None else p.grad * scale
            if shift is not None:
                p.add_(shift)
            shifts.append(shift)
    _set_rng_state(state, net.device)
    net.optimizer_.zero_grad()
    with _running_stats_frozen(net.module_), _counting(net, tail):
        net.train_step_single(batch, **fit_params)
    with torch.no_grad():
        for p, shift in zip(params, shifts, strict=True):
            if shift is not None:
                p.sub_(shift)
    if head_grads is not None:  # ImbSAM: the head's part of the gradient, taken at w
        for p, head_grad in zip(params, head_grads, strict=True):
            if head_grad is not None:
                p.grad = head_grad if p.grad is None else p.grad + head_grad
    net.notify(
        "on_grad_computed",
        named_parameters=TeeGenerator(net.get_all_learnable_params()),
        batch=batch,
        training=True,
    )
    net.optimizer_.step()
    return step
