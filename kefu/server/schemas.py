"""Request and response bodies of the customer and console endpoints (they make the OpenAPI spec)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SESSION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
"""Session ids: 1-128 characters, letters, digits and . _ : - (not starting with a symbol)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class MessageIn(_Strict):
    text: str = Field(min_length=1, max_length=16000, description="What the customer wrote.")
    stream: bool = Field(
        default=False, description="Answer as server-sent events (same as `Accept: text/event-stream`)."
    )


class HandoffIn(_Strict):
    reason: str | None = Field(default=None, max_length=500)


class RatingIn(_Strict):
    message_id: int = Field(ge=1, description="The id of the assistant's (or person's) message rated.")
    score: Literal["up", "down"]
    comment: str | None = Field(default=None, max_length=1000)


class SuggestionClickIn(_Strict):
    product_id: str = Field(min_length=1, max_length=64)


class OperatorMessageIn(_Strict):
    text: str = Field(min_length=1, max_length=8000)


class ToolCall(BaseModel):
    name: str
    args: dict[str, Any]
    result: str | None = None
    error: str | None = None


class Message(BaseModel):
    """One message of the channel's transcript."""

    id: int
    session_id: str
    author: Literal["customer", "assistant", "operator", "system"]
    text: str
    at: str
    operator: str | None = None
    intent: str | None = Field(default=None, description="Customer messages: what they asked for.")
    tool_calls: list[ToolCall] | None = None
    sources: list[dict[str, Any]] | None = None
    recommendations: list[dict[str, Any]] | None = None
    safety: list[dict[str, Any]] | None = None
    timings: dict[str, float] | None = None
    handoff: bool | None = None
    rating: int | None = None
    customer_id: str | None = None


class Conversation(BaseModel):
    session_id: str
    status: Literal["bot", "queued", "held"] = Field(
        description="bot: the assistant answers; queued: waiting for a person; held: a person answers."
    )
    channel: str
    customer_id: str | None
    customer_via: str | None
    operator: str | None
    handoff_reason: str | None
    escalated: bool
    turns: int
    last_text: str
    created_at: str
    updated_at: str
    queued_at: str | None


class MessageOut(BaseModel):
    """What one customer message led to."""

    session_id: str
    status: Literal["bot", "queued", "held"]
    delivered_to: Literal["assistant", "person"]
    customer_id: str | None
    customer_message: Message
    reply: Message | None = Field(
        description="The assistant's reply; null when a person has the conversation."
    )
    notices: list[Message] = []


class SessionOut(BaseModel):
    session_id: str
    status: Literal["bot", "queued", "held"]
    customer_id: str | None


class HistoryOut(BaseModel):
    conversation: Conversation
    messages: list[Message]


class HandoffOut(BaseModel):
    conversation: Conversation
    notice: Message | None


class ReleaseOut(BaseModel):
    conversation: Conversation
    note: Message | None


class OkOut(BaseModel):
    ok: bool = True
