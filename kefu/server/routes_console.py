"""The operators' side: the queue of conversations handed to people, take-over, replies, hand-back,
and the analytics figures. Every action needs an operator key; the key's name is the operator."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from kefu.server.conversations import Conversations
from kefu.server.deps import OperatorApi, State
from kefu.server.schemas import (
    SESSION_ID_PATTERN,
    Conversation,
    HistoryOut,
    Message,
    OperatorMessageIn,
    ReleaseOut,
)

router = APIRouter(prefix="/v1/console", tags=["console"])
SessionId = Annotated[str, Path(pattern=SESSION_ID_PATTERN)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"},
    403: {"description": "Not an operator key"},
    404: {"description": "No such session"},
    409: {"description": "Another operator holds it, or nobody does"},
}


class Analytics(BaseModel):
    conversations: int
    by_status: dict[str, int]
    messages: dict[str, int]
    by_intent: dict[str, int]
    """Customer messages by what they asked for (the assistant's intent, else the turn's tool calls)."""
    escalation: dict[str, float | int]
    recommendations: dict[str, Any]
    ratings: dict[str, float | int | None]
    sentiment: dict[str, Any] = {}
    """Customer sentiment over time: per day, turns read, mean score (-1..1) and share negative."""


def _c(state: Any) -> Conversations:
    conversations: Conversations = state.conversations
    return conversations


class Me(BaseModel):
    name: str
    role: str


@router.get("/me", response_model=Me, responses={401: {}, 403: {}})
async def me(operator: OperatorApi) -> dict[str, Any]:
    """Who this operator key belongs to."""
    return {"name": operator.name, "role": operator.role}


@router.get("/conversations", response_model=list[Conversation], responses=_ERRORS)
async def list_conversations(
    state: State,
    _: OperatorApi,
    status: Annotated[
        str | None,
        Query(
            pattern=r"^(bot|queued|held)(,(bot|queued|held))*$",
            description="Comma-separated statuses, e.g. `queued,held` (the queue); all by default.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Conversations, latest first: the queue is `status=queued,held`."""
    c = _c(state)
    statuses = tuple(status.split(",")) if status else None
    return await c.run(lambda: c.store.conversations(statuses, limit))


@router.get("/conversations/{session_id}", response_model=HistoryOut, responses=_ERRORS)
async def conversation(session_id: SessionId, state: State, _: OperatorApi) -> dict[str, Any]:
    """The whole transcript with the assistant's tool calls, sources, suggestions and safety verdicts."""
    c = _c(state)
    conv = await c.run(c.require, session_id)
    return {"conversation": conv, "messages": await c.run(c.store.messages, session_id)}


@router.post("/conversations/{session_id}/take", response_model=Conversation, responses=_ERRORS)
async def take(session_id: SessionId, state: State, operator: OperatorApi) -> dict[str, Any]:
    """Take the conversation over: from now on the customer's messages come to you, not the assistant."""
    c = _c(state)
    return await c.locked(session_id, c.take, session_id, operator.name)


@router.post("/conversations/{session_id}/messages", response_model=Message, responses=_ERRORS)
async def reply(
    session_id: SessionId, body: OperatorMessageIn, state: State, operator: OperatorApi
) -> dict[str, Any]:
    """Write to the customer (only while you hold the conversation); it reaches them in the widget."""
    c = _c(state)
    return await c.run(c.operator_says, session_id, operator.name, body.text)


@router.post("/conversations/{session_id}/release", response_model=ReleaseOut, responses=_ERRORS)
async def release(session_id: SessionId, state: State, operator: OperatorApi) -> dict[str, Any]:
    """Hand the conversation back to the assistant, which learns what was said meanwhile."""
    c = _c(state)
    return await c.locked(session_id, c.release, session_id, operator.name)


@router.get("/analytics", response_model=Analytics, responses={401: {}, 403: {}})
async def analytics(state: State, _: OperatorApi) -> dict[str, Any]:
    """Volume by intent, escalation rate, suggestion acceptance and customer ratings."""
    c = _c(state)
    return await c.run(c.store.analytics)
