"""The reply writer as an OpenAI-compatible model server (vLLM serving SmolLM2 with kefu's LoRA adapter,
docs/deploy.md): kefu's client side against a small stand-in server on 127.0.0.1.

The model server is the true external boundary, so it is what is faked; the plan, the grounding check,
regeneration and fallback, the conversation and the database are real.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kefu import Assistant

Writer = Callable[[str], str]


class ChatCompletionsStandIn:
    """`POST /v1/chat/completions` as vLLM answers it, the text from `write(draft)`; records requests."""

    def __init__(self, write: Writer) -> None:
        self.write = write
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stand_in.requests.append((dict(self.headers), body))
                plan = body["messages"][-1]["content"]
                draft = plan.rsplit("draft: ", 1)[-1]
                text = stand_in.write(draft)
                payload = json.dumps(
                    {
                        "id": "cmpl-1",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {
                            "prompt_tokens": 10,
                            "completion_tokens": len(text.split()),
                            "total_tokens": 20,
                        },
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def model_server() -> Iterator[Callable[[Writer], ChatCompletionsStandIn]]:
    servers: list[ChatCompletionsStandIn] = []

    def start(write: Writer) -> ChatCompletionsStandIn:
        servers.append(ChatCompletionsStandIn(write))
        return servers[-1]

    yield start
    for s in servers:
        s.server.shutdown()


def _writer_bot(make_bot: Callable[..., Assistant], url: str, monkeypatch: pytest.MonkeyPatch) -> Assistant:
    monkeypatch.setenv("KEFU_WRITER_KEY", "writer-secret")
    bot = make_bot()
    # the same config a deployment sets (docs/deploy.md): generator kind openai at the model server
    from kefu.agents.generation import writer_from_config
    from kefu.config import GeneratorConfig

    bot.writer = writer_from_config(
        GeneratorConfig(kind="openai", model="kefu-writer", base_url=url, api_key_env="KEFU_WRITER_KEY")
    )
    return bot


def test_the_reply_is_written_by_the_model_server(make_bot, model_server, monkeypatch):
    server = model_server(lambda draft: f"Thanks for waiting! {draft}")
    bot = _writer_bot(make_bot, server.url, monkeypatch)
    bot.respond("hey where's my order #W2611340", session_id="s1")
    reply = bot.respond("james.li4495@example.com", session_id="s1")
    assert reply.text.startswith("Thanks for waiting!") and "357962501027" in reply.text
    assert reply.generation["mode"] == "generated"
    headers, body = server.requests[-1]
    assert body["model"] == "kefu-writer"  # the LoRA module's name at the vLLM server
    assert headers["Authorization"] == "Bearer writer-secret"
    assert "tracking=357962501027" in body["messages"][-1]["content"]  # the plan's facts went along


def test_a_reply_inventing_a_fact_never_reaches_the_customer(make_bot, model_server, monkeypatch):
    server = model_server(lambda draft: "Your order arrives tomorrow with tracking number 123456789012.")
    bot = _writer_bot(make_bot, server.url, monkeypatch)
    bot.respond("hey where's my order #W2611340", session_id="s1")
    before = len(server.requests)
    reply = bot.respond("james.li4495@example.com", session_id="s1")
    assert "123456789012" not in reply.text and "357962501027" in reply.text
    assert reply.generation["mode"] == "fallback"
    assert len(server.requests) - before == 2  # written, then regenerated once, then the template
