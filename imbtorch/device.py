"""The ``device`` hyperparameter: 'auto' picks CUDA when there is one."""

from __future__ import annotations

import torch


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
