"""The scripted chat model: test your own flows, tools and policies without any model."""

from __future__ import annotations

from collections.abc import Callable

from kefu import Assistant, ScriptedChatModel


def test_a_script_drives_real_tools_on_a_real_shop(make_bot: Callable[..., Assistant]):
    model = ScriptedChatModel(
        [
            {"tool": "find_user_id_by_email", "args": {"email": "noah.brown7922@example.com"}},
            {"tool": "get_order_details", "args": {"order_id": "#W7678072"}},
            "Your order is delivered.",
        ]
    )
    bot = make_bot(chat_model=model)
    reply = bot.respond("where is my order? noah.brown7922@example.com", session_id="s1")
    assert reply.text == "Your order is delivered."
    assert [c.name for c in reply.tool_calls] == ["find_user_id_by_email", "get_order_details"]
    assert '"status": "delivered"' in (reply.tool_calls[1].result or "")
    assert model.remaining == 0


def test_policy_holds_whatever_the_model_does(make_bot: Callable[..., Assistant]):
    """A model that skips authentication, or reads another customer's order, is refused by the tools."""
    model = ScriptedChatModel(
        [
            {"tool": "get_order_details", "args": {"order_id": "#W7678072"}},
            {"tool": "find_user_id_by_email", "args": {"email": "ava.kovacs4827@example.com"}},
            {"tool": "get_order_details", "args": {"order_id": "#W7678072"}},
            {"tool": "find_user_id_by_email", "args": {"email": "noah.brown7922@example.com"}},
            "done",
        ]
    )
    bot = make_bot(chat_model=model)
    reply = bot.respond("hi", session_id="s1")
    errors = [c.error or "" for c in reply.tool_calls]
    assert "not authenticated" in errors[0]
    assert errors[1] == ""  # Ava authenticated
    assert "order not found" in errors[2]  # Noah's order
    assert "one customer per conversation" in errors[3]
    assert reply.customer_id == "ava_kovacs_3448"
