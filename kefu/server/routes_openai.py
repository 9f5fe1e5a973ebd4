"""An OpenAI-compatible `POST /v1/chat/completions`, so existing chat clients talk to the assistant.

The server keeps the conversation: only the last `user` message of `messages` is sent to the
assistant (earlier ones are ignored). The session is, in this order: the `X-Kefu-Session-Id` header,
the `user` field, else a new session whose id comes back in the `X-Kefu-Session-Id` response header
and in the extra `kefu` object of the answer (tool calls, sources, suggestions, safety, status).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from kefu.server.conversations import Outcome
from kefu.server.deps import AppApi, CustomerTokenHeader, State, customer_from
from kefu.server.errors import ApiError
from kefu.server.schemas import SESSION_ID_PATTERN
from kefu.server.streaming import SSE_HEADERS, pieces, sse, wait_with_keepalive

router = APIRouter(prefix="/v1", tags=["openai-compatible"])
MODEL_ID = "kefu"
PERSON_NOTICE = "A person from our team has this conversation and will answer you here shortly."
_SESSION = re.compile(SESSION_ID_PATTERN)


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str = Field(max_length=40)
    text: str | None = Field(default=None, max_length=16000)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = Field(default=None)
    name: str | None = Field(default=None, max_length=200)


class ChatCompletionIn(BaseModel):
    """The OpenAI chat-completions request; sampling fields are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")
    model: str = Field(max_length=200, description="Any name; the answer says `kefu`.")
    messages: list[ChatMessage] = Field(min_length=1, max_length=1000)
    stream: bool = False
    user: str | None = Field(
        default=None, max_length=128, description="Used as the session id (if no header)."
    )


def _last_user_text(messages: list[ChatMessage]) -> str:
    for m in reversed(messages):
        if m.role != "user":
            continue
        if isinstance(m.content, str):
            text = m.content
        elif m.content:
            text = "\n".join(p.text for p in m.content if p.type == "text" and p.text)
        else:
            text = ""
        if text.strip():
            return text
        break
    raise ApiError(400, "no_user_message", "The last user message must have text content.", param="messages")


def _session_id(header: str | None, user: str | None) -> tuple[str, bool]:
    for value, where in ((header, "X-Kefu-Session-Id"), (user, "user")):
        if value:
            if not _SESSION.match(value):
                raise ApiError(
                    400,
                    "invalid_session_id",
                    f"{where} must be 1-128 letters, digits and . _ : - (it names the session).",
                    param=where,
                )
            return value, False
    return f"oa_{uuid.uuid4().hex}", True


def _kefu_extra(outcome: Outcome) -> dict[str, Any]:
    reply = outcome.reply or {}
    return {
        "session_id": outcome.session_id,
        "status": outcome.status,
        "delivered_to": outcome.delivered_to,
        "customer_id": outcome.customer_id,
        "message_id": reply.get("id"),
        "tool_calls": reply.get("tool_calls", []),
        "sources": reply.get("sources", []),
        "recommendations": reply.get("recommendations", []),
        "safety": reply.get("safety", []),
        "handoff": bool(reply.get("handoff")) or outcome.status != "bot",
    }


def _text(outcome: Outcome) -> str:
    return outcome.reply["text"] if outcome.reply is not None else PERSON_NOTICE


def _usage(prompt: str, answer: str) -> dict[str, int]:
    p, c = len(prompt.split()), len(answer.split())
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


@router.get("/models")
async def list_models(_: AppApi) -> dict[str, Any]:
    """The one model this server offers, for clients that list models first."""
    return {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "kefu"}],
    }


@router.post(
    "/chat/completions",
    responses={
        200: {
            "description": "A `chat.completion`, or `chat.completion.chunk` server-sent events ending "
            "with `data: [DONE]` when `stream` is true. The extra `kefu` object carries the turn's details.",
            "content": {"text/event-stream": {}},
        },
        401: {"description": "Missing or invalid API key"},
        429: {"description": "Rate limited"},
    },
)
async def chat_completions(
    body: ChatCompletionIn,
    state: State,
    _: AppApi,
    token: CustomerTokenHeader = None,
    session_header: Annotated[
        str | None, Header(alias="X-Kefu-Session-Id", max_length=200, description="The session id.")
    ] = None,
) -> Any:
    """OpenAI-compatible chat completion over the assistant (see the module's notes on sessions)."""
    conversations = state.conversations
    assert conversations is not None
    text = _last_user_text(body.messages)
    session_id, new = _session_id(session_header, body.user)
    customer = customer_from(token, state, session_id)
    checked, task = await conversations.submit(session_id, text, customer=customer, channel="openai")
    await asyncio.shield(checked)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    headers = {"X-Kefu-Session-Id": session_id}
    if body.stream:
        return StreamingResponse(
            _chunks(task, completion_id, created),
            media_type="text/event-stream",
            headers={**SSE_HEADERS, **headers},
        )
    outcome = await asyncio.shield(task)
    answer = _text(outcome)
    return JSONResponse(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": MODEL_ID,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer, "refusal": None},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": _usage(text, answer),
            "kefu": _kefu_extra(outcome),
        },
        headers=headers,
    )


async def _chunks(task: asyncio.Task[Outcome], completion_id: str, created: int) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **extra,
        }
        return sse(None, json.dumps(body, ensure_ascii=False))

    yield chunk({"role": "assistant", "content": ""})
    async for comment in wait_with_keepalive(task):
        yield comment
    try:
        outcome = task.result()
    except ApiError as e:
        yield sse(None, {"error": {"message": e.message, "type": "api_error", "code": e.code}})
        yield sse(None, "[DONE]")
        return
    except Exception:
        yield sse(None, {"error": {"message": "The turn failed on the server.", "type": "api_error"}})
        yield sse(None, "[DONE]")
        return
    for piece in pieces(_text(outcome)):
        yield chunk({"content": piece})
    yield chunk({}, "stop", kefu=_kefu_extra(outcome))
    yield sse(None, "[DONE]")
