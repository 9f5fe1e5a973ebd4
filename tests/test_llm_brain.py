"""Any tool-calling chat model can be the brain: here an OpenAI-compatible endpoint.

The endpoint is the true external boundary, so it is the one thing faked: a tiny HTTP server on
127.0.0.1 that answers /v1/chat/completions from a script, the way vLLM or Ollama would. Everything
else is real: langchain-openai's client, kefu's tools, the shop database and the confirmation gate.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from kefu import Assistant, Config, ConfigError
from kefu.tools.orders import OrderStore

pytest.importorskip("langchain_openai", reason="needs the 'openai' extra: pip install 'kefu[openai]'")


def _call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"call_{name}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
        ],
    }


class ScriptedEndpoint:
    """Answers each chat completion with the next scripted message; records what it was sent."""

    def __init__(self, script: list[dict[str, Any]]) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.requests.append(body)
                message = endpoint.script.pop(0)
                payload = json.dumps(
                    {
                        "id": "cmpl-1",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": message,
                                "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
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
def endpoint() -> Iterator[ScriptedEndpoint]:
    ep = ScriptedEndpoint(
        [
            _call("find_user_id_by_email", {"email": "ava.kovacs4827@example.com"}),
            _call("cancel_pending_order", {"order_id": "#W4184032", "reason": "no longer needed"}),
            {
                "role": "assistant",
                "content": "I will cancel #W4184032 because it is no longer needed. Confirm?",
            },
            _call("cancel_pending_order", {"order_id": "#W4184032", "reason": "no longer needed"}),
            {"role": "assistant", "content": "Done, it is cancelled."},
        ]
    )
    yield ep
    ep.server.shutdown()


def test_an_openai_compatible_endpoint_drives_the_same_tools_and_policy(
    endpoint: ScriptedEndpoint, shop_url: str, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("SHOP_LLM_KEY", "test-key")
    bot = Assistant(
        Config(
            data_dir=tmp_path,
            shop={"database_url": shop_url},
            brain={
                "kind": "openai",
                "base_url": endpoint.url,
                "model": "my-model",
                "api_key_env": "SHOP_LLM_KEY",
            },
        )
    )
    store = OrderStore(create_engine(shop_url))
    first = bot.respond(
        "cancel #W4184032 please, I don't need it. ava.kovacs4827@example.com", session_id="s1"
    )
    assert first.text.endswith("Confirm?")
    assert "confirmation_required" in (first.tool_calls[1].result or "")
    assert store.order_details("#W4184032", customer_id=None)["status"] == "pending"

    done = bot.respond("yes", session_id="s1")
    assert [w.name for w in done.writes] == ["cancel_pending_order"]
    assert store.order_details("#W4184032", customer_id=None)["status"] == "cancelled"
    # the endpoint got the policy as system prompt and the tools with τ-bench's schemas
    request = endpoint.requests[0]
    assert request["model"] == "my-model"
    assert "one tool call at a time" in request["messages"][0]["content"]
    names = {t["function"]["name"] for t in request["tools"]}
    assert {"cancel_pending_order", "find_user_id_by_email", "get_order_details"} <= names
    assert "runtime" not in json.dumps(request["tools"])  # injected arguments are not shown to the model
    bot.close()


def test_an_openai_brain_needs_an_endpoint(shop_url: str, tmp_path: Path):
    with pytest.raises(ConfigError, match="base_url"):
        Assistant(Config(data_dir=tmp_path, shop={"database_url": shop_url}, brain={"kind": "openai"}))
