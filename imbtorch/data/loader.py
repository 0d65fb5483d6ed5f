"""DataLoader settings that suit the source and the device."""

from __future__ import annotations

import multiprocessing
import os

import torch
from torch.utils.data import Dataset

from .dataset import root_dataset

#: Most worker processes a decoding source gets by default.
MAX_DEFAULT_WORKERS = 8


def available_cpus() -> int:
    """CPUs this process may run on (its affinity where the OS tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def decoding_workers(overrides: dict | None = None) -> int:
    """Worker processes for decoding: ``overrides['num_workers']``, else one per CPU (at most 8).

    ``overrides`` are the estimator's ``iterator_train__*`` or
    ``iterator_valid__*`` parameters, so that a user who sets
    ``num_workers=0`` gets no worker process anywhere (header scan and
    statistics included). A daemonic process (a Dask worker, by default)
    may not start processes, so it decodes in the process by default.
    """
    if overrides and "num_workers" in overrides:
        check_workers_allowed(overrides["num_workers"])
        return overrides["num_workers"]
    if multiprocessing.current_process().daemon:
        return 0
    return min(MAX_DEFAULT_WORKERS, available_cpus())


def check_workers_allowed(num_workers: int) -> None:
    """Raise a ValueError naming the fix when this process may not start ``num_workers``."""
    if num_workers > 0 and multiprocessing.current_process().daemon:
        raise ValueError(
            f"num_workers={num_workers} loader workers were asked for, but this is a daemonic "
            "process (a Dask worker by default), which may not start processes. Set "
            "iterator_train__num_workers=0 and iterator_valid__num_workers=0, or start the "
            "Dask workers as non-daemonic (dask config distributed.worker.daemon=False, e.g. "
            "the environment variable DASK_DISTRIBUTED__WORKER__DAEMON=False)."
        )


def default_workers(source) -> int:
    """Worker processes for reading ``source``: one per CPU (at most 8) if it decodes, else 0."""
    return decoding_workers() if getattr(source, "decodes", False) else 0


def loader_defaults(dataset: Dataset, device) -> dict:
    """``num_workers``, ``pin_memory`` and ``persistent_workers`` for a DataLoader.

    Sources that decode images (files, most Datasets) get one worker process
    per available CPU, up to :data:`MAX_DEFAULT_WORKERS`, kept alive across
    epochs; in-memory arrays are read in the main process (a worker would
    only copy what is already in memory). Batches are pinned for a CUDA
    device, so that the copy to it can overlap computation. The
    estimators' ``iterator_train__*`` / ``iterator_valid__*`` parameters
    override each of these.

    Parameters
    ----------
    dataset : ImageDataset or Subset of one
    device : torch device, str or None

    Returns
    -------
    dict
    """
    workers = default_workers(getattr(root_dataset(dataset), "source", None))
    cuda = device is not None and torch.device(device).type == "cuda"
    return {
        "num_workers": workers,
        "pin_memory": cuda,
        "persistent_workers": workers > 0,
    }


def loader_kwargs(dataset: Dataset, device, overrides: dict) -> dict:
    """:func:`loader_defaults` updated with the user's ``overrides``.

    Unless set, ``persistent_workers`` follows the final ``num_workers``
    (torch refuses persistent workers without workers).
    """
    kwargs = {**loader_defaults(dataset, device), **overrides}
    check_workers_allowed(kwargs.get("num_workers", 0))
    if "persistent_workers" not in overrides:
        kwargs["persistent_workers"] = kwargs.get("num_workers", 0) > 0
    return kwargs
