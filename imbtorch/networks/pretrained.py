"""Pretrained weights for a backbone: torchvision and timm weight names, or a local file.

A network is built with one output per class, then every weight but the
classification head's is loaded; the head keeps its fresh initialisation.
Keys that do not line up (beyond the head) are an error that lists them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

#: Input statistics of ImageNet-trained weights (torchvision's and timm's defaults).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Keys under which checkpoints commonly keep the model's state_dict.
CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model", "module", "net")
_SHOWN_KEYS = 8


def is_local_weights(weights) -> bool:
    """Whether ``weights`` is a file (or a state_dict read from one), not a published name."""
    if isinstance(weights, (os.PathLike, Mapping)):
        return True
    return isinstance(weights, str) and (
        os.sep in weights or "/" in weights or Path(weights).suffix != "" or os.path.exists(weights)
    )


def load_weights_file(path) -> dict[str, torch.Tensor]:
    """The ``state_dict`` in ``path``: saved directly, or inside a checkpoint dict.

    ``.safetensors`` files are read with safetensors; other files with
    ``torch.load(weights_only=True)``. A checkpoint's state_dict is found
    under one of :data:`CHECKPOINT_KEYS`, and a ``module.`` prefix on every
    key (DistributedDataParallel's) is dropped.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"backbone_weights={str(path)!r} is not a file. Pass the path of a saved "
            "state_dict (torch.save(model.state_dict(), path)), or a weights name."
        )
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"Cannot read the weights file {str(path)!r}: {type(exc).__name__}: {exc}. Save "
            "weights with torch.save(model.state_dict(), path)."
        ) from exc
    if isinstance(state, Mapping):
        for key in CHECKPOINT_KEYS:
            if isinstance(state.get(key), Mapping):
                state = state[key]
                break
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise ValueError(
            f"The weights file {str(path)!r} holds no state_dict (a dict of tensors, or a "
            f"checkpoint with one under {CHECKPOINT_KEYS}); save model.state_dict()."
        )
    if state and all(key.startswith("module.") for key in state):
        state = {key.removeprefix("module."): value for key, value in state.items()}
    return dict(state)


def load_backbone_weights(
    model: nn.Module, state: Mapping[str, torch.Tensor], *, head: str, source: str
) -> None:
    """Load ``state`` into ``model``, all but the classification head ``head`` (a module name).

    Raises
    ------
    ValueError
        Listing the keys missing from ``state``, the unexpected ones and those
        of another shape (the head's aside).
    """

    def in_head(key: str) -> bool:
        return key.startswith(f"{head}.")

    own = model.state_dict()
    state = {key: value for key, value in state.items() if not in_head(key)}
    problems = {
        "missing": [key for key in own if key not in state and not in_head(key)],
        "unexpected": [key for key in state if key not in own],
        "of another shape": [
            f"{key} {tuple(state[key].shape)} != {tuple(own[key].shape)}"
            for key in state
            if key in own and state[key].shape != own[key].shape
        ],
    }
    found = {kind: keys for kind, keys in problems.items() if keys}
    if found:
        listed = "; ".join(
            f"{len(keys)} {kind}: {', '.join(keys[:_SHOWN_KEYS])}"
            + (", ..." if len(keys) > _SHOWN_KEYS else "")
            for kind, keys in found.items()
        )
        raise ValueError(
            f"The weights in {source} do not fit {type(model).__name__} beyond its head "
            f"{head!r}: {listed}. Use the backbone the weights were saved from (and its "
            "module__ settings)."
        )
    model.load_state_dict(state, strict=False)


def head_outputs(state: dict) -> int:
    """Outputs of the last 2-D weight in a state_dict: the classes of the saved head."""
    matrices = [v for k, v in state.items() if k.endswith("weight") and v.ndim == 2]
    if not matrices:
        raise ValueError(
            "The weights file holds no 2-D weight matrix, so it has no linear classifier to "
            "build the backbone with; save the state_dict of the whole network."
        )
    return int(matrices[-1].shape[0])


def fitted_trunk(weights) -> tuple[dict, tuple] | None:
    """The trunk's ``state_dict`` and input ``(mean, std)`` of a fitted
    :class:`~imbtorch.ImageEmbedder` given as ``backbone_weights``; None for other weights."""
    if not hasattr(weights, "backbone_state_dict"):
        return None
    if not hasattr(weights, "trunk_"):
        raise ValueError(
            "backbone_weights is an ImageEmbedder that is not fitted (scikit-learn's clone, "
            "as in GridSearchCV or cross_validate, passes on estimators unfitted); fit it "
            "first, or pass the file its save_weights(path) wrote."
        )
    statistics = tuple(weights.channel_mean_), tuple(weights.channel_std_)
    return weights.backbone_state_dict(), statistics


def load_local_weights(model: nn.Module, weights, *, head: str) -> None:
    """Load a weights file, or a state_dict already read from one, into ``model`` but its head."""
    if isinstance(weights, Mapping):
        state, source = weights, "the given state_dict"
    else:
        state, source = load_weights_file(weights), f"the file {str(weights)!r}"
    load_backbone_weights(model, state, head=head, source=source)


def torchvision_weights(model_name: str, weights_name: str):
    """torchvision's weights enum member ``weights_name`` (or ``'DEFAULT'``) of ``model_name``."""
    from torchvision.models import get_model_weights

    available = get_model_weights(model_name)
    try:
        return available[weights_name]
    except KeyError:
        names = ["DEFAULT", *(w.name for w in available)]
        raise ValueError(
            f"backbone_weights={weights_name!r} is not a set of weights of {model_name!r}; "
            f"torchvision has {names}. A path to a weights file works too."
        ) from None


def torchvision_state_dict(weights) -> dict[str, torch.Tensor]:
    """The state_dict of torchvision ``weights``: from torch's cache, else downloaded."""
    url = weights.url
    cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)
    try:
        return weights.get_state_dict(progress=False)
    except OSError as exc:  # URLError, HTTPError, no route to the host
        raise OSError(
            f"Cannot download the {type(weights).__name__}.{weights.name} weights from {url} "
            f"({type(exc).__name__}: {exc}). Without network, put that file at {cached} "
            "(torch's cache; TORCH_HOME moves it), or pass its local path as "
            "backbone_weights."
        ) from exc


def timm_pretrained_model(name: str, **kwargs) -> nn.Module:
    """``timm.create_model(name, pretrained=True, ...)``; offline, an error that says what to do."""
    import timm

    try:
        return timm.create_model(name, pretrained=True, **kwargs)
    except (OSError, RuntimeError) as exc:  # huggingface_hub's offline errors are OSErrors
        raise OSError(
            f"Cannot load timm's pretrained weights of {name!r} ({type(exc).__name__}: {exc}). "
            f"Without network, run timm.create_model({name!r}, pretrained=True) once where "
            "there is one and copy its Hugging Face cache (HF_HOME), or pass the path of the "
            "weights file as backbone_weights."
        ) from exc
