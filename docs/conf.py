"""Sphinx configuration of imbtorch's documentation site.

Build it from the repository's root with ``sphinx-build -W -b html docs docs/_build/html``
after ``pip install -e ".[docs]"``.
"""

from __future__ import annotations

import os
import warnings

import imbtorch

project = "imbtorch"
author = "the imbtorch developers"
copyright = "2026, the imbtorch developers"
release = imbtorch.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_templates", "auto_examples/*.ipynb", "**/*.py.md5"]
templates_path = ["_templates"]

# The API reference: one page per public name, from its docstring.
autosummary_generate = True
autodoc_default_options = {"inherited-members": False, "show-inheritance": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# A docstring that disagrees with its signature stops the build (-W):
# PR01 a parameter left undocumented, PR02 a documented parameter the signature lacks.
numpydoc_validation_checks = {"PR01", "PR02"}
numpydoc_validation_exclude = {
    r"\.\w+_$",  # fitted attributes: the class's Attributes section documents them
}
numpydoc_xref_param_type = False

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

intersphinx_mapping = {}  # no network at build time: references to other sites are plain links

html_theme = "pydata_sphinx_theme"
html_title = f"imbtorch {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 7,
}
html_show_sourcelink = False

# The gallery: every script of examples/ runs in the build, on the CPU.
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("MPLBACKEND", "agg")
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "only_warn_on_example_error": False,
    "abort_on_example_error": True,
    "run_stale_examples": False,
}
if os.environ.get("IMBTORCH_DOCS_NO_GALLERY"):  # a quick build of the text alone
    sphinx_gallery_conf["plot_gallery"] = "False"

warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")


def _skip_hooks(app, what, name, obj, skip, options):
    """Leave out skorch's extension points and scikit-learn's metadata-routing setters.

    ``BalancedImageClassifier`` overrides skorch hooks (``get_iterator``,
    ``validation_step``, ...) to hand their work to its owners; they are
    skorch's API, documented there, not calls a user makes.
    """
    import re

    from skorch import NeuralNet

    if re.fullmatch(r"set_\w+_request", name):
        return True
    user_facing = {
        "fit",
        "partial_fit",
        "predict",
        "predict_proba",
        "score",
        "set_params",
        "get_params",
        "initialize",
        "load_params",
        "save_params",
    }
    if what == "class" and hasattr(NeuralNet, name) and name not in user_facing:
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_hooks)
