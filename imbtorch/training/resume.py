"""Resumable fits: the whole training state after every epoch, and a fit that continues from it.

After every epoch, :func:`save_training_state` writes into ``checkpoint_dir``
what the next epoch depends on: the network, optimizer and criterion (skorch's
``save_params``), the history, the state of every callback (early stopping's
counters and best weights, learning-rate schedules, ...), the random number
generators (torch, CUDA, numpy, Python), and the ``state_dict`` of every other
owner of training state the net names (the schedule's seed, the gradient
scaler). This module knows none of them: each owner says what its state is.
Each epoch goes to its own folder, and ``last.json`` points to the newest
complete one only once it is written, so a fit killed while saving resumes from
the epoch before; folders no pointer names are removed. In a fit over several
processes, process 0 writes the state (the network and optimizer are the same
on every process) with each process's generators and callbacks, which each
process takes back on resume. :class:`TrainingCheckpoint`
does this for one fit of :class:`~imbtorch.BalancedImageClassifier` (its
``checkpoint_dir`` and ``resume`` parameters): ``fit`` loads the newest state
and trains the epochs that remain up to ``max_epochs``, ending with the
weights an uninterrupted fit ends with.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

#: File in ``checkpoint_dir`` naming the folder of the newest complete training state.
POINTER = "last.json"
_STATE = "training.pt"
_PARAMS = {
    "f_params": "params.pt",
    "f_optimizer": "optimizer.pt",
    "f_criterion": "criterion.pt",
    "f_history": "history.json",
}


def rng_states() -> dict:
    """The random number generators' states: torch, CUDA, numpy's global one, Python's."""
    return {
        "torch": torch.random.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
        "numpy": np.random.get_state(),  # noqa: NPY002 - the global RNG user code may draw from
        "python": random.getstate(),
    }


def set_rng_states(states: dict) -> None:
    """Set the generators as :func:`rng_states` read them."""
    torch.random.set_rng_state(states["torch"])
    if states["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    np.random.set_state(states["numpy"])  # noqa: NPY002
    random.setstate(states["python"])


def _callback_states(net) -> dict:
    """Fitted attributes (``name_``) of every callback; objects with a state_dict by it.

    Attributes that cannot be pickled (an open progress bar) are display
    state and start afresh; datasets (the validation split's parts) are the
    data, which the resumed fit is given again.
    """
    states = {}
    for name, callback in net.callbacks_:
        state = {}
        for key, value in vars(callback).items():
            if not key.endswith("_") or key.startswith("_"):
                continue
            if isinstance(value, type):  # a class the callback instantiates (a policy)
                continue
            if isinstance(value, torch.utils.data.Dataset):  # data the resumed fit is given
                continue
            if hasattr(value, "state_dict") and hasattr(value, "load_state_dict"):
                state[key] = ("state_dict", value.state_dict())
                continue
            try:
                pickle.dumps(value)
            except Exception:  # noqa: BLE001 - progress bars and other display objects
                continue
            state[key] = ("value", value)
        states[name] = state
    return states


def _set_callback_states(net, states: dict) -> None:
    callbacks = dict(net.callbacks_)
    for name, state in states.items():
        callback = callbacks.get(name)
        if callback is None:  # not part of this fit any more
            continue
        for key, (kind, value) in state.items():
            if kind == "state_dict":
                getattr(callback, key).load_state_dict(value)
            else:
                setattr(callback, key, value)


def data_fingerprint(class_counts: np.ndarray, classes: np.ndarray) -> dict:
    """What a resumed fit checks its data against: the classes and their counts."""
    return {"classes": [repr(c) for c in classes], "class_counts": [int(n) for n in class_counts]}


def owner_states(owners: dict) -> dict:
    """The ``state_dict`` of each owner of ``owners`` (those that are not None).

    Parameters
    ----------
    owners : dict of name -> object with ``state_dict``, or None

    Returns
    -------
    dict of name -> state
    """
    return {name: owner.state_dict() for name, owner in owners.items() if owner is not None}


def save_training_state(net, dirname, *, owners: dict, data: dict) -> Path | None:
    """Write the state after the last epoch of ``net.history`` to ``dirname``; return its folder
    (None on a process other than 0, which only hands its own state over).

    Parameters
    ----------
    net : initialised skorch net
    dirname : str or path
    owners : dict of name -> object with ``state_dict()``, or None
        The other owners of training state (None: none this fit).
    data : dict
        :func:`data_fingerprint` of the training data.
    """
    epochs = len(net.history)
    processes = net.processes
    own = {"rng": rng_states(), "callbacks": _callback_states(net)}
    if processes.world_size > 1:  # each process records its own training losses
        own["history"] = list(net.history)
    own = process_states(processes, own)
    if own is None:  # process 0 writes every process's state
        return None

    def write(folder: Path) -> None:
        net.save_params(**{key: folder / name for key, name in _PARAMS.items()})
        state = {"epochs": epochs, "data": data, **own, "owners": owner_states(owners)}
        torch.save(state, folder / _STATE)

    return write_state_folder(dirname, epochs, write)


def write_state_folder(dirname, epochs: int, write) -> Path:
    """A new folder in ``dirname`` filled by ``write(folder)``, then named by ``last.json``.

    The pointer is replaced atomically once the folder is complete, and older
    folders are removed: a run killed while saving resumes from the state
    before. Returns the folder.
    """
    root = Path(dirname)
    root.mkdir(parents=True, exist_ok=True)
    # a new folder every time: the one last.json names stays whole until it names another
    folder = Path(tempfile.mkdtemp(prefix=f"epoch-{epochs:05d}-", dir=root))
    write(folder)
    pointer = root / (POINTER + ".tmp")
    pointer.write_text(json.dumps({"folder": folder.name, "epochs": epochs}))
    os.replace(pointer, root / POINTER)  # atomic: the state is complete from here on
    for older in root.glob("epoch-*"):
        if older != folder:
            shutil.rmtree(older, ignore_errors=True)
    return folder


def latest_state_folder(dirname) -> Path | None:
    """The folder of the newest complete training state in ``dirname``, or None."""
    pointer = Path(dirname) / POINTER
    if not pointer.is_file():
        return None
    return Path(dirname) / json.loads(pointer.read_text())["folder"]


def load_training_state(net, folder: Path, *, owners: dict, data: dict) -> dict:
    """Load the network, optimizer, history and owners' states saved in ``folder``.

    Returns the rest of the state (random number generators, callbacks) for
    :func:`restore_loop_state`, which runs once the callbacks have been set
    up for training.

    Raises
    ------
    ValueError
        When the state was saved for other training data.
    """
    state = read_state(
        folder / _STATE,
        data,
        processes=net.processes,
        what="training state",
        saved_for="by a fit on other data",
        fix="Resume with the same training data",
    )
    net.load_params(**{key: folder / name for key, name in _PARAMS.items()})
    if "history" in state:  # several processes: this one's own
        net.history_ = type(net.history_)(state["history"])
    load_owner_states(owners, state["owners"])
    return state


def process_states(processes, own: dict) -> dict | None:
    """What process 0 saves of every process's ``own`` state (its generators, ...): its own
    entries, and with several processes the list of all (``ranks``); None on the others.

    Parameters
    ----------
    processes : Processes
    own : dict
        This process's state.

    Returns
    -------
    dict or None
    """
    ranks = processes.gather_objects(own)
    if not processes.is_main:
        return None
    return {**ranks[0], "ranks": ranks} if len(ranks) > 1 else ranks[0]


def read_state(path: Path, data: dict, *, processes, what: str, saved_for: str, fix: str) -> dict:
    """The state saved in the file ``path``, refused where it was saved for other ``data`` or
    by another number of processes; with several, this process's own entries on top.

    Parameters
    ----------
    path : Path
        A file in a folder :func:`write_state_folder` made.
    data : dict
        What the resumed run trains on, as the state records it.
    processes : Processes
        Those of the resumed run.
    what, saved_for, fix : str
        The error's words: ``The {what} in ... was saved {saved_for} ({saved}, now
        {data}). {fix}, or set resume=False ...``.

    Returns
    -------
    dict
    """
    state = torch.load(path, weights_only=False)
    start_afresh = "or set resume=False (or another checkpoint_dir) to start afresh."
    if state["data"] != data:
        raise ValueError(
            f"The {what} in {path.parent.parent} was saved {saved_for} ({state['data']}, now "
            f"{data}). {fix}, {start_afresh}"
        )
    saved = len(state.get("ranks", [state]))
    if saved != processes.world_size:
        raise ValueError(
            f"The {what} in {path.parent.parent} was saved by a run over {saved} "
            f"process(es), and this one runs over {processes.world_size}; each process "
            f"resumes its own random number generators. Resume with {saved} process(es), "
            f"{start_afresh}"
        )
    if saved > 1:
        state.update(state["ranks"][processes.shard[0]])
    return state


def load_owner_states(owners: dict, states: dict) -> None:
    """Load each saved owner state into its owner of ``owners`` (where the run has it).

    Parameters
    ----------
    owners : dict of name -> object with ``load_state_dict``, or None
    states : dict of name -> state
    """
    for name, owner_state in states.items():
        if owners.get(name) is not None:
            owners[name].load_state_dict(owner_state)


def restore_loop_state(net, state: dict) -> None:
    """Set the callbacks and random number generators as they were saved."""
    _set_callback_states(net, state["callbacks"])
    set_rng_states(state["rng"])


def check_resumable(checkpoint_dir, train_split) -> None:
    """Raise a ValueError naming the fix when ``resume=True`` cannot continue a fit exactly."""
    if checkpoint_dir is None:
        raise ValueError(
            "resume=True continues from the training state in checkpoint_dir, but "
            "checkpoint_dir=None; set checkpoint_dir='runs/my-fit' (any folder) or drop resume."
        )
    cv = getattr(train_split, "cv", None)
    if isinstance(cv, float) and getattr(train_split, "random_state", 0) is None:
        raise ValueError(
            f"resume=True needs the same validation split in every run, but train_split="
            f"{train_split!r} draws a new random split each time; give it a seed, e.g. "
            f"ValidSplit({cv}, stratified=True, random_state=0), or use ValidSplit(5)."
        )


class TrainingCheckpoint:
    """The checkpoints of one fit: saved after every epoch, the newest restored on demand.

    Parameters
    ----------
    dirname : str or path
        ``checkpoint_dir``.
    owners : dict of name -> object with ``state_dict`` / ``load_state_dict``, or None
        The owners of training state besides the net and its callbacks.
    data : dict
        :func:`data_fingerprint` of the training data.
    """

    def __init__(self, dirname, *, owners: dict, data: dict) -> None:
        self.dirname = dirname
        self.owners = owners
        self.data = data
        self._pending = None

    def restore(self, net) -> bool:
        """Load the newest saved state into ``net`` and the owners; False when there is none.

        The callbacks and random number generators follow once training has
        begun (:meth:`after`).
        """
        folder = latest_state_folder(self.dirname)
        if folder is None:
            return False
        self._pending = load_training_state(net, folder, owners=self.owners, data=self.data)
        return True

    def after(self, net, method_name: str) -> None:
        """Called by the net after all callbacks ran ``method_name``."""
        if method_name == "on_train_begin" and self._pending is not None:
            state, self._pending = self._pending, None
            restore_loop_state(net, state)
        elif method_name == "on_epoch_end":
            save_training_state(net, self.dirname, owners=self.owners, data=self.data)
