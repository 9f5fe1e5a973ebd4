"""Shared fixtures: a demo shop built once per test session and copied for each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kefu import Assistant, Config
from kefu.evals.scenarios import ShopTemplate

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def shop_template() -> Iterator[ShopTemplate]:
    template = ShopTemplate()
    yield template


@pytest.fixture
def shop_url(shop_template: ShopTemplate, tmp_path: Path) -> str:
    """A fresh copy of the demo shop for this test."""
    return shop_template.fresh(tmp_path / "shop")


@pytest.fixture
def make_bot(shop_url: str, tmp_path: Path) -> Iterator[Callable[..., Assistant]]:
    """Build assistants over this test's fresh shop (sessions on disk in tmp_path)."""
    made: list[Assistant] = []

    def make(**kwargs: object) -> Assistant:
        config = Config(data_dir=tmp_path, shop={"database_url": shop_url})
        bot = Assistant(config, **kwargs)  # type: ignore[arg-type]
        made.append(bot)
        return bot

    yield make
    for bot in made:
        bot.close()


@pytest.fixture
def bot(make_bot: Callable[..., Assistant]) -> Assistant:
    return make_bot()


def datasets_or_skip(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"needs ../shared/datasets/{name} (present in CI, not in a user's clone)")
    return path
