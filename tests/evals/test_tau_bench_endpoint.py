"""The τ-bench suite through a real OpenAI-compatible client, against a fake endpoint on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kefu.evals.config import EvalConfig
from kefu.evals.harness import run_evaluation

pytest.importorskip("langchain_openai", reason="the simulated customer needs kefu[openai]")

CUSTOMER = [
    "Hi, I'm Ava, ava.kovacs4827@example.com. Please cancel order #W4184032, I don't need it anymore.",
    "yes",
    "###STOP###",
]


class FakeCustomerEndpoint(ThreadingHTTPServer):
    """/v1/chat/completions answering with the next customer line; it records what it was sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lines = list(CUSTOMER)
        self.requests: list[dict[str, Any]] = []


class _Handler(BaseHTTPRequestHandler):
    server: FakeCustomerEndpoint

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        text = self.server.lines.pop(0) if self.server.lines else "###STOP###"
        answer = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", "fake"),
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCustomerEndpoint]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server = FakeCustomerEndpoint()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_simulated_customer_on_an_endpoint_and_the_embedded_brain(
    endpoint: FakeCustomerEndpoint, tmp_path: Path
):
    tasks = tmp_path / "datasets" / "tau_bench_retail"
    tasks.mkdir(parents=True)
    task = {
        "user_id": "ava_kovacs_3448",
        "instruction": "You are Ava Kovacs. Cancel #W4184032; you no longer need it.",
        "actions": [
            {
                "name": "cancel_pending_order",
                "kwargs": {"order_id": "#W4184032", "reason": "no longer needed"},
            }
        ],
        "outputs": [],
    }
    (tasks / "tasks_test.json").write_text(json.dumps([task]), encoding="utf-8")
    url = f"http://127.0.0.1:{endpoint.server_address[1]}/v1"
    config = EvalConfig.model_validate(
        {
            "datasets": str(tmp_path / "datasets"),
            "options": {"tau_bench": {"user": {"base_url": url, "model": "sim"}}},
        }
    )
    results, _ = run_evaluation(["tau_bench"], config, tmp_path / "run")
    report = results.suites["tau_bench"]
    assert report.status == "ok", report.reason
    case = report.cases[0]
    assert case.passed, (case.detail, case.transcript)
    assert report.metrics["reward"].value == 1.0 and case.data["stop_reason"] == "customer stopped"
    first = endpoint.requests[0]
    assert first["model"] == "sim" and first["messages"][0]["role"] == "system"
    assert "Cancel #W4184032" in first["messages"][0]["content"]
    assert first["messages"][1] == {"role": "user", "content": "Hi! How can I help you today?"}
