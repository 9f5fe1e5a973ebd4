"""Health, metrics, JSON logs with the request id, and a graceful shutdown that finishes turns in flight."""

from __future__ import annotations

import json
import logging
import threading
import time

import httpx


def test_healthz_and_metrics(client, kit):
    assert client.get("/healthz").json()["status"] == "ok"
    kit.say(client, "o-1", "hello")
    text = client.get("/metrics").text
    assert 'kefu_turns_total{outcome="ok"} 1.0' in text
    assert (
        'kefu_http_requests_total{method="POST",route="/v1/sessions/{session_id}/messages",status="200"} 1.0'
        in text
    )
    assert "kefu_turn_duration_seconds_bucket" in text and "kefu_turns_in_flight 0.0" in text


def test_the_request_id_is_echoed_and_logged_as_json(client, kit, caplog):
    from kefu.server.logs import JsonFormatter

    with caplog.at_level(logging.INFO, logger="kefu.server.access"):
        r = client.get("/v1/sessions/o-2/messages", headers={**kit.APP, "X-Request-ID": "req-42"})
    assert r.headers["x-request-id"] == "req-42" and r.json()["error"]["request_id"] == "req-42"
    record = next(rec for rec in caplog.records if rec.name == "kefu.server.access")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-42" and line["status"] == 404 and line["key"] == "shop-backend"
    assert line["route"] == "/v1/sessions/{session_id}/messages" and line["duration_ms"] >= 0
    # an unusable id is replaced by a fresh one
    r = client.get("/healthz", headers={"X-Request-ID": "bad id!{}"})
    assert len(r.headers["x-request-id"]) == 32


def test_pages_and_static_files(client):
    demo = client.get("/demo")
    assert demo.status_code == 200 and 'data-kefu-key="pk-widget-for-tests-01"' in demo.text
    assert "script-src 'self'" in demo.headers["content-security-policy"]
    assert "Kefu" in client.get("/static/widget.js").text
    assert client.get("/console").status_code == 200 and "console.js" in client.get("/console").text
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/v1/chat/completions" in spec["paths"] and "/v1/sessions/{session_id}/messages" in spec["paths"]


def test_api_docs_work_offline(client):
    """/docs loads Swagger UI from this server: no CDN, so it works where the internet is out of reach."""
    import re

    page = client.get("/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    assert "http://" not in page.text and "https://" not in page.text
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > (100_000 if url.endswith(".js") else 100), url


def test_no_demo_page_unless_asked(make_client):
    assert make_client(demo_page=False).get("/demo").status_code == 404


def test_shutdown_finishes_the_turns_in_flight(make_bot, kit):
    from kefu.server import create_app

    bot = kit.SlowBot(make_bot(), delay=1.0)
    server = kit.start_live(create_app(bot, settings=kit.settings()), timeout_graceful_shutdown=20)
    results: dict[str, httpx.Response] = {}

    def send(name: str, stream: bool) -> None:
        results[name] = httpx.post(
            f"{server.url}/v1/sessions/{name}/messages",
            json={"text": "hello", "stream": stream},
            headers=kit.APP,
            timeout=30,
        )

    threads = [threading.Thread(target=send, args=(n, n == "sd-stream")) for n in ("sd-json", "sd-stream")]
    for t in threads:
        t.start()
    deadline = time.time() + 10
    while len(server.server.server_state.tasks) < 2 and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    server.server.should_exit = True  # what SIGTERM does
    for t in threads:
        t.join(30)
    server.thread.join(30)
    assert results["sd-json"].status_code == 200 and results["sd-json"].json()["reply"]["text"]
    assert results["sd-stream"].status_code == 200 and "event: done" in results["sd-stream"].text
    assert sorted(s for s, _ in bot.seen) == ["sd-json", "sd-stream"]
    # and it took no new connections after the signal
    try:
        httpx.get(f"{server.url}/healthz", timeout=2)
        raise AssertionError("the server still answers")
    except httpx.TransportError:
        pass


def test_requests_before_the_assistant_is_ready_get_503(kit):
    from fastapi.testclient import TestClient

    from kefu.server import create_app

    app = create_app(settings=kit.settings(), assistant_factory=lambda: None)
    client = TestClient(app)  # not entered: the lifespan (which builds the assistant) has not run
    assert client.get("/healthz").status_code == 503
    r = client.post("/v1/sessions/x/messages", json={"text": "hi"}, headers=kit.APP)
    assert r.status_code == 503 and r.json()["error"]["code"] == "starting"
