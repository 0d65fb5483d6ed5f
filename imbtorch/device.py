"""The ``device`` hyperparameter ('auto' picks CUDA when there is one), and seeded torch RNGs."""

from __future__ import annotations

from contextlib import contextmanager

import torch
from sklearn.utils import check_random_state

from .samplers import MAX_SEED


def resolve_device(device: str | torch.device | None) -> str | torch.device | None:
    """Return ``'cuda'`` or ``'cpu'`` for ``'auto'``; any other setting as it is."""
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def check_device(device: str | torch.device | None) -> None:
    """Raise a ValueError naming the fix when ``device`` cannot be used here.

    ``None`` (skorch: leave tensors where they are), ``'auto'``, and devices
    torch can parse pass; CUDA devices only when CUDA is available.
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or a torch.device; got {device!r}."
        ) from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but CUDA is not available on this machine. "
            "Use device='auto' to run on the GPU when there is one and on the CPU otherwise."
        )


@contextmanager
def seeded_torch(random_state, device, *, offset: int = 0):
    """Seed torch from ``random_state`` (plus ``offset``), restoring the global RNG afterwards.

    With ``random_state=None`` torch's global RNG is used as it is, so that
    ``torch.manual_seed`` before ``fit`` still makes a fit repeatable. The
    CUDA RNG of ``device`` is forked and seeded too.
    """
    if random_state is None:
        yield
        return
    seed = (check_random_state(random_state).randint(MAX_SEED) + offset) % MAX_SEED
    cuda = device is not None and torch.device(device).type == "cuda"
    devices = [torch.device(device).index or 0] if cuda else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
