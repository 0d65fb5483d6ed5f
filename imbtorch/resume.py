"""Resumable fits: the whole training state after every epoch, and a fit that continues from it.

After every epoch, :func:`save_training_state` writes into ``checkpoint_dir``
what the next epoch depends on: the network, optimizer and criterion (skorch's
``save_params``), the history, the state of every callback (early stopping's
counters and best weights, learning-rate schedules, ...), the gradient scaler,
the seed of the sampler's draws and the random number generators (torch, CUDA,
numpy, Python). Each epoch goes to its own folder, and ``last.json`` points to
the newest complete one only once it is written, so a fit killed while saving
resumes from the epoch before; folders no pointer names are removed. :class:`ResumableMixin` gives
:class:`~imbtorch.BalancedImageClassifier` its ``resume`` parameter: ``fit``
loads the newest state and trains the epochs that remain up to ``max_epochs``,
ending with the weights an uninterrupted fit ends with.
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


def _rng_states() -> dict:
    return {
        "torch": torch.random.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
        "numpy": np.random.get_state(),  # noqa: NPY002 - the global RNG user code may draw from
        "python": random.getstate(),
    }


def _set_rng_states(states: dict) -> None:
    torch.random.set_rng_state(states["torch"])
    if states["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    np.random.set_state(states["numpy"])  # noqa: NPY002
    random.setstate(states["python"])


def _callback_states(net) -> dict:
    """Fitted attributes (``name_``) of every callback; objects with a state_dict by it.

    Attributes that cannot be pickled (an open progress bar) are display
    state and start afresh.
    """
    states = {}
    for name, callback in net.callbacks_:
        state = {}
        for key, value in vars(callback).items():
            if not key.endswith("_") or key.startswith("_"):
                continue
            if isinstance(value, type):  # a class the callback instantiates (a policy)
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


def save_training_state(net, dirname, *, sampler_seed: int, data: dict) -> Path:
    """Write the state after the last epoch of ``net.history`` to ``dirname``; return its folder.

    Parameters
    ----------
    net : initialised skorch net
    dirname : str or path
    sampler_seed : int
        Seed of the training sampler's per-epoch draws.
    data : dict
        :func:`data_fingerprint` of the training data.
    """
    root = Path(dirname)
    root.mkdir(parents=True, exist_ok=True)
    epochs = len(net.history)
    # a new folder every time: the one last.json names stays whole until it names another
    folder = Path(tempfile.mkdtemp(prefix=f"epoch-{epochs:05d}-", dir=root))
    net.save_params(**{key: folder / name for key, name in _PARAMS.items()})
    scaler = getattr(net, "grad_scaler_", None)
    torch.save(
        {
            "epochs": epochs,
            "sampler_seed": int(sampler_seed),
            "data": data,
            "rng": _rng_states(),
            "callbacks": _callback_states(net),
            "grad_scaler": None if scaler is None else scaler.state_dict(),
        },
        folder / _STATE,
    )
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


def load_training_state(net, folder: Path, *, data: dict) -> dict:
    """Load the network, optimizer and history saved in ``folder`` into ``net``.

    Returns the rest of the state (seed, random number generators, callbacks,
    gradient scaler) for :func:`restore_loop_state`, which runs once the
    callbacks have been set up for training.

    Raises
    ------
    ValueError
        When the state was saved for other training data.
    """
    state = torch.load(folder / _STATE, weights_only=False)
    if state["data"] != data:
        raise ValueError(
            f"The training state in {folder.parent} was saved by a fit on other data "
            f"(classes and counts {state['data']}, now {data}). Resume with the same "
            "training data, or set resume=False (or another checkpoint_dir) to start afresh."
        )
    net.load_params(**{key: folder / name for key, name in _PARAMS.items()})
    return state


def restore_loop_state(net, state: dict) -> None:
    """Set the callbacks, gradient scaler and random number generators as they were saved."""
    _set_callback_states(net, state["callbacks"])
    scaler = getattr(net, "grad_scaler_", None)
    if scaler is not None and state["grad_scaler"] is not None:
        scaler.load_state_dict(state["grad_scaler"])
    _set_rng_states(state["rng"])


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


class ResumableMixin:
    """``checkpoint_dir`` and ``resume`` for a skorch net (the estimator's parameters).

    The net sets ``sampler_seed_`` before training and calls
    :meth:`_resume_epochs` to load a saved state; the state is saved after
    every epoch once all callbacks have run, and the loop state is restored
    once all callbacks have begun training.
    """

    def _data_fingerprint(self) -> dict:
        return data_fingerprint(self.class_counts_, self.classes_)

    def _resume_epochs(self) -> int | None:
        """Load the newest saved state; return the epochs left, or None when there is none."""
        self._pending_loop_state_ = None
        folder = None if self.checkpoint_dir is None else latest_state_folder(self.checkpoint_dir)
        if folder is None:
            return None
        state = load_training_state(self, folder, data=self._data_fingerprint())
        self.sampler_seed_ = state["sampler_seed"]
        self._pending_loop_state_ = state
        return max(0, self.max_epochs - len(self.history))

    def notify(self, method_name, **cb_kwargs):
        super().notify(method_name, **cb_kwargs)
        if method_name == "on_train_begin" and getattr(self, "_pending_loop_state_", None):
            state, self._pending_loop_state_ = self._pending_loop_state_, None
            restore_loop_state(self, state)
        elif method_name == "on_epoch_end" and self.checkpoint_dir is not None:
            save_training_state(
                self,
                self.checkpoint_dir,
                sampler_seed=self.sampler_seed_,
                data=self._data_fingerprint(),
            )
