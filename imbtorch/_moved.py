"""Modules that moved: their old names resolve, with a FutureWarning, for one release."""

from __future__ import annotations

import importlib
import warnings

#: The release that removes the old names.
REMOVED_IN = "0.3"


def moved_module(old: str, *new: str, names=None):
    """A module ``__getattr__`` for ``old``, whose names (all, or ``names``) now live in the
    modules ``new`` (the first that has each).

    Every such name read from ``old`` (``from old import name``, an attribute,
    a pickle of a class defined there) comes from its new module, with a
    :class:`FutureWarning` that names the new place.
    """

    def __getattr__(name: str):
        if not name.startswith("__") and (names is None or name in names):
            for place in new:
                module = importlib.import_module(place)
                if hasattr(module, name):
                    warnings.warn(
                        f"{old} moved to {place} in imbtorch 0.2 and will be removed in "
                        f"{REMOVED_IN}; import {name} from {place}.",
                        FutureWarning,
                        stacklevel=2,
                    )
                    return getattr(module, name)
        raise AttributeError(f"module {old!r} has no attribute {name!r}")

    return __getattr__
