"""Mixed precision: ``torch.autocast``, and a gradient scaler with its optimizer step for fp16."""

from __future__ import annotations

from contextlib import nullcontext

import torch
from sklearn.utils._param_validation import StrOptions  # private; pinned in pyproject.toml
from skorch.utils import TeeGenerator

PRECISIONS = ("32", "bf16-mixed", "16-mixed")

#: scikit-learn parameter constraints of ``precision`` and ``channels_last``.
PRECISION_CONSTRAINTS: dict = {
    "precision": [StrOptions(set(PRECISIONS))],
    "channels_last": ["boolean"],
}
_AUTOCAST_DTYPES = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}


def _device_type(device) -> str:
    return torch.device(device).type if device is not None else "cpu"


def check_precision(precision: str, device) -> None:
    """Raise a ValueError naming the fix when ``precision`` cannot run on ``device``."""
    device_type = _device_type(device)
    if precision == "16-mixed" and device_type != "cuda":
        raise ValueError(
            f"precision='16-mixed' (float16 with a gradient scaler) needs a CUDA device, but "
            f"the device is {device_type!r}; use precision='bf16-mixed' or '32' here."
        )
    if precision == "bf16-mixed" and device_type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError(
            "precision='bf16-mixed' needs a GPU with bfloat16 support (Ampere or newer); "
            "this one has none. Use precision='16-mixed'."
        )


def autocast(precision: str, device):
    """The ``torch.autocast`` context of ``precision`` on ``device`` (none for ``'32'``)."""
    if precision == "32":
        return nullcontext()
    return torch.autocast(_device_type(device), dtype=_AUTOCAST_DTYPES[precision])


def grad_scaler(precision: str, device) -> torch.amp.GradScaler | None:
    """A gradient scaler for ``'16-mixed'`` (float16 gradients underflow without one)."""
    if precision != "16-mixed":
        return None
    return torch.amp.GradScaler(_device_type(device))


class Precision:
    """The numeric precision of a fit's steps: autocast, and for ``'16-mixed'`` a gradient
    scaler with its optimizer step.

    The estimator builds one with its optimizer (``precision_``); the training
    step asks it for autocast and the backward pass, and a checkpoint saves the
    scaler's state with it. With a scaler the step runs without skorch's
    optimizer closure (a scaler cannot step one), unscaling the gradients
    before ``on_grad_computed`` so that callbacks such as gradient clipping
    see their true values.

    Parameters
    ----------
    precision : {'32', 'bf16-mixed', '16-mixed'}
    device : torch device
    """

    def __init__(self, precision: str, device) -> None:
        self.precision = precision
        self.device = device
        self.scaler = grad_scaler(precision, device)

    def autocast(self):
        """The ``torch.autocast`` context of the forward passes."""
        return autocast(self.precision, self.device)

    def backward(self, loss: torch.Tensor) -> None:
        """``loss.backward()``, through the scaler where there is one."""
        (loss if self.scaler is None else self.scaler.scale(loss)).backward()

    def scaled_step(self, net, batch, **fit_params) -> dict:
        """The optimizer step of ``net`` on ``batch`` through the gradient scaler."""
        net.optimizer_.zero_grad()
        step = net.train_step_single(batch, **fit_params)
        self.scaler.unscale_(net.optimizer_)
        net.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(net.get_all_learnable_params()),
            batch=batch,
            training=True,
        )
        self.scaler.step(net.optimizer_)
        self.scaler.update()
        return step

    def state_dict(self) -> dict:
        """The scaler's state (its scale and growth tracker), for a checkpoint."""
        return {} if self.scaler is None else self.scaler.state_dict()

    def load_state_dict(self, state: dict) -> None:
        if self.scaler is not None:
            self.scaler.load_state_dict(state)


def as_float32(output):
    """Network output (a tensor, or a tuple of them) in float32, as losses and users expect."""
    if isinstance(output, tuple):
        return tuple(as_float32(part) for part in output)
    return output.float() if output.is_floating_point() else output
