"""Training: the pieces that own the state of a fit, around skorch's loop.

- :mod:`~imbtorch.training.loop`: the epochs of a fit (default callbacks,
  loaders, checkpoints, the classifier stage after them), asking the owners
  below.
- :mod:`~imbtorch.training.schedule`: the seed of the draws and the epoch the
  fit ends at (:class:`TrainingSchedule`); deferred re-weighting.
- :mod:`~imbtorch.training.loaders`: the training and evaluation DataLoaders,
  plain functions of their inputs.
- :mod:`~imbtorch.training.precision`: autocast, the gradient scaler and its
  optimizer step.
- :mod:`~imbtorch.training.sam`: sharpness-aware minimisation's two-pass step.
- :mod:`~imbtorch.training.steps`: the training step and forward passes: minority
  augmentation, mixing, autocast, sample-weighted loss, SAM's step when asked.
- :mod:`~imbtorch.training.constraints`: MaxNorm on the classifier after every
  optimizer step.
- :mod:`~imbtorch.training.averaging`: the moving average of the weights
  (``ema_epochs``) the network takes when its epochs end.
- :mod:`~imbtorch.training.finetune`: backbone stages, freezing, the backbone's
  learning rate.
- :mod:`~imbtorch.training.compiled`: ``compile=True`` around a plain ``module_``.
- :mod:`~imbtorch.training.distributed`: the processes of an ``accelerator``.
- :mod:`~imbtorch.training.resume`: checkpoints of every owner's state, and
  resumed fits.
- :mod:`~imbtorch.training.monitors`: validation scores and early stopping.
- :mod:`~imbtorch.training.decoupled`: cRT, the classifier re-trained alone.
- :mod:`~imbtorch.training.self_training`: the default's way with unlabelled images:
  a teacher's pseudo-labels within a budget, the frequent classes' given up first (CReST).
- :mod:`~imbtorch.training.semi_supervised`: FixMatch on unlabelled images, its
  pseudo-labels under the pool's class prior.
- :mod:`~imbtorch.training.self_supervised`: SimCLR and BYOL pretraining of a
  trunk on images without labels, with lightly (``ImageEmbedder(self_supervised=...)``).

What ``strategy='auto'`` trains and decides is :mod:`imbtorch.strategies`'.
"""

from .._moved import moved_module
from .schedule import DeferredReweighting, TrainingSchedule, WarmupCosine

__all__ = ["DeferredReweighting", "TrainingSchedule", "WarmupCosine"]
__getattr__ = moved_module(__name__, "imbtorch.strategies.plan", names=("Extension",))
