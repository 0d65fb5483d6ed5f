"""Deprecated: moved to :mod:`imbtorch.evaluation.metrics`;
this name warns until imbtorch 0.3."""

from ._moved import moved_module

__getattr__ = moved_module(__name__, "imbtorch.evaluation.metrics")
