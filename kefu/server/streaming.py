"""Server-sent events: the framing, and a reply played out as events while its turn runs.

The SDK answers a turn as a whole (`Assistant.respond`), so while the turn runs the stream sends
`status` and keep-alive comments; when it is done, the tool calls, then the text in small `delta`s,
then the whole result. A client shows text as it comes and needs no other code path when the
assistant one day streams tokens.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from kefu.server.conversations import Outcome
from kefu.server.errors import ApiError, error_body

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}
KEEPALIVE_S = 10.0
_PIECES = re.compile(r"\S+\s*|\s+")


def sse(event: str | None, data: Any) -> str:
    lines = [] if event is None else [f"event: {event}"]
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    lines += [f"data: {line}" for line in payload.split("\n")]
    return "\n".join(lines) + "\n\n"


def pieces(text: str, words: int = 3) -> list[str]:
    """The text in chunks of a few words (whitespace kept, so joining them gives the text back)."""
    tokens = _PIECES.findall(text)
    return ["".join(tokens[i : i + words]) for i in range(0, len(tokens), words)] or [""]


async def wait_with_keepalive(task: asyncio.Task[Outcome]) -> AsyncIterator[str]:
    """Comments every KEEPALIVE_S while the turn runs (proxies close silent connections)."""
    while not task.done():
        done, _ = await asyncio.wait({task}, timeout=KEEPALIVE_S)
        if not done:
            yield ": keep-alive\n\n"


async def reply_events(task: asyncio.Task[Outcome], render: Callable[[Outcome], Any]) -> AsyncIterator[str]:
    """`accepted`, then `tool_call`s, `delta`s, `notice`s, `message` (the full result) and `done`."""
    yield sse("status", {"status": "thinking"})
    async for comment in wait_with_keepalive(task):
        yield comment
    try:
        outcome = task.result()
    except ApiError as e:
        yield sse("error", error_body(e.status, e.code, e.message, e.param))
        return
    except Exception:
        yield sse("error", error_body(500, "internal_error", "The turn failed on the server; it was logged."))
        return
    if outcome.reply is not None:
        for call in outcome.reply.get("tool_calls", []):
            yield sse("tool_call", call)
        for chunk in pieces(outcome.reply["text"]):
            yield sse("delta", {"text": chunk})
    for notice in outcome.notices:
        yield sse("notice", notice)
    yield sse("message", render(outcome))
    yield sse("done", {})
