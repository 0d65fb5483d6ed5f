"""Deprecated: the extension ``'auto'`` decides is :mod:`imbtorch.strategies.plan`'s."""

from .._moved import moved_module

__getattr__ = moved_module(__name__, "imbtorch.strategies.plan")
