"""The API reference's sections, and its pages (``docs/api/``) written from them.

Every name of each module's ``__all__`` gets a page generated from its
docstring; ``tests/test_docs.py`` checks that the pages are current. Run
``python docs/api_sections.py`` after changing a public module's ``__all__``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

#: (module, title, one line on what it holds, names beyond ``__all__``)
SECTIONS = [
    ("imbtorch", "The estimators and the report", "What most users import.", ()),
    (
        "imbtorch.data",
        "Inputs",
        "Image files, tables, arrays and Datasets as the estimators read them.",
        (),
    ),
    (
        "imbtorch.data.splits",
        "Multi-label splits",
        "Folds and hold-outs that keep every label of a multi-label ``y``.",
        (),
    ),
    (
        "imbtorch.datasets",
        "Data sets",
        "Long-tailed versions of the data sets that ship in packages, and loaders of folders and "
        "tables.",
        (),
    ),
    (
        "imbtorch.strategies",
        "Strategies and the default's plan",
        "The named strategies and the policy that decides what ``strategy='auto'`` trains.",
        (),
    ),
    ("imbtorch.losses", "Losses", "The imbalance-aware losses, single- and multi-label.", ()),
    (
        "imbtorch.samplers",
        "Samplers",
        "Re-balancing samplers, re-drawn every epoch from the fit's seed.",
        (),
    ),
    (
        "imbtorch.samplers.resampling",
        "imbalanced-learn on features",
        "Neighbourhood resamplers that adapt to the rarest class.",
        ("CappedNeighbors", "SmallClassWarning", "cap_neighbors"),
    ),
    ("imbtorch.networks", "Networks", "Backbones, heads and their construction.", ()),
    ("imbtorch.training", "Training", "Learning-rate schedules and deferred re-weighting.", ()),
    (
        "imbtorch.evaluation",
        "Evaluation",
        "Scores, scorers, displays, reports and the strategy comparison.",
        (),
    ),
]


def public_names(module_name: str, extra=()) -> list[str]:
    """The documented names of a module: its ``__all__`` (less ``__version__``) and ``extra``."""
    module = importlib.import_module(module_name)
    names = [n for n in getattr(module, "__all__", ()) if not n.startswith("__")]
    return sorted({*names, *extra}, key=str.lower)


def render() -> dict[str, str]:
    """The reference's pages: ``{file name under docs/api/: text}``."""
    note = ".. This page is written by docs/api_sections.py; edit that file, not this one."
    pages = {}
    index = [
        note,
        "",
        "API reference",
        "=============",
        "",
        "Every public name, one page each, generated from its docstring.",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
    ]
    for module, title, blurb, extra in SECTIONS:
        index.append(f"   {module}")
        heading = f"``{module}``: {title}"
        lines = [
            note,
            "",
            heading,
            "=" * len(heading),
            "",
            f".. automodule:: {module}",
            "   :no-members:",
            "   :no-index:",
            "",
            blurb,
            "",
            f".. currentmodule:: {module}",
            "",
            ".. autosummary::",
            "   :toctree: ../generated/",
            "",
        ]
        lines += [f"   {name}" for name in public_names(module, extra)]
        pages[f"{module}.rst"] = "\n".join(lines) + "\n"
    pages["index.rst"] = "\n".join(index) + "\n"
    return pages


if __name__ == "__main__":
    folder = Path(__file__).with_name("api")
    folder.mkdir(exist_ok=True)
    for stale in folder.glob("*.rst"):
        stale.unlink()
    for name, text in render().items():
        (folder / name).write_text(text)
