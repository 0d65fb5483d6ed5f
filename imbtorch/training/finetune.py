"""Fine-tuning: freezing stages of the backbone, frozen BatchNorm, the backbone's learning rate.

What the backbone and its stages are: :mod:`imbtorch.networks.stages`.
Freezing and unfreezing are skorch's ``Freezer`` and ``Unfreezer`` callbacks
on the stages ``freeze`` names; frozen BatchNorm layers keep their running
statistics; ``backbone_lr`` gives the backbone's parameters their own
optimizer group (:func:`split_backbone_groups`).
"""

from __future__ import annotations

from collections.abc import Sequence

from skorch.callbacks import Freezer, Unfreezer
from torch import nn

from ..networks.stages import backbone_stages, frozen_parameter_names

BATCH_NORM_TYPES = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
    nn.LazyBatchNorm1d,
    nn.LazyBatchNorm2d,
    nn.LazyBatchNorm3d,
)


class _NamedParameters:
    """Restrict a skorch ParamMapper to the parameters ``freeze`` covers in ``net.module_``."""

    def named_parameters(self, net):
        names = set(frozen_parameter_names(net.module_, len(net.classes_), self.freeze))
        return ((n, p) for n, p in net.get_all_learnable_params() if n in names)


class BackboneFreezer(_NamedParameters, Freezer):
    """skorch's :class:`~skorch.callbacks.Freezer` on the backbone's first ``freeze`` stages."""

    def __init__(self, freeze: int | str = "backbone", at: int = 1) -> None:
        super().__init__("*", at=at)
        self.freeze = freeze


class BackboneUnfreezer(_NamedParameters, Unfreezer):
    """skorch's :class:`~skorch.callbacks.Unfreezer` on what :class:`BackboneFreezer` froze."""

    def __init__(self, freeze: int | str = "backbone", at: int = 1) -> None:
        super().__init__("*", at=at)
        self.freeze = freeze


def fine_tuning_callbacks(freeze, unfreeze_epoch: int | None) -> list[tuple[str, object]]:
    """Callbacks that freeze at the first epoch and unfreeze at ``unfreeze_epoch`` (0-based)."""
    if freeze is None:
        return []
    callbacks = [("freeze_backbone", BackboneFreezer(freeze))]
    if unfreeze_epoch is not None:
        callbacks.append(("unfreeze_backbone", BackboneUnfreezer(freeze, at=unfreeze_epoch + 1)))
    return callbacks


def is_frozen_norm(layer: nn.Module) -> bool:
    """Whether ``layer`` is a BatchNorm layer whose parameters are all frozen."""
    params = list(layer.parameters(recurse=False))
    return (
        isinstance(layer, BATCH_NORM_TYPES)
        and bool(params)
        and not any(p.requires_grad for p in params)
    )


def keep_frozen_norms_in_eval(module: nn.Module) -> None:
    """Put BatchNorm layers whose parameters are all frozen in eval mode.

    They then normalise with, and keep, their running statistics (the
    pretrained ones) instead of updating them from training batches.
    """
    for layer in module.modules():
        if is_frozen_norm(layer):
            layer.eval()


def split_backbone_groups(
    groups: Sequence[dict], backbone: set[int], backbone_lr: float
) -> list[dict]:
    """Give the backbone's parameters (by ``id``) of plain groups their own learning rate.

    Groups the user configured (``optimizer__param_groups``, any key besides
    ``params``) are kept as they are.
    """
    out = []
    for group in groups:
        if set(group) != {"params"}:
            out.append(group)
            continue
        inner = [p for p in group["params"] if id(p) in backbone]
        rest = [p for p in group["params"] if id(p) not in backbone]
        out += [{"params": inner, "lr": backbone_lr}] if inner else []
        out += [{"params": rest}] if rest else []
    return out


def backbone_parameter_ids(module: nn.Module, num_classes: int) -> set[int]:
    """``id`` of every backbone parameter of ``module``."""
    names = {name for stage in backbone_stages(module, num_classes) for name in stage}
    return {id(p) for n, p in module.named_parameters() if n in names}
