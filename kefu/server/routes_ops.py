"""Operations and pages: `/healthz`, `/metrics`, the demo shop page, the operator console."""

from __future__ import annotations

import html
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kefu._version import __version__
from kefu.server.deps import ServerState
from kefu.server.errors import ApiError

router = APIRouter(tags=["operations"])

_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.kefu
    return state


def web_file(name: str) -> str:
    return resources.files("kefu.web").joinpath(name).read_text(encoding="utf-8")


@router.get("/healthz", responses={503: {"description": "Starting or shutting down"}})
async def healthz(request: Request) -> JSONResponse:
    """200 when the assistant is loaded, the console store answers and the server takes messages."""
    state = _state(request)
    body: dict[str, Any] = {"status": "ok", "version": __version__}
    c = state.conversations
    if not state.ready or c is None:
        body["status"] = "starting"
        return JSONResponse(body, status_code=503)
    try:
        await c.run(c.store.ping)
    except Exception:
        body.update(status="error", store="unreachable")
        return JSONResponse(body, status_code=503)
    body["turns_in_flight"] = c.in_flight
    if not c.accepting:
        body["status"] = "shutting_down"
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics: requests, turn latency and turns in flight, hand-offs, ratings, rate limits."""
    registry = _state(request).metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/", include_in_schema=False)
async def index(request: Request) -> RedirectResponse:
    return RedirectResponse("/demo" if _state(request).settings.demo_page else "/docs")


@router.get("/demo", include_in_schema=False)
async def demo_page(request: Request) -> HTMLResponse:
    state = _state(request)
    widget_keys = state.settings.keys_of("widget")
    if not state.settings.demo_page or not widget_keys:
        raise ApiError(404, "not_found", "The demo page is off (start with `kefu serve --demo`).")
    key = widget_keys[0].key.get_secret_value()
    page = web_file("demo.html").replace("{{WIDGET_KEY}}", html.escape(key, quote=True))
    return HTMLResponse(page, headers=_PAGE_HEADERS)


@router.get("/console", include_in_schema=False)
async def console_page() -> HTMLResponse:
    return HTMLResponse(web_file("console.html"), headers=_PAGE_HEADERS)
