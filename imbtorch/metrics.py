"""Deprecated: moved to :mod:`imbtorch.evaluation.metrics` (the plots to
:mod:`imbtorch.evaluation.displays`);
this name warns until imbtorch 0.3."""

from ._moved import moved_module

__getattr__ = moved_module(__name__, "imbtorch.evaluation.metrics", "imbtorch.evaluation.displays")
