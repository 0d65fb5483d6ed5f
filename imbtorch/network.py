"""Deprecated: moved to :mod:`imbtorch.networks.build`;
this name warns until imbtorch 0.3."""

from ._moved import moved_module

__getattr__ = moved_module(__name__, "imbtorch.networks.build")
