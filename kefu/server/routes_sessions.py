"""The customer's channel: sessions, messages (JSON or server-sent events), hand-off, ratings."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from kefu.server.conversations import Outcome
from kefu.server.deps import CustomerApi, CustomerTokenHeader, State, customer_from
from kefu.server.errors import ApiError
from kefu.server.idempotency import HEADER, REPLAYED_HEADER, IdempotentRequest, recorded
from kefu.server.schemas import (
    SESSION_ID_PATTERN,
    HandoffIn,
    HandoffOut,
    HistoryOut,
    MessageIn,
    MessageOut,
    OkOut,
    RatingIn,
    SessionOut,
    SuggestionClickIn,
)
from kefu.server.streaming import SSE_HEADERS, reply_events

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])
SessionId = Annotated[str, Path(pattern=SESSION_ID_PATTERN, description="The conversation's id.")]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"},
    403: {"description": "The key may not use this endpoint"},
    429: {"description": "Rate limited (see Retry-After)"},
}


@router.post("", status_code=201, response_model=SessionOut, responses=_ERRORS)
async def create_session(
    state: State, principal: CustomerApi, token: CustomerTokenHeader = None
) -> dict[str, Any]:
    """Start a conversation with a new, unguessable id (optionally for a signed-in customer). Widget
    keys must start their sessions here: they reach no session named by anyone else."""
    session_id = f"s_{uuid.uuid4().hex}"
    conversations = state.conversations
    assert conversations is not None
    customer = customer_from(token, state, session_id)
    channel = "widget" if principal.role == "widget" else "api"
    conv = await conversations.run(conversations.open_session, session_id, customer, channel)
    return {"session_id": session_id, "status": conv["status"], "customer_id": conv["customer_id"]}


@router.post(
    "/{session_id}/messages",
    response_model=MessageOut,
    responses={
        **_ERRORS,
        200: {
            "description": "The outcome as JSON, or as server-sent events when `stream` is true or the "
            "request accepts `text/event-stream`: `status`, `tool_call`*, `delta`* (text), `notice`*, "
            "`message` (this JSON), `done`; or `error`.",
            "content": {"text/event-stream": {}},
        },
        409: {"description": "The session belongs to another customer"},
    },
)
async def post_message(
    session_id: SessionId,
    body: MessageIn,
    request: Request,
    state: State,
    principal: CustomerApi,
    token: CustomerTokenHeader = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description="Makes a retry safe: the same key (with the same message) returns the first "
            "response, marked `Idempotent-Replayed: true`, without a second turn or write. Kept 24 h.",
            max_length=255,
        ),
    ] = None,
) -> Any:
    """Send the customer's message. The assistant answers, or, while a person has the conversation,
    the message goes to that person (`delivered_to: person`, no `reply`). With an app key an unknown
    id starts a session; widget keys use ids from `POST /v1/sessions`."""
    conversations = state.conversations
    assert conversations is not None
    customer = customer_from(token, state, session_id)
    streaming = body.stream or "text/event-stream" in request.headers.get("accept", "")
    once = None
    if idempotency_key is not None:
        once = IdempotentRequest.of(
            conversations.store,
            idempotency_key,
            key_id=principal.key_id,
            session_id=session_id,
            text=body.text,
        )
        first = await once.begin(conversations.run)
        if first is not None:
            return _replay(first, streaming)
    try:
        checked, task = await conversations.submit(
            session_id, body.text, customer=customer, channel="api", widget=principal.role == "widget"
        )
    except BaseException:
        if once is not None:
            await once.abandon(conversations.run)
        raise
    if once is not None:
        task = recorded(task, once, conversations.run, _as_sent)
    await asyncio.shield(checked)  # 4xx (wrong customer...) as a status code, before any stream starts
    if streaming:
        return StreamingResponse(
            reply_events(task, lambda o: o.as_dict()), media_type="text/event-stream", headers=SSE_HEADERS
        )
    outcome = await asyncio.shield(task)  # a client that leaves does not cancel the turn
    return outcome.as_dict()


def _as_sent(outcome: Outcome) -> dict[str, Any]:
    """The outcome as the client received it (through the response model), to replay byte for byte."""
    return MessageOut.model_validate(outcome.as_dict()).model_dump(mode="json")


def _replay(first: dict[str, Any], streaming: bool) -> Any:
    """The first response to this Idempotency-Key, as JSON or as the same events a stream ends with."""
    headers = {REPLAYED_HEADER: "true"}
    if not streaming:
        return JSONResponse(first, headers=headers)

    async def done() -> Outcome:
        return Outcome(**first)

    task = asyncio.ensure_future(done())
    return StreamingResponse(
        reply_events(task, lambda o: o.as_dict()),
        media_type="text/event-stream",
        headers={**SSE_HEADERS, **headers},
    )


@router.get("/{session_id}/messages", response_model=HistoryOut, responses={**_ERRORS, 404: {}})
async def get_history(
    session_id: SessionId,
    state: State,
    principal: CustomerApi,
    after: Annotated[int, Query(ge=0, le=2**62, description="Only messages with a larger id.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> dict[str, Any]:
    """The conversation's status and transcript: the customer, the assistant (with tool calls, sources,
    suggestions and safety verdicts), people and notices. Poll with `after` to get new messages."""
    c = state.conversations
    assert c is not None
    conv = await c.run(lambda: c.require(session_id, widget=principal.role == "widget"))
    messages = await c.run(lambda: c.store.messages(session_id, after=after, limit=limit))
    return {"conversation": conv, "messages": messages}


@router.post("/{session_id}/handoff", response_model=HandoffOut, responses={**_ERRORS, 404: {}})
async def request_person(
    session_id: SessionId, state: State, principal: CustomerApi, body: HandoffIn | None = None
) -> dict[str, Any]:
    """The customer asks for a person ("talk to a person"): the conversation joins the operators' queue."""
    c = state.conversations
    assert c is not None
    return await c.run(
        c.request_person, session_id, body.reason if body else None, principal.role == "widget"
    )


@router.post("/{session_id}/ratings", response_model=OkOut, responses={**_ERRORS, 404: {}})
async def rate_reply(
    session_id: SessionId, body: RatingIn, state: State, principal: CustomerApi
) -> dict[str, Any]:
    """Thumbs up or down on one reply of the assistant (or of a person); rating again replaces it."""
    c = state.conversations
    assert c is not None

    def rate() -> None:
        c.require(session_id, widget=principal.role == "widget")
        msg = c.store.message(body.message_id)
        if msg is None or msg["session_id"] != session_id:
            raise ApiError(404, "unknown_message", "This session has no such message.", param="message_id")
        if msg["author"] not in ("assistant", "operator"):
            raise ApiError(422, "not_a_reply", "Only replies can be rated.", param="message_id")
        c.store.rate(session_id, body.message_id, 1 if body.score == "up" else -1, body.comment)

    await c.run(rate)
    state.metrics.ratings.labels(body.score).inc()
    return {"ok": True}


@router.post("/{session_id}/suggestion-clicks", response_model=OkOut, responses={**_ERRORS, 404: {}})
async def suggestion_clicked(
    session_id: SessionId, body: SuggestionClickIn, state: State, principal: CustomerApi
) -> dict[str, Any]:
    """The customer opened a suggested product's card (counts as the suggestion taken up)."""
    c = state.conversations
    assert c is not None

    def click() -> None:
        c.require(session_id, widget=principal.role == "widget")
        if not c.store.accept_suggestion(session_id, body.product_id, "click"):
            raise ApiError(
                404, "unknown_suggestion", "This product was not suggested here.", param="product_id"
            )

    await c.run(click)
    return {"ok": True}
