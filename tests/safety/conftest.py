"""One SafetyLayer for the whole folder (the MiniLM and the heads load once, as in a real process)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kefu.safety import ListSink, SafetyConfig, SafetyLayer

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"


@pytest.fixture(scope="session")
def audit() -> ListSink:
    return ListSink()


@pytest.fixture(scope="session")
def layer(audit: ListSink) -> Iterator[SafetyLayer]:
    made = SafetyLayer(SafetyConfig(), audit=audit)
    made.warm_up()
    yield made


@pytest.fixture
def layer_with(layer: SafetyLayer) -> Callable[..., SafetyLayer]:
    """Make a layer with some settings changed; models and encoder are shared with the session's layer."""

    def make(*, audit: ListSink | None = None, **config: object) -> SafetyLayer:
        return SafetyLayer(SafetyConfig(**config), audit=audit or ListSink())  # type: ignore[arg-type]

    return make


@pytest.fixture
def shared_datasets() -> Path:
    if not (SHARED / "safety_advbench").exists():
        pytest.skip("needs ../shared/datasets (present in CI, not in a user's clone)")
    return SHARED
