"""Data-parallel training over torch.distributed processes, through Hugging Face ``accelerate``.

Launched with ``accelerate launch`` or ``torchrun``, every process runs the
same script and calls ``fit`` with the whole training set, so class counts,
class weights, priors, minority classes and input statistics come from all of
it. Only the batches are shared out: every process draws the same global batch
sequence (one seed, epoch by epoch, see :mod:`imbtorch.samplers`) and takes
its own contiguous slice of every batch (:class:`RankBatchSampler`). The
samples of one epoch, over all processes, are then exactly those one process
would draw: balanced batches stay balanced globally, and plain shuffling
neither repeats nor drops a sample (unlike ``DistributedSampler``, which pads).
Validation and prediction batches are shared out the same way and their
outputs gathered back in order.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from skorch.dataset import unpack_data
from skorch.utils import to_tensor
from torch.utils.data import Sampler

from ..samplers import set_epoch


class RankBatchSampler(Sampler[list[int]]):
    """Process ``rank``'s contiguous slice of every batch of ``batch_sampler``.

    Slices differ in size by at most one sample. A last batch with fewer samples
    than processes joins the batch before it, so that every process takes the
    same number of steps and none gets an empty batch.

    Parameters
    ----------
    batch_sampler : iterable of lists of indices
        The global batches; every process must iterate the same ones.
    rank, world_size : int
    """

    def __init__(self, batch_sampler, rank: int, world_size: int) -> None:
        self.batch_sampler = batch_sampler
        self.rank = int(rank)
        self.world_size = int(world_size)

    def set_epoch(self, epoch: int) -> None:
        """Pass the epoch on to the global sampler."""
        set_epoch(self.batch_sampler, epoch)

    def __len__(self) -> int:
        return len(self.batch_sampler)  # an upper bound when a small last batch is merged

    def __iter__(self) -> Iterator[list[int]]:
        pending = None
        for batch in self.batch_sampler:
            batch = list(batch)
            if pending is not None and len(batch) < self.world_size:
                pending = pending + batch
                continue
            if pending is not None:
                yield self._slice(pending)
            pending = batch
        if pending is not None:
            if len(pending) < self.world_size:
                raise ValueError(
                    f"A batch of {len(pending)} samples cannot be shared out over "
                    f"{self.world_size} processes; use a batch_size of at least {self.world_size} "
                    "and more training samples than processes."
                )
            yield self._slice(pending)

    def _slice(self, batch: list[int]) -> list[int]:
        return np.array_split(np.asarray(batch), self.world_size)[self.rank].tolist()


def gather_in_order(accelerator, tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate every process's ``tensor`` (first axis) in rank order, on every process.

    Slices of one batch may differ in length by one; they are padded for the
    collective and trimmed back.
    """
    length = torch.tensor([tensor.shape[0]], device=accelerator.device)
    lengths = accelerator.gather(length).tolist()
    padded = accelerator.pad_across_processes(tensor.contiguous(), dim=0)
    gathered = accelerator.gather(padded)
    chunk = padded.shape[0]
    parts = [gathered[r * chunk : r * chunk + n] for r, n in enumerate(lengths)]
    return torch.cat(parts)


def gather_output(accelerator, output):
    """:func:`gather_in_order` for a network output (a tensor, or a tuple of them)."""
    if isinstance(output, tuple):
        return tuple(gather_output(accelerator, part) for part in output)
    return gather_in_order(accelerator, output)


def check_accelerator(accelerator) -> None:
    """Raise a ValueError naming the fix when ``accelerator`` is not usable here."""
    if not all(hasattr(accelerator, name) for name in ("prepare_model", "gather", "device")):
        raise ValueError(
            f"accelerator must be an accelerate.Accelerator (pip install accelerate); got "
            f"{accelerator!r}."
        )
    if getattr(accelerator, "mixed_precision", "no") != "no":
        raise ValueError(
            f"The accelerator has mixed_precision={accelerator.mixed_precision!r}; imbtorch "
            "runs mixed precision itself. Create Accelerator() without mixed_precision and set "
            "precision='bf16-mixed' or '16-mixed' on the classifier."
        )


def silent(*args, **kwargs) -> None:
    """The print sink of processes other than the main one."""


class Processes:
    """The processes of a fit: one, or those of an ``accelerate.Accelerator``.

    The estimator holds one (``processes``) and asks it for the process's
    shard of every batch, the seed process 0 drew, the network a training
    step runs (``module_``, or its ``DistributedDataParallel`` wrapper from
    ``accelerator.prepare_model``, rebuilt when the set of trainable
    parameters changes: an unfrozen backbone), equal buffers after every
    training epoch, and outputs gathered from all processes in order.
    ``module_`` stays the plain network (callbacks, freezing and pickles see
    it as in one process). With one process every method is the identity.

    Parameters
    ----------
    accelerator : accelerate.Accelerator or None
    """

    def __init__(self, accelerator=None) -> None:
        self.accelerator = accelerator
        self._wrapped = None  # (module, trainable flags, DDP wrapper)

    @property
    def world_size(self) -> int:
        # getattr: fit validates the setting; until then it may be anything
        return getattr(self.accelerator, "num_processes", 1)

    @property
    def shard(self) -> tuple[int, int] | None:
        """``(rank, world_size)`` of this process in a fit over several, else None."""
        if self.world_size == 1:
            return None
        state = self.accelerator.state
        return state.process_index, state.num_processes

    @property
    def is_main(self) -> bool:
        return getattr(self.accelerator, "is_main_process", True)

    def shared_seed(self, seed: int) -> int:
        """``seed`` as process 0 drew it (processes without ``random_state`` draw apart)."""
        if self.world_size == 1:
            return seed
        from accelerate.utils import broadcast_object_list

        return int(broadcast_object_list([seed], from_process=0)[0])

    def training_network(self, module: torch.nn.Module) -> torch.nn.Module:
        """``module``, or its DDP wrapper for training steps with several processes."""
        if self.world_size == 1 or not module.training:
            return module
        trainable = tuple(p.requires_grad for p in module.parameters())
        if self._wrapped is None or self._wrapped[0] is not module or self._wrapped[1] != trainable:
            model = self.accelerator.prepare_model(module, device_placement=False)
            self._wrapped = (module, trainable, model)
        return self._wrapped[2]

    def share_buffers(self, module: torch.nn.Module) -> None:
        """Give every process ``module``'s buffers of process 0 (nothing with one process)."""
        if self.world_size == 1:
            return
        for buffer in module.buffers():
            torch.distributed.broadcast(buffer, src=0)

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` summed over the processes (itself with one), on the CPU."""
        if self.world_size == 1:
            return tensor
        total = tensor.to(self.accelerator.device)
        torch.distributed.all_reduce(total)
        return total.cpu()

    def gather_objects(self, obj) -> list:
        """``obj`` (any picklable object) of every process, in rank order; ``[obj]`` with one.

        Parameters
        ----------
        obj : object

        Returns
        -------
        list
        """
        if self.world_size == 1:
            return [obj]
        gathered = [None] * self.world_size
        torch.distributed.all_gather_object(gathered, obj)
        return gathered

    def gather(self, output):
        """A network output (a tensor, or a tuple of them) of every process, in rank order."""
        if self.world_size == 1:
            return output
        return gather_output(self.accelerator, output)

    def validation_step(self, net, batch, **fit_params) -> dict:
        """skorch's validation step on the batch gathered from all processes, which it also
        returns, ``(None, y)``, under ``'batch'``."""
        net.module_.eval()
        net.criterion_.eval()
        Xi, yi = unpack_data(batch)
        with torch.no_grad():
            y_pred = self.gather(net.infer(Xi, **fit_params))
            y_true = gather_in_order(self.accelerator, to_tensor(yi, device=net.device))
            loss = net.get_loss(y_pred, y_true, X=None, training=False)
        return {"loss": loss, "y_pred": y_pred, "batch": (None, y_true.cpu())}

    def validation_epoch(self, net, iterator, prefix: str, step_fn, **fit_params) -> None:
        """skorch's validation epoch, its batches recorded and scored over all processes."""
        batch_count = 0
        for batch in iterator:
            net.notify("on_batch_begin", batch=batch, training=False)
            step = step_fn(batch, **fit_params)
            whole = step.pop("batch")
            net.history.record_batch(prefix + "_loss", step["loss"].item())
            net.history.record_batch(prefix + "_batch_size", len(whole[1]))
            net.notify("on_batch_end", batch=whole, training=False, **step)
            batch_count += 1
        net.history.record(prefix + "_batch_count", batch_count)

    def __getstate__(self) -> dict:
        # a process group does not travel; the model does
        return {"accelerator": None, "_wrapped": None}
