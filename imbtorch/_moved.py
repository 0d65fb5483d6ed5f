"""Modules that moved: their old names resolve, with a FutureWarning, for one release."""

from __future__ import annotations

import importlib
import warnings

#: The release that removes the old names.
REMOVED_IN = "0.3"


def moved_module(old: str, *new: str, names=None):
    """A module ``__getattr__`` for ``old``, whose names (all, or ``names``) now live in the
    modules ``new`` (the one that defines each, else the first that has it).

    Every such name read from ``old`` (``from old import name``, an attribute,
    a pickle of a class defined there) comes from its new module, with a
    :class:`FutureWarning` that names the new place.
    """

    def __getattr__(name: str):
        if not name.startswith("__") and (names is None or name in names):
            holders = [m for m in map(importlib.import_module, new) if hasattr(m, name)]
            # the module that defines it, rather than one that imports it
            defining = [
                m for m in holders if getattr(getattr(m, name), "__module__", None) == m.__name__
            ]
            for module in defining or holders[:1]:
                warnings.warn(
                    f"{old} moved to {module.__name__} in imbtorch 0.2 and will be removed in "
                    f"{REMOVED_IN}; import {name} from {module.__name__}.",
                    FutureWarning,
                    stacklevel=2,
                )
                return getattr(module, name)
        raise AttributeError(f"module {old!r} has no attribute {name!r}")

    return __getattr__
