"""Modules that moved: their old names resolve, with a FutureWarning, for one release."""

from __future__ import annotations

import importlib
import warnings

#: The release that removes the old names.
REMOVED_IN = "0.3"


def moved_module(old: str, new: str, names=None):
    """A module ``__getattr__`` for ``old``, whose names (all, or ``names``) now live in
    ``new``.

    Every such name read from ``old`` (``from old import name``, an attribute,
    a pickle of a class defined there) comes from ``new``, with a
    :class:`FutureWarning` that names the new place.
    """

    def __getattr__(name: str):
        if name.startswith("__") or (names is not None and name not in names):
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        warnings.warn(
            f"{old} moved to {new} in imbtorch 0.2 and will be removed in {REMOVED_IN}; "
            f"import {name} from {new}.",
            FutureWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(new), name)

    return __getattr__
