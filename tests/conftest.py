"""Shared fixtures: a demo shop built once per test session and copied for each test."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
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


@pytest.fixture
def redis_server_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway redis-server on 127.0.0.1 (skips when redis-py or the binary is missing)."""
    redis = pytest.importorskip("redis", reason="redis-py is not installed (pip install redis)")
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(
            "redis-server binary not found (apt-get install -y redis-server; make test does it in CI)"
        )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(10)
