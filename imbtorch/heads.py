"""Deprecated: moved to :mod:`imbtorch.networks.heads`;
this name warns until imbtorch 0.3."""

from ._moved import moved_module

__getattr__ = moved_module(__name__, "imbtorch.networks.heads", "imbtorch.networks.layers")
