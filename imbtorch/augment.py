"""Deprecated: moved to :mod:`imbtorch.training.augment`;
this name warns until imbtorch 0.3."""

from ._moved import moved_module

__getattr__ = moved_module(__name__, "imbtorch.training.augment")
