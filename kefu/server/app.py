"""`create_app`: the FastAPI application over one `Assistant`.

    from kefu import Assistant
    from kefu.server import ServerSettings, create_app

    app = create_app(Assistant.demo(), settings=ServerSettings(api_keys=[{"key": "...", "role": "app"}]))

With no assistant given, the app builds one from `config` when it starts (and closes it when it stops).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from kefu._version import __version__
from kefu.server import routes_console, routes_openai, routes_ops, routes_sessions
from kefu.server.api_docs import install_api_docs
from kefu.server.auth import KeyRing
from kefu.server.conversations import Conversations
from kefu.server.deps import ServerState
from kefu.server.errors import install_error_handlers
from kefu.server.metrics import Metrics
from kefu.server.middleware import BodyLimitMiddleware, RequestContextMiddleware
from kefu.server.rate_limit import RateLimiter
from kefu.server.settings import ServerSettings
from kefu.server.store import ConsoleStore, default_store_url

log = logging.getLogger("kefu.server")

DESCRIPTION = """The kefu assistant as a service: customer sessions (JSON or server-sent events), an
OpenAI-compatible chat endpoint, the operator console's API, health and metrics.

**Keys.** Send an API key as `X-API-Key` or `Authorization: Bearer`. *app* keys (the shop's back end)
may use the customer endpoints and `/v1/chat/completions`; *widget* keys (publishable, in the shop's
pages) the customer endpoints only; *operator* keys the console.

**Customers.** The assistant authenticates customers in the conversation (email, or name and zip), or
the host application hands over a signed-in customer as `X-Kefu-Customer-Token`: a JWT (HS256) with
`sub` = customer id, `aud` = "kefu", `exp`, optional `sid` = session id. See docs/service.md."""


def create_app(
    assistant: Any = None,
    *,
    settings: ServerSettings | None = None,
    config: Any = None,
    assistant_factory: Callable[[], Any] | None = None,
) -> FastAPI:
    """The app. Pass a ready `assistant` (you close it), or a `config` / `assistant_factory` the app
    uses at start-up (it closes what it built)."""
    settings = settings or ServerSettings()
    metrics = Metrics()
    state = ServerState(
        settings=settings,
        keys=KeyRing(settings.api_keys),
        limiter=RateLimiter(settings.rate_burst),
        metrics=metrics,
    )
    if not state.keys:
        log.warning("no API keys are configured: every API call will be refused with 401")

    def store_url(bot: Any) -> str:
        return settings.store_url or default_store_url(bot.config)

    def start(bot: Any) -> None:
        state.bot = bot
        state.store = ConsoleStore(store_url(bot))
        state.conversations = Conversations(
            bot, state.store, metrics, max_concurrent_turns=settings.max_concurrent_turns
        )
        state.ready = True

    if assistant is not None:
        start(assistant)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        owned = None
        if not state.ready:

            def build() -> Any:
                if assistant_factory is not None:
                    return assistant_factory()
                from kefu.assistant import Assistant

                return Assistant(config)

            owned = await anyio.to_thread.run_sync(build)
            if hasattr(owned, "warm_up"):  # models load before /healthz says ready, not in a first turn
                await anyio.to_thread.run_sync(owned.warm_up)
            start(owned)
            log.info("assistant ready")
        try:
            yield
        finally:
            if state.conversations is not None:
                left = await state.conversations.drain(settings.drain_timeout_s)
                if left:
                    log.warning("%d turn(s) still running at shutdown", left)
            state.ready = False
            if state.store is not None:
                state.store.close()
            if owned is not None:
                owned.close()

    app = FastAPI(
        title="kefu",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from local assets below, not a CDN
        redoc_url=None,
    )
    app.state.kefu = state
    install_api_docs(app)
    install_error_handlers(app)
    for router in (
        routes_sessions.router,
        routes_openai.router,
        routes_console.router,
        routes_ops.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(resources.files("kefu.web"))), name="static")
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key", "Authorization", "X-Kefu-Customer-Token"],
            expose_headers=["X-Request-ID", "X-Kefu-Session-Id", "Retry-After"],
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app
