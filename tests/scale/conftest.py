"""The scale-out stack for tests: a real PostgreSQL, a Chroma server and Redis on loopback.

Each server is started once per test session (Redis once per test, it is instant) by
`kefu.server.local_engines`; when a binary is missing the tests that need it skip and say how to
install it (`make services` does it in CI). Every test gets its own database, copied from a template
that holds the demo shop (CREATE DATABASE ... TEMPLATE: a file copy, well under a second).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("psycopg", reason="the PostgreSQL tests need the extra: pip install 'kefu[postgres]'")

from sqlalchemy import create_engine  # noqa: E402

from kefu import Assistant, Config  # noqa: E402
from kefu.server.local_engines import (  # noqa: E402
    Engine,
    EngineMissing,
    create_database,
    start_chroma,
    start_postgres,
)

TEMPLATE = "kefu_demo_shop"
_names = itertools.count(1)


def _start(starter: Callable[[], Engine]) -> Engine:
    try:
        return starter()
    except EngineMissing as e:
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Engine]:
    """A throwaway PostgreSQL cluster (run as `nobody` when the tests run as root)."""
    engine = _start(start_postgres)
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def pg_template(pg_server: Engine) -> str:
    """A database holding the demo shop at the newest schema, copied for each test."""
    from kefu.tools import load_shop

    url = create_database(pg_server.url, TEMPLATE)
    engine = create_engine(url)
    load_shop(engine)
    engine.dispose()  # a template must have no connections when it is copied
    return TEMPLATE


@pytest.fixture
def pg_url(pg_server: Engine, pg_template: str) -> str:
    """A fresh PostgreSQL database with the demo shop, for this test only."""
    return create_database(pg_server.url, f"kefu_test_{next(_names)}", template=pg_template)


@pytest.fixture(scope="session")
def chroma_url() -> Iterator[str]:
    """A `chroma run` server holding the demo knowledge base (indexed once; tests only read it)."""
    from kefu.tools.knowledge import KnowledgeBase

    engine = _start(start_chroma)
    KnowledgeBase.demo(engine.url).close()
    yield engine.url
    engine.stop()


def scaled_config(data_dir: Path, pg_url: str, chroma_url: str, redis_url: str, **more: Any) -> Config:
    """The assistant on the scale-out stack: shop, audit, events and sessions in PostgreSQL, knowledge
    on the Chroma server, recommender events through Redis Streams."""
    return Config(
        data_dir=data_dir,
        shop={"database_url": pg_url},
        knowledge={"location": chroma_url},
        recsys={"redis_url": redis_url},
        **more,
    )


# ---- the shared fixtures of tests/conftest.py, on the scale-out stack --------------------------------
@pytest.fixture
def shop_url(pg_url: str) -> str:
    return pg_url


@pytest.fixture
def make_bot(
    pg_url: str, chroma_url: str, redis_server_url: str, tmp_path: Path
) -> Iterator[Callable[..., Assistant]]:
    made: list[Assistant] = []

    def make(**kwargs: Any) -> Assistant:
        bot = Assistant(scaled_config(tmp_path, pg_url, chroma_url, redis_server_url), **kwargs)
        made.append(bot)
        return bot

    yield make
    for bot in made:
        bot.close()


@pytest.fixture
def scale(pg_url: str, chroma_url: str, redis_server_url: str) -> dict[str, str]:
    """The three URLs of this test's stack."""
    return {"postgres": pg_url, "chroma": chroma_url, "redis": redis_server_url}
