"""Bad input gets a clear answer or a typed error, and loses nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from kefu import Assistant, InvalidMessage
from kefu.tools.orders import OrderStore


@pytest.mark.parametrize("raw", [b"cancel my order", None, 42, ["hi"], {"text": "hi"}])
def test_non_text_is_a_typed_error(bot: Assistant, raw: object):
    with pytest.raises(InvalidMessage):
        bot.respond(raw, session_id="s1")  # type: ignore[arg-type]
    assert bot.history("s1") == []


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("\u200b\u200b", "empty"),
        ("x" * 5000, "too long"),
        ("\x00\x01\x02\x03\x04\x05\x06\x07\x08" * 20, "binary"),
    ],
)
def test_unusable_text_gets_a_polite_answer_and_leaves_the_session_alone(
    bot: Assistant, raw: str, expected: str
):
    reply = bot.respond(raw, session_id="s1")
    assert expected in reply.text.lower()
    assert reply.tool_calls == []
    assert bot.history("s1") == []


def test_zero_width_and_homoglyph_tricks_are_normalised(bot: Assistant):
    # zero-width spaces inside the id and full-width digits: still the same order id
    reply = bot.respond("status of #W\u200b７６７８０７２ please", session_id="s1")
    assert "#W7678072" in bot.history("s1")[0]["content"]
    assert "email" in reply.text.lower()


@pytest.mark.parametrize("order_id", ["#W0000000", "#W123", "W99999999", "#W7678072'; DROP TABLE orders;--"])
def test_unknown_or_malformed_ids_get_a_polite_reply(bot: Assistant, shop_url: str, order_id: str):
    bot.respond("noah.brown7922@example.com", session_id="s1")
    reply = bot.respond(f"where is order {order_id}", session_id="s1")
    assert reply.text
    assert "went wrong" not in reply.text
    assert (
        OrderStore(create_engine(shop_url)).order_details("#W7678072", customer_id=None)["status"]
        == "delivered"
    )


def test_a_session_survives_bad_messages_in_between(bot: Assistant):
    bot.respond("i want to cancel an order", session_id="s1")
    bot.respond("", session_id="s1")
    with pytest.raises(InvalidMessage):
        bot.respond(b"\xff\xfe", session_id="s1")  # type: ignore[arg-type]
    reply = bot.respond("ava.kovacs4827@example.com", session_id="s1")
    assert reply.customer_id == "ava_kovacs_3448"
    assert "cancel" in reply.text.lower()  # the cancel flow goes on where it was
