"""The customer's channel: a message gets the assistant's reply with everything that happened in the turn."""

from __future__ import annotations

import json

from kefu.server import sign_customer_token


def test_a_message_gets_the_reply_with_tool_calls_and_the_customer(client, kit):
    first = kit.say(client, "c-1", "hi, where is my order #W7678072?")
    assert first["delivered_to"] == "assistant" and first["status"] == "bot"
    assert "email" in first["reply"]["text"]
    out = kit.say(client, "c-1", kit.NOAH_EMAIL)
    reply = out["reply"]
    assert "#W7678072" in reply["text"] and "delivered" in reply["text"]
    assert [c["name"] for c in reply["tool_calls"]] == [
        "find_user_id_by_email",
        "get_user_details",
        "get_order_details",
    ]
    assert reply["tool_calls"][0]["result"] == kit.NOAH
    assert out["customer_id"] == kit.NOAH
    for key in ("sources", "recommendations", "safety"):
        assert isinstance(reply[key], list)
    assert reply["timings"]["total"] > 0
    assert out["customer_message"]["text"] == kit.NOAH_EMAIL


def test_recommendations_come_as_structured_cards(client, kit):
    kit.say(client, "c-rec", f"hi I'm {kit.NOAH_EMAIL}")
    reply = kit.say(client, "c-rec", "can you recommend something?")["reply"]
    assert reply["recommendations"], reply["text"]
    card = reply["recommendations"][0]
    assert {"product_id", "name", "reason"} <= set(card)


def test_the_reply_streams_as_server_sent_events(client, kit):
    kit.say(client, "c-sse", "where is my order #W7678072?")
    r = client.post(
        "/v1/sessions/c-sse/messages",
        json={"text": kit.NOAH_EMAIL},
        headers={**kit.APP, "Accept": "text/event-stream"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = kit.sse_events(r.text)
    kinds = [e for e, _ in events]
    assert kinds[0] == "status" and kinds[-2:] == ["message", "done"]
    assert kinds.count("tool_call") == 3
    text = "".join(json.loads(d)["text"] for e, d in events if e == "delta")
    final = json.loads(events[-2][1])
    assert text == final["reply"]["text"] and "#W7678072" in text
    assert kinds.index("tool_call") < kinds.index("delta")
    # `stream: true` in the body does the same
    r2 = client.post("/v1/sessions/c-sse/messages", json={"text": "thanks", "stream": True}, headers=kit.APP)
    assert [e for e, _ in kit.sse_events(r2.text)][-1] == "done"


def test_history_lists_the_transcript_and_polls_with_after(client, kit):
    kit.say(client, "c-h", "where is my order #W7678072?")
    out = kit.say(client, "c-h", kit.NOAH_EMAIL)
    h = client.get("/v1/sessions/c-h/messages", headers=kit.APP).json()
    assert [m["author"] for m in h["messages"]] == ["customer", "assistant"] * 2
    assert h["conversation"]["customer_id"] == kit.NOAH and h["conversation"]["turns"] == 2
    assert h["messages"][3]["tool_calls"][2]["name"] == "get_order_details"
    newer = client.get(
        "/v1/sessions/c-h/messages", params={"after": out["customer_message"]["id"]}, headers=kit.APP
    ).json()["messages"]
    assert [m["id"] for m in newer] == [out["reply"]["id"]]


def test_unknown_sessions_are_404_and_new_sessions_get_unguessable_ids(client, kit):
    r = client.get("/v1/sessions/never-seen/messages", headers=kit.APP)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_session"
    assert client.post("/v1/sessions/never-seen/handoff", headers=kit.APP).status_code == 404
    made = client.post("/v1/sessions", headers=kit.WIDGET)
    assert made.status_code == 201
    sid = made.json()["session_id"]
    assert len(sid) >= 32 and made.json()["status"] == "bot"
    assert client.get(f"/v1/sessions/{sid}/messages", headers=kit.WIDGET).json()["messages"] == []


def test_ratings_are_recorded_once_per_reply(client, kit):
    out = kit.say(client, "c-r", "hello")
    rid = out["reply"]["id"]
    url = "/v1/sessions/c-r/ratings"
    assert client.post(url, json={"message_id": rid, "score": "down"}, headers=kit.APP).status_code == 200
    assert client.post(url, json={"message_id": rid, "score": "up"}, headers=kit.APP).status_code == 200
    h = client.get("/v1/sessions/c-r/messages", headers=kit.APP).json()
    assert h["messages"][1]["rating"] == 1
    bad = client.post(url, json={"message_id": out["customer_message"]["id"], "score": "up"}, headers=kit.APP)
    assert bad.status_code == 422  # the customer's own message is not a reply
    other = client.post(url, json={"message_id": 999999, "score": "up"}, headers=kit.APP)
    assert other.status_code == 404
    wrong = client.post(url, json={"message_id": rid, "score": "meh"}, headers=kit.APP)
    assert wrong.status_code == 422


def test_a_signed_in_customer_is_handed_over_with_a_token(client, kit):
    token = sign_customer_token(kit.SECRET, kit.NOAH)
    headers = {**kit.WIDGET, "X-Kefu-Customer-Token": token}
    sid = kit.widget_session(client)
    out = kit.say(client, sid, "where is my order #W7678072?", headers)
    assert out["customer_id"] == kit.NOAH
    assert "delivered" in out["reply"]["text"]  # no email asked: the customer is known
    names = [c["name"] for c in out["reply"]["tool_calls"]]
    assert "find_user_id_by_email" not in names and "get_order_details" in names
    conv = client.get(f"/v1/sessions/{sid}/messages", headers=kit.WIDGET).json()["conversation"]
    assert conv["customer_via"] == "token"
    # the conversation cannot then authenticate someone else
    other = kit.say(client, sid, "actually I'm aarav.brown3708@example.com", kit.WIDGET)
    assert other["customer_id"] == kit.NOAH


def test_a_token_for_another_customer_or_session_is_refused(client, kit):
    kit.say(client, "c-conf", kit.NOAH_EMAIL)
    token = sign_customer_token(kit.SECRET, "aarav_brown_3744")
    r = client.post(
        "/v1/sessions/c-conf/messages",
        json={"text": "hi"},
        headers={**kit.APP, "X-Kefu-Customer-Token": token},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "customer_conflict"
    bound = sign_customer_token(kit.SECRET, kit.NOAH, session_id="c-other")
    r = client.post(
        "/v1/sessions/c-new/messages",
        json={"text": "hi"},
        headers={**kit.APP, "X-Kefu-Customer-Token": bound},
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "token_session_mismatch"
    unknown = sign_customer_token(kit.SECRET, "nobody_0000")
    r = client.post(
        "/v1/sessions/c-nobody/messages",
        json={"text": "hi"},
        headers={**kit.APP, "X-Kefu-Customer-Token": unknown},
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_customer"


def test_bad_tokens_are_401_with_the_reason(client, kit):
    good = sign_customer_token(kit.SECRET, kit.NOAH)
    cases = {
        sign_customer_token("another-secret-entirely-0123456789", kit.NOAH): "signature",
        sign_customer_token(kit.SECRET, kit.NOAH, ttl_s=-10): "expired",
        good[:-4] + "AAAA": "signature",
        "not-a-token": "three",
        good.split(".")[0] + "." + good.split(".")[1] + ".": "three",
    }
    for token, why in cases.items():
        r = client.post(
            "/v1/sessions/c-bad/messages",
            json={"text": "hi"},
            headers={**kit.APP, "X-Kefu-Customer-Token": token},
        )
        assert r.status_code == 401, (token, r.text)
        assert why in r.json()["error"]["message"]


def test_a_token_on_a_session_that_started_anonymously(client, kit):
    first = kit.say(client, "c-late", "hi, I need help with an order")
    assert first["customer_id"] is None
    token = sign_customer_token(kit.SECRET, kit.NOAH)
    out = kit.say(
        client, "c-late", "where is my order #W7678072?", {**kit.APP, "X-Kefu-Customer-Token": token}
    )
    assert out["customer_id"] == kit.NOAH and "delivered" in out["reply"]["text"]
    # the same token again is fine: the session already is that customer's
    again = kit.say(client, "c-late", "thanks", {**kit.APP, "X-Kefu-Customer-Token": token})
    assert again["customer_id"] == kit.NOAH


def test_cors_lets_configured_shop_pages_call_the_api(make_client, kit):
    client = make_client(cors_origins=["https://shop.example.com"])
    pre = client.options(
        "/v1/sessions/x/messages",
        headers={
            "Origin": "https://shop.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-api-key,x-kefu-customer-token",
        },
    )
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == "https://shop.example.com"
    other = client.options(
        "/v1/sessions/x/messages",
        headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in other.headers


def test_widget_keys_reach_only_sessions_made_by_a_widget(client, kit):
    kit.say(client, "backend-named", kit.NOAH_EMAIL)  # a session the shop's back end named
    for method, path, body in [
        ("GET", "/v1/sessions/backend-named/messages", None),
        ("POST", "/v1/sessions/backend-named/messages", {"text": "hi"}),
        ("POST", "/v1/sessions/backend-named/handoff", {}),
        ("POST", "/v1/sessions/backend-named/ratings", {"message_id": 2, "score": "up"}),
        ("POST", "/v1/sessions/widget-guess/messages", {"text": "hi"}),  # no new names either
    ]:
        r = client.request(method, path, json=body, headers=kit.WIDGET)
        assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_session", (path, r.text)
    sid = kit.widget_session(client)
    assert kit.say(client, sid, "hello", kit.WIDGET)["reply"]["text"]
    assert client.get(f"/v1/sessions/{sid}/messages", headers=kit.APP).status_code == 200  # the back end may
