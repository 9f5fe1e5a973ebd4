"""One import package, `kefu`, assembled from the top-level folders; nothing shadows it."""

import importlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AREAS = {
    "kefu": "kefu",
    "kefu.agents": "agents",
    "kefu.tools": "tools",
    "kefu.recsys": "recsys",
    "kefu.safety": "safety",
    "kefu.evals": "evals",
}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_area_folders_map_into_kefu():
    mapping = _pyproject()["tool"]["setuptools"]["package-dir"]
    assert mapping == AREAS
    for package, folder in AREAS.items():
        module = importlib.import_module(package)
        assert Path(module.__file__).resolve().parent == ROOT / folder


def test_every_subpackage_is_listed_for_the_wheel():
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    found = set()
    for package, folder in AREAS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *rel.parts]) if rel.parts else package)
    assert found <= listed, f"add to pyproject's packages: {sorted(found - listed)}"


def test_no_top_level_agents_or_tools_module_leaks():
    import sys

    import kefu.agents  # noqa: F401
    import kefu.tools  # noqa: F401

    assert "agents" not in sys.modules and "tools" not in sys.modules


def test_torch_is_the_pinned_cpu_build_if_installed():
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return
    import torch

    assert torch.__version__.startswith("2.13.0")
    assert "+cu" not in torch.__version__
