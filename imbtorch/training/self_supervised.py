"""Self-supervised pretraining of a trunk on images without labels, with lightly.

:func:`pretrain_trunk` trains a network's trunk (the backbone without its
classification layer) so that two augmented views of one image map to
nearby features:

- ``'simclr'`` (Chen et al. 2020): lightly's ``SimCLRProjectionHead`` and
  ``NTXentLoss``, the other images of the batch as negatives;
- ``'sdclr'`` (Jiang et al. 2021, self-damaging contrastive learning), aware
  of imbalance: SimCLR whose second view goes through the trunk with 90% of
  each layer's weights pruned by magnitude (masks renewed every epoch); the
  images the pruned trunk forgets, mostly of rare classes, weigh more;
- ``'byol'`` (Grill et al. 2020), non-contrastive: lightly's
  ``BYOLProjectionHead`` / ``BYOLPredictionHead``, a momentum copy of the
  trunk and projection as target (``update_momentum`` on lightly's
  ``cosine_schedule``), and ``NegativeCosineSimilarity``.

The views are lightly's ``SimCLRTransform`` / ``BYOLTransform`` for the
images' size, without flips (they change the meaning of digits and text),
with crops of at least a quarter of the image (small images have few
pixels to spare) and the blur's width scaled to the image, applied in the
loader's workers. Adam (1e-3) trains the trunk and heads; the state after
every epoch can be saved and resumed, and the training shared out over the
processes of an ``accelerate.Accelerator``. lightly is an optional
dependency (``pip install imbtorch[self-supervised]``);
:class:`~imbtorch.ImageEmbedder` (``self_supervised=``) is the way in.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch
from sklearn.utils import check_random_state
from torch import nn
from tqdm.auto import tqdm

from ..data.loader import decoding_workers, loader_kwargs
from ..data.unlabeled import TwoViews
from ..device import seeded_torch
from ..networks.backbones import build_backbone
from ..networks.layers import split_classifier
from ..samplers import MAX_SEED, make_batch_sampler
from .distributed import Processes, RankBatchSampler
from .loaders import EpochLoader, worker_base_seed
from .precision import autocast, grad_scaler
from .resume import (
    latest_state_folder,
    load_owner_states,
    owner_states,
    process_states,
    read_state,
    rng_states,
    set_rng_states,
    write_state_folder,
)

__all__ = [
    "SELF_SUPERVISED_METHODS",
    "SelfSupervisedModel",
    "pretrain_trunk",
    "train_backbone",
    "view_transforms",
]

#: The methods of :func:`pretrain_trunk`.
SELF_SUPERVISED_METHODS = ("simclr", "byol", "sdclr")
#: The share of each trunk layer's weights SDCLR's pruned branch drops (its paper's 90%).
SDCLR_PRUNED = 0.9
#: The smallest share of the image a view's crop keeps.
MIN_CROP_SCALE = 0.25
_LR = 1e-3  # Adam's, for the trunk and the heads
_STATE = "pretraining.pt"


def _lightly(what: str):
    try:
        import lightly  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{what} uses lightly's losses, heads and augmentations; install it with "
            "pip install lightly (or imbtorch[self-supervised])."
        ) from exc


def view_transforms(method: str, image_size: tuple[int, int]) -> tuple[Callable, Callable]:
    """lightly's two view transforms of ``method``, taking a float ``(C, H, W)`` image in [0, 1]."""
    _lightly(f"self_supervised={method!r}")
    from lightly.transforms import BYOLTransform, SimCLRTransform
    from lightly.transforms.byol_transform import BYOLView1Transform, BYOLView2Transform
    from torchvision.transforms import v2

    # SimCLR's blur is for 224-pixel images (sigma 0.1 to 2): scaled to the images' size, it
    # fades out for small ones, as SimCLR's own recipe for 32-pixel images leaves it out
    scale = min(image_size) / 224
    common = dict(
        input_size=tuple(image_size),
        hf_prob=0.0,
        min_scale=MIN_CROP_SCALE,
        sigmas=(0.1 * scale, 2.0 * scale),
    )
    if method == "simclr":
        pair = SimCLRTransform(**common, normalize=None)
    else:
        pair = BYOLTransform(
            BYOLView1Transform(**common, normalize=None),
            BYOLView2Transform(**common, normalize=None),
        )
    to_pil = v2.ToPILImage()
    return tuple(_ThroughPil(to_pil, view) for view in pair.transforms)


class _ThroughPil:
    """A PIL transform (lightly's views end with ``ToTensor``) on a float tensor image."""

    def __init__(self, to_pil, transform) -> None:
        self.to_pil, self.transform = to_pil, transform

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        with warnings.catch_warnings():  # lightly's ToTensor is deprecated in torchvision
            warnings.filterwarnings("ignore", "The function `to_tensor", UserWarning)
            return self.transform(self.to_pil(image))


class SelfSupervisedModel(nn.Module):
    """A trunk with lightly's heads of ``method``; :meth:`loss` of two batches of views."""

    def __init__(
        self, trunk: nn.Module, embedding_dim: int, method: str, mean, std, *, gather=False
    ) -> None:
        super().__init__()
        _lightly(f"self_supervised={method!r}")
        from lightly.loss import NegativeCosineSimilarity, NTXentLoss
        from lightly.models.modules import (
            BYOLPredictionHead,
            BYOLProjectionHead,
            SimCLRProjectionHead,
        )
        from lightly.models.utils import deactivate_requires_grad

        self.method, self.trunk = method, trunk
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        hidden = max(2 * embedding_dim, 128)
        if method in ("simclr", "sdclr"):
            self.projection = SimCLRProjectionHead(embedding_dim, hidden, 128)
            # over several processes, every process's views are negatives of the others'
            self.criterion = NTXentLoss(temperature=0.5, gather_distributed=gather)
        else:
            self.projection = BYOLProjectionHead(embedding_dim, hidden, 128)
            self.prediction = BYOLPredictionHead(128, hidden, 128)
            self.trunk_momentum = copy.deepcopy(trunk)
            self.projection_momentum = copy.deepcopy(self.projection)
            deactivate_requires_grad(self.trunk_momentum)
            deactivate_requires_grad(self.projection_momentum)
            self.criterion = NegativeCosineSimilarity()

    def _standardised(self, views: torch.Tensor) -> torch.Tensor:
        views = views.expand(-1, self.mean.shape[1], -1, -1)  # grey views of RGB statistics
        return (views - self.mean) / self.std

    def forward(self, view0: torch.Tensor, view1: torch.Tensor) -> torch.Tensor:
        """The loss of two batches of views (a forward pass, so that DDP can wrap it)."""
        return self.loss(view0, view1)

    def loss(self, view0: torch.Tensor, view1: torch.Tensor) -> torch.Tensor:
        x0, x1 = self._standardised(view0), self._standardised(view1)
        if self.method == "simclr":
            return self.criterion(self.projection(self.trunk(x0)), self.projection(self.trunk(x1)))
        if self.method == "sdclr":  # the second view through the pruned trunk
            masked = {
                name: parameter * self._masks[name] if name in self._masks else parameter
                for name, parameter in self.trunk.named_parameters()
            }
            pruned = torch.func.functional_call(self.trunk, masked, (x1,))
            return self.criterion(self.projection(self.trunk(x0)), self.projection(pruned))
        p0 = self.prediction(self.projection(self.trunk(x0)))
        p1 = self.prediction(self.projection(self.trunk(x1)))
        with torch.no_grad():
            z0 = self.projection_momentum(self.trunk_momentum(x0))
            z1 = self.projection_momentum(self.trunk_momentum(x1))
        return 0.5 * (self.criterion(p0, z1) + self.criterion(p1, z0))

    def before_epoch(self) -> None:
        """SDCLR's pruning masks, from the weights as the epoch begins (else nothing)."""
        if self.method != "sdclr":
            return
        self._masks = {}
        with torch.no_grad():
            for name, weight in self.trunk.named_parameters():
                if weight.ndim > 1:  # convolution and linear weights, layer by layer
                    cut = weight.abs().flatten().kthvalue(int(SDCLR_PRUNED * weight.numel()))
                    self._masks[name] = (weight.abs() > cut.values).to(weight.dtype)

    def after_step(self, step: int, steps: int) -> None:
        """BYOL's momentum update of its target networks, after ``step`` of ``steps``."""
        if self.method != "byol":
            return
        from lightly.models.utils import update_momentum
        from lightly.utils.scheduler import cosine_schedule

        momentum = cosine_schedule(step, steps, 0.99, 1.0)
        update_momentum(self.trunk, self.trunk_momentum, m=momentum)
        update_momentum(self.projection, self.projection_momentum, m=momentum)


def train_backbone(
    backbone, *, weights, module_kwargs: dict, source, random_state, device, **settings
) -> tuple[nn.Module, list[float]]:
    """Build ``backbone`` for ``source``'s images, split off its classifier, and train the
    trunk with :func:`pretrain_trunk` (``settings``); the trunk and its epochs' losses.

    The backbone's first weights, the heads' and the training draw from
    ``random_state``: a seeded run is reproducible.
    """
    channels = len(settings["mean"])
    with seeded_torch(random_state, device):  # first weights, then heads
        network = build_backbone(
            backbone, in_channels=channels, num_classes=2, weights=weights, **module_kwargs
        )
        trunk = split_classifier(network, 2)[0]
        with torch.no_grad():
            shape = (1, channels, *source.image_shape[1:])
            dim = int(trunk.eval()(torch.zeros(shape)).shape[1])
        seed = int(check_random_state(random_state).randint(MAX_SEED))
        seed = Processes(settings.get("accelerator")).shared_seed(seed)  # process 0's
        losses = pretrain_trunk(
            trunk.to(device), source, embedding_dim=dim, device=device, seed=seed, **settings
        )
    return trunk, losses


def pretrain_trunk(
    trunk: nn.Module,
    source,
    *,
    method: str,
    embedding_dim: int,
    mean,
    std,
    epochs: int,
    batch_size: int,
    device,
    seed: int,
    num_workers: int | None = None,
    precision: str = "32",
    progress: bool = False,
    checkpoint_dir=None,
    resume: bool = False,
    accelerator=None,
) -> list[float]:
    """Train ``trunk`` in place on the images of ``source`` with ``method``; the epochs' losses.

    Each epoch draws its order and its workers' seeds from ``seed`` and the
    epoch (:class:`~imbtorch.training.loaders.EpochLoader`); the heads'
    first weights come from torch's generator, which the caller seeds.
    ``num_workers`` None starts a worker per CPU (at most 8), for arrays too,
    since the views are made there; ``precision`` is the estimators' (autocast,
    and a gradient scaler for float16); ``progress`` shows a tqdm bar of the
    epochs with the last epoch's loss. With ``checkpoint_dir``, the state after
    every epoch (trunk, heads, optimizer, scaler, losses, generators) is saved
    there (:func:`~imbtorch.training.resume.write_state_folder`); ``resume``
    continues from the newest one, to the weights an uninterrupted run ends with.
    With an ``accelerate.Accelerator`` of several processes, each takes its
    slice of every batch (:class:`~imbtorch.training.distributed.RankBatchSampler`),
    the gradients are averaged (DDP), BatchNorm's statistics are process 0's
    after every epoch, and the losses are the processes' mean.
    """
    view0, view1 = view_transforms(method, source.image_shape[1:])
    processes = Processes(accelerator)
    gather = processes.world_size > 1
    model = SelfSupervisedModel(trunk, embedding_dim, method, mean, std, gather=gather).to(device)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=_LR)
    dataset = TwoViews(source, view0, view1)
    scaler = grad_scaler(precision, device)
    owners = {"model": model, "optimizer": optimizer, "scaler": scaler}
    data = {"images": len(source), "image_shape": list(source.image_shape), "method": method}
    numpy_state = np.random.get_state()  # noqa: NPY002 - lightly draws from numpy's generator
    losses = []
    if resume:  # the saved run's seed: its batches and views go on, seeded or not
        losses, seed = _resumed(owners, data, checkpoint_dir, processes, seed)
    batches = make_batch_sampler(
        None,
        np.zeros(len(dataset), dtype=np.int64),
        batch_size=batch_size,
        seed=seed,
        drop_last=len(dataset) >= 2 * batch_size,  # a batch of one breaks BatchNorm
        n_epochs=epochs,
        first_epoch=len(losses),
    )
    if processes.shard is not None:
        batches = RankBatchSampler(batches, *processes.shard)
    # lightly's views cost milliseconds an image: workers make them even for arrays
    overrides = {"num_workers": decoding_workers() if num_workers is None else num_workers}
    if checkpoint_dir is not None:  # new workers each epoch, seeded as a resumed epoch's are
        overrides["persistent_workers"] = False
    loader = EpochLoader(
        dataset,
        batch_sampler=batches,
        seed=seed,
        first_epoch=len(losses),
        **loader_kwargs(dataset, device, overrides),
    )
    steps = epochs * len(loader)
    step = partial(_train_epoch, model, processes, loader, optimizer, scaler, precision, device)
    bar = tqdm(range(len(losses), epochs), desc=f"self-supervised ({method})", disable=not progress)
    try:
        for epoch in bar:
            if loader.num_workers == 0:  # workers seed numpy from the epoch's seed themselves
                np.random.seed(worker_base_seed(seed, epoch) % 2**32)  # noqa: NPY002
            losses.append(step(epoch * len(loader), steps))
            processes.share_buffers(model)  # BatchNorm's statistics: process 0's
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
            if checkpoint_dir is not None:  # process 0 writes, with every process's generators
                _save(owners, data, losses, checkpoint_dir, processes, seed)
    finally:
        np.random.set_state(numpy_state)  # noqa: NPY002
    trunk.eval()
    return losses


def _train_epoch(
    model, processes, loader, optimizer, scaler, precision: str, device, done: int, steps: int
) -> float:
    """One epoch of ``model``'s loss steps, after ``done`` of ``steps``; its mean loss over
    the processes."""
    model.train()
    model.before_epoch()
    network = processes.training_network(model)  # DDP's wrapper with several processes
    total = []
    for views, _ in loader:
        views = views.to(device, non_blocking=True)
        with autocast(precision, device):
            loss = network(views[:, 0], views[:, 1])
        optimizer.zero_grad(set_to_none=True)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:  # float16: gradients scaled against underflow
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        total.append(loss.item())
        model.after_step(done + len(total), steps)
    mean = processes.sum(torch.tensor(float(np.mean(total)))) / processes.world_size
    return float(mean)


def _save(owners: dict, data: dict, losses: list, checkpoint_dir, processes, seed: int) -> None:
    """Process 0 writes the state, with the run's seed and every process's generators."""
    own = process_states(processes, {"rng": rng_states()})
    if own is None:
        return

    def write(folder: Path) -> None:
        state = {"owners": owner_states(owners), "data": data, "losses": losses, "seed": seed}
        state.update(own)
        torch.save(state, folder / _STATE)

    write_state_folder(checkpoint_dir, len(losses), write)


def _resumed(owners: dict, data: dict, checkpoint_dir, processes, seed: int):
    """Load the newest state in ``checkpoint_dir`` into the owners; the losses of its epochs
    and its run's seed (``[]`` and ``seed`` where there is none)."""
    folder = latest_state_folder(checkpoint_dir)
    if folder is None:
        return [], seed
    state = read_state(
        folder / _STATE,
        data,
        processes=processes,
        what="self-supervised state",
        saved_for="for other images or another method",
        fix="Resume with the same images and self_supervised",
    )
    load_owner_states(owners, state["owners"])
    set_rng_states(state["rng"])
    return list(state["losses"]), int(state["seed"])
