"""FastAPI dependencies: the server's state, API-key checks with rate limits, the customer token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Security
from fastapi.security import APIKeyHeader, HTTPBearer

from kefu.server.auth import (
    CUSTOMER_TOKEN_HEADER,
    CustomerClaims,
    KeyRing,
    Principal,
    authenticate_key,
    verify_customer_token,
)
from kefu.server.conversations import Conversations
from kefu.server.errors import ApiError
from kefu.server.metrics import Metrics
from kefu.server.rate_limit import RateLimiter, retry_after
from kefu.server.settings import Role, ServerSettings
from kefu.server.store import ConsoleStore


@dataclass
class ServerState:
    settings: ServerSettings
    keys: KeyRing
    limiter: RateLimiter
    metrics: Metrics
    conversations: Conversations | None = None
    store: ConsoleStore | None = None
    bot: Any = None
    ready: bool = False


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.kefu
    if not state.ready or state.conversations is None:
        raise ApiError(503, "starting", "The assistant is still starting; try again in a few seconds.")
    return state


State = Annotated[ServerState, Depends(server_state)]

# Declared for the OpenAPI spec (and /docs' Authorize button); the check itself reads the headers.
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")
_bearer = HTTPBearer(auto_error=False, description="An API key as a bearer token (what `openai` sends).")


def require(*roles: Role) -> Any:
    async def check(
        request: Request,
        state: State,
        _k: Annotated[Any, Security(_api_key_header)] = None,
        _b: Annotated[Any, Security(_bearer)] = None,
    ) -> Principal:
        principal = authenticate_key(state.keys, request.headers, roles)
        request.state.key_name = principal.name
        per_minute = principal.rate_per_minute or state.settings.rate_per_minute.get(principal.role, 600)
        bucket = principal.key_id
        if principal.role == "widget":  # a publishable key is shared by every visitor: limit each one
            bucket += ":" + (request.client.host if request.client else "?")
        allowed, wait = state.limiter.allow(bucket, per_minute)
        if not allowed:
            state.metrics.rate_limited.labels(principal.role).inc()
            raise ApiError(
                429,
                "rate_limited",
                f"Too many requests for this key ({per_minute} a minute); retry after {retry_after(wait)} s.",
                headers={"Retry-After": retry_after(wait)},
            )
        return principal

    return check


CustomerApi = Annotated[Principal, Depends(require("app", "widget"))]
AppApi = Annotated[Principal, Depends(require("app"))]
OperatorApi = Annotated[Principal, Depends(require("operator"))]

CustomerTokenHeader = Annotated[
    str | None,
    Header(
        alias=CUSTOMER_TOKEN_HEADER,
        description="A customer the host application signed in: a JWT (HS256) signed with the shared secret.",
        max_length=4096,
    ),
]


def customer_from(token: str | None, state: ServerState, session_id: str) -> CustomerClaims | None:
    if token is None or not token.strip():
        return None
    return verify_customer_token(token, state.settings, session_id=session_id)
