"""Hand-off and take-over: a person takes a conversation, answers through the same channel, hands it back."""

from __future__ import annotations

from typing import Any


def _ask_person(client: Any, kit: Any, session: str) -> dict[str, Any]:
    kit.say(client, session, "where is my order #W7678072?")
    kit.say(client, session, kit.NOAH_EMAIL)
    out = kit.say(client, session, "I want to talk to a person")
    assert out["status"] == "queued" and out["reply"]["handoff"] is True
    return out


def _queue(client: Any, kit: Any) -> list[dict[str, Any]]:
    r = client.get("/v1/console/conversations", params={"status": "queued,held"}, headers=kit.ALICE)
    assert r.status_code == 200
    return r.json()


def test_the_assistants_handoff_puts_the_conversation_in_the_queue(client, kit):
    _ask_person(client, kit, "h-1")
    kit.say(client, "other", "hello")  # a conversation that stays with the assistant
    queue = _queue(client, kit)
    assert [c["session_id"] for c in queue] == ["h-1"]
    assert queue[0]["customer_id"] == kit.NOAH and queue[0]["handoff_reason"]


def test_the_widgets_button_asks_for_a_person(client, kit):
    sid = kit.widget_session(client)
    kit.say(client, sid, "hello", kit.WIDGET)
    r = client.post(
        f"/v1/sessions/{sid}/handoff", json={"reason": "wants a refund exception"}, headers=kit.WIDGET
    )
    assert r.status_code == 200
    body = r.json()
    assert body["conversation"]["status"] == "queued" and body["notice"]["author"] == "system"
    assert _queue(client, kit)[0]["handoff_reason"] == "wants a refund exception"
    again = client.post(f"/v1/sessions/{sid}/handoff", headers=kit.WIDGET).json()
    assert again["notice"] is None  # asking twice queues once


def test_a_person_takes_over_replies_and_hands_back(client, kit):
    bot = client.app.state.kefu.bot
    _ask_person(client, kit, "h-2")
    bot_messages = len(bot.history("h-2"))

    # while queued, the customer's messages go to people, not to the assistant
    waiting = kit.say(client, "h-2", "is anyone there?")
    assert waiting["delivered_to"] == "person" and waiting["reply"] is None

    take = client.post("/v1/console/conversations/h-2/take", headers=kit.ALICE)
    assert take.status_code == 200 and take.json()["status"] == "held" and take.json()["operator"] == "alice"
    assert client.post("/v1/console/conversations/h-2/take", headers=kit.BOB).status_code == 409

    # the console sees the whole history, with tool calls
    seen = client.get("/v1/console/conversations/h-2", headers=kit.ALICE).json()["messages"]
    assert any(m.get("tool_calls") and m["tool_calls"][0]["name"] == "find_user_id_by_email" for m in seen)
    assert seen[-2]["text"] == "is anyone there?" and seen[-1]["author"] == "system"

    said = client.post(
        "/v1/console/conversations/h-2/messages", json={"text": "Hi Noah, Alice here."}, headers=kit.ALICE
    )
    assert said.status_code == 200 and said.json()["author"] == "operator"
    assert (
        client.post(
            "/v1/console/conversations/h-2/messages", json={"text": "me too"}, headers=kit.BOB
        ).status_code
        == 409
    )

    # the customer's widget polls and gets the person's answer through the same channel
    new = client.get(
        "/v1/sessions/h-2/messages", params={"after": waiting["customer_message"]["id"]}, headers=kit.APP
    )
    texts = [(m["author"], m["text"]) for m in new.json()["messages"]]
    assert ("operator", "Hi Noah, Alice here.") in texts
    assert new.json()["conversation"]["status"] == "held"

    reply = kit.say(client, "h-2", "can you waive the return fee?")
    assert reply["delivered_to"] == "person" and reply["status"] == "held"
    assert len(bot.history("h-2")) == bot_messages  # the assistant heard nothing of it

    back = client.post("/v1/console/conversations/h-2/release", headers=kit.ALICE)
    assert back.status_code == 200 and back.json()["conversation"]["status"] == "bot"
    assert back.json()["note"]["author"] == "assistant"

    again = kit.say(client, "h-2", "what is the status of order #W7678072?")
    assert again["delivered_to"] == "assistant" and again["status"] == "bot"
    assert "delivered" in again["reply"]["text"] and again["reply"]["handoff"] is False
    assert _queue(client, kit) == []


def test_an_operator_can_take_over_a_conversation_the_assistant_still_has(client, kit):
    kit.say(client, "h-3", "hello")
    r = client.post("/v1/console/conversations/h-3/take", headers=kit.BOB)
    assert r.status_code == 200 and r.json()["status"] == "held" and r.json()["escalated"] is True
    assert kit.say(client, "h-3", "hi?")["delivered_to"] == "person"
    assert client.post("/v1/console/conversations/h-3/release", headers=kit.ALICE).status_code == 409
    assert client.post("/v1/console/conversations/nope/take", headers=kit.ALICE).status_code == 404


def test_analytics_figures(client, kit):
    # three conversations: one escalated; suggestions shown, one taken up by a click, one by asking
    kit.say(client, "a-1", kit.NOAH_EMAIL)
    rec = kit.say(client, "a-1", "can you recommend something?")["reply"]
    shown = [r["product_id"] for r in rec["recommendations"]]
    assert len(shown) >= 2
    ok = client.post("/v1/sessions/a-1/suggestion-clicks", json={"product_id": shown[0]}, headers=kit.APP)
    assert ok.status_code == 200
    nope = client.post("/v1/sessions/a-1/suggestion-clicks", json={"product_id": "123"}, headers=kit.APP)
    assert nope.status_code == 404
    client.post("/v1/sessions/a-1/ratings", json={"message_id": rec["id"], "score": "up"}, headers=kit.APP)
    _ask_person(client, kit, "a-2")
    hello = kit.say(client, "a-3", "hello")["reply"]
    client.post(
        "/v1/sessions/a-3/ratings", json={"message_id": hello["id"], "score": "down"}, headers=kit.APP
    )

    a = client.get("/v1/console/analytics", headers=kit.ALICE).json()
    assert a["conversations"] == 3
    assert a["escalation"] == {"escalated": 1, "rate": round(1 / 3, 4)}
    assert a["by_status"] == {"bot": 2, "queued": 1, "held": 0}
    assert a["recommendations"]["shown"] == len(shown)
    assert a["recommendations"]["accepted"] == 1 and a["recommendations"]["accepted_by"] == {"click": 1}
    assert a["recommendations"]["acceptance_rate"] == round(1 / len(shown), 4)
    assert a["ratings"] == {"up": 1, "down": 1, "satisfaction": 0.5}
    assert a["by_intent"]["recommendation"] == 1 and a["by_intent"]["human_agent"] == 1
    assert sum(a["by_intent"].values()) == a["messages"]["customer"] == 6
    # sentiment over time: every assistant turn read the customer's message
    mood = a["sentiment"]
    assert mood["turns"] >= 4 and len(mood["by_day"]) == 1 and 0 <= mood["negative"] <= 1
    assert -1 <= mood["by_day"][0]["mean_score"] <= 1 and mood["by_day"][0]["turns"] == mood["turns"]


def test_asking_about_a_suggested_product_counts_as_taking_it_up(client, kit):
    kit.say(client, "a-ask", kit.NOAH_EMAIL)
    rec = kit.say(client, "a-ask", "can you recommend something?")["reply"]["recommendations"]
    out = kit.say(client, "a-ask", f"tell me more about the {rec[0]['name']}")
    assert any(c["name"] == "get_product_details" for c in out["reply"]["tool_calls"]), out["reply"]
    a = client.get("/v1/console/analytics", headers=kit.ALICE).json()
    assert a["recommendations"]["accepted_by"] == {"asked": 1}


def test_a_person_asked_for_during_a_turn_is_what_the_turn_reports(client, kit, monkeypatch):
    """The widget's button can be pressed while the assistant is still answering; the answer must not
    report the conversation as back with the bot (the widget would re-enable the button)."""
    state = client.app.state.kefu
    sid = kit.widget_session(client)
    respond = state.bot.respond

    def respond_while_the_customer_presses_the_button(*args: Any, **kwargs: Any) -> Any:
        reply = respond(*args, **kwargs)
        state.conversations.request_person(sid, None, widget=True)
        return reply

    monkeypatch.setattr(state.bot, "respond", respond_while_the_customer_presses_the_button)
    out = kit.say(client, sid, "hello", kit.WIDGET)
    assert out["delivered_to"] == "assistant" and out["reply"] is not None
    assert out["status"] == "queued"
