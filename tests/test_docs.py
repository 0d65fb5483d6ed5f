"""The documentation's API reference lists every public name (the site's build checks the rest)."""

import importlib.util
import pkgutil
from pathlib import Path

import imbtorch

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _api_sections():
    spec = importlib.util.spec_from_file_location("api_sections", DOCS / "api_sections.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_api_pages_are_written_from_the_public_names():
    pages = _api_sections().render()
    written = {path.name: path.read_text() for path in (DOCS / "api").glob("*.rst")}
    assert written == pages, "docs/api/ is stale: run python docs/api_sections.py"


def test_every_public_package_and_name_has_a_section():
    sections = _api_sections()
    documented = {module for module, *_ in sections.SECTIONS}
    packages = {
        f"imbtorch.{info.name}"
        for info in pkgutil.iter_modules(imbtorch.__path__)
        if info.ispkg and not info.name.startswith("_")
    }
    assert packages <= documented, packages - documented
    assert set(imbtorch.__all__) - {"__version__"} <= set(sections.public_names("imbtorch"))


def test_the_gallery_has_eight_examples_with_a_title_each():
    examples = sorted((DOCS.parent / "examples").glob("plot_*.py"))
    assert len(examples) >= 8, [e.name for e in examples]
    for example in examples:
        lines = example.read_text().split('"""')[1].strip().splitlines()
        assert len(lines) >= 2 and set(lines[1]) == {"="} and len(lines[1]) >= len(lines[0]), (
            example.name
        )
