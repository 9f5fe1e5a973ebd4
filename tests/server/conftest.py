"""Fixtures of the service tests: an app over a fresh demo shop, a test client, a live server on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the server tests need the server extra: pip install 'kefu[server]'")

from fastapi.testclient import TestClient  # noqa: E402

from kefu import Assistant  # noqa: E402
from kefu.server import ServerSettings, create_app  # noqa: E402

APP_KEY = "app-key-for-tests-0001"
WIDGET_KEY = "pk-widget-for-tests-01"
OPERATOR_KEY = "op-key-for-tests-alice"
OPERATOR2_KEY = "op-key-for-tests-bobby"
SECRET = "customer-token-secret-for-tests-0123456789"
APP = {"X-API-Key": APP_KEY}
WIDGET = {"X-API-Key": WIDGET_KEY}
ALICE = {"Authorization": f"Bearer {OPERATOR_KEY}"}
BOB = {"X-API-Key": OPERATOR2_KEY}
NOAH_EMAIL = "noah.brown7922@example.com"
NOAH = "noah_brown_6181"


def settings(**overrides: Any) -> ServerSettings:
    base: dict[str, Any] = {
        "api_keys": [
            {"key": APP_KEY, "name": "shop-backend", "role": "app"},
            {"key": WIDGET_KEY, "name": "widget", "role": "widget"},
            {"key": OPERATOR_KEY, "name": "alice", "role": "operator"},
            {"key": OPERATOR2_KEY, "name": "bob", "role": "operator"},
        ],
        "customer_token_secret": SECRET,
        "demo_page": True,
        "rate_per_minute": {"app": 100000, "widget": 100000, "operator": 100000},
        "rate_burst": 100000,
    }
    base.update(overrides)
    return ServerSettings(**base)


@pytest.fixture
def make_client(make_bot: Callable[..., Assistant]) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(bot: Any = None, **overrides: Any) -> TestClient:
        client = TestClient(create_app(bot or make_bot(), settings=settings(**overrides)))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def say(client: TestClient, session: str, text: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = client.post(f"/v1/sessions/{session}/messages", json={"text": text}, headers=headers or APP)
    assert r.status_code == 200, r.text
    return r.json()


def sse_events(body: str) -> list[tuple[str, str]]:
    """(event, data) pairs of a text/event-stream body (comments skipped)."""
    out = []
    for block in body.strip().split("\n\n"):
        event, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            out.append((event, "\n".join(data)))
    return out


class SlowBot:
    """An Assistant whose turns take `delay` seconds longer (and that records the order of its turns)."""

    def __init__(self, bot: Assistant, delay: float) -> None:
        self._bot, self.delay, self.seen = bot, delay, []

    def respond(self, text: str, session_id: str = "default") -> Any:
        time.sleep(self.delay)
        self.seen.append((session_id, text))
        return self._bot.respond(text, session_id=session_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bot, name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    server: Any
    thread: threading.Thread

    def stop(self, timeout: float = 30) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def start_live(app: Any, **config: Any) -> LiveServer:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, **config)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    return LiveServer(f"http://127.0.0.1:{port}", server, thread)


@pytest.fixture
def live(make_bot: Callable[..., Assistant]) -> Iterator[Callable[..., LiveServer]]:
    servers: list[LiveServer] = []

    def make(bot: Any = None, **overrides: Any) -> LiveServer:
        s = start_live(create_app(bot or make_bot(), settings=settings(**overrides)))
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def kit() -> Any:
    """The keys and helpers above, for tests (importlib mode: test modules can't import conftest)."""
    import sys

    return sys.modules[__name__]


def widget_session(client: TestClient) -> str:
    """A session made the way the widget makes one (widget keys reach only these)."""
    r = client.post("/v1/sessions", headers=WIDGET)
    assert r.status_code == 201, r.text
    return str(r.json()["session_id"])
