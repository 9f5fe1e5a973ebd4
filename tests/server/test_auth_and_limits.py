"""Keys, roles, rate limits, size limits and bad input: the right 4xx with a clear message, never a 500."""

from __future__ import annotations

import pytest


def _error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["message"] and err["request_id"] == r.headers["x-request-id"]
    if code:
        assert err["code"] == code
    return err


def test_keys_are_required_and_checked(client, kit):
    url = "/v1/sessions/k-1/messages"
    _error(client.post(url, json={"text": "hi"}), 401, "missing_api_key")
    _error(
        client.post(url, json={"text": "hi"}, headers={"X-API-Key": "wrong-key-0123456789"}),
        401,
        "invalid_api_key",
    )
    _error(
        client.post(url, json={"text": "hi"}, headers={"Authorization": "Basic abc"}), 401, "missing_api_key"
    )
    assert (
        client.post(url, json={"text": "hi"}, headers={"Authorization": f"Bearer {kit.APP_KEY}"}).status_code
        == 200
    )


def test_each_role_reaches_only_its_endpoints(client, kit):
    kit.say(client, "k-2", "hello")
    _error(client.get("/v1/console/conversations", headers=kit.WIDGET), 403, "forbidden")
    _error(client.get("/v1/console/analytics", headers=kit.APP), 403, "forbidden")
    _error(client.post("/v1/sessions/k-2/messages", json={"text": "hi"}, headers=kit.ALICE), 403)
    chat = {"model": "kefu", "messages": [{"role": "user", "content": "hi"}]}
    _error(client.post("/v1/chat/completions", json=chat, headers=kit.WIDGET), 403)
    assert client.get("/v1/console/me", headers=kit.ALICE).json() == {"name": "alice", "role": "operator"}


def test_rate_limits_are_per_key_with_retry_after(make_client, kit):
    client = make_client(rate_per_minute={"app": 60, "widget": 60, "operator": 60}, rate_burst=3)
    url = "/v1/sessions/k-3/messages"
    codes = [client.get(url, headers=kit.APP).status_code for _ in range(4)]
    assert codes[:3] == [404, 404, 404] and codes[3] == 429
    r = client.get(url, headers=kit.APP)
    _error(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) >= 1
    assert client.get(url, headers=kit.WIDGET).status_code == 404  # another key has its own bucket
    metrics = client.get("/metrics").text
    assert 'kefu_rate_limited_total{role="app"} 2.0' in metrics


def test_bodies_over_the_limit_are_413_with_or_without_a_length(make_client, kit):
    client = make_client(max_body_bytes=1000)
    big = {"text": "x" * 2000}
    _error(client.post("/v1/sessions/k-4/messages", json=big, headers=kit.APP), 413, "body_too_large")

    def chunks():
        yield b'{"text": "'
        for _ in range(20):
            yield b"y" * 100
        yield b'"}'

    r = client.post(
        "/v1/sessions/k-4/messages",
        content=chunks(),
        headers={**kit.APP, "Content-Type": "application/json"},
    )
    _error(r, 413, "body_too_large")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"", 400, "missing_body"),
        (b"[1, 2]", 400, "invalid_body"),
        (b'"text"', 400, "invalid_body"),
        (b'{"text": 5}', 422, "invalid_body"),
        (b'{"text": ""}', 422, "invalid_body"),
        (b'{"text": null}', 422, "invalid_body"),
        (b'{"txt": "hi"}', 422, "invalid_body"),
        (b'{"text": "hi", "stream": "yes"}', 422, "invalid_body"),
        (b'{"text": "hi", "extra": 1}', 422, "invalid_body"),
        (b'{"text": "\\ud800"}', 422, None),
    ],
)
def test_malformed_messages_get_a_clear_4xx(client, kit, body, status, code):
    r = client.post(
        "/v1/sessions/k-5/messages", content=body, headers={**kit.APP, "Content-Type": "application/json"}
    )
    if code is None:  # the JSON decoder or the validator may refuse it: either way a 4xx that says why
        assert 400 <= r.status_code < 500 and r.json()["error"]["message"], r.text
    else:
        _error(r, status, code)


def test_wrong_paths_params_and_methods(client, kit):
    _error(client.get("/v1/sessions/bad id!/messages", headers=kit.APP), 422)
    _error(client.get("/v1/sessions/" + "x" * 200 + "/messages", headers=kit.APP), 422)
    _error(
        client.get("/v1/sessions/k-6/messages", params={"after": "soon"}, headers=kit.APP),
        422,
        "invalid_query",
    )
    _error(client.get("/v1/sessions/k-6/messages", params={"after": -1}, headers=kit.APP), 422)
    _error(client.get("/v1/console/conversations", params={"status": "lost"}, headers=kit.ALICE), 422)
    _error(client.delete("/v1/sessions/k-6/messages", headers=kit.APP), 405, "method_not_allowed")
    _error(client.get("/v2/anything"), 404, "not_found")
    _error(client.post("/v1/sessions/k-6/messages", data={"text": "hi"}, headers=kit.APP), 400)
    r = client.post(
        "/v1/sessions/k-6/messages",
        json={"text": "hi"},
        headers={**kit.APP, "X-Kefu-Customer-Token": "x" * 5000},
    )
    _error(r, 422)
