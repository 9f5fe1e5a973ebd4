"""The SDK hooks the server calls (and the contract they must keep): SDK errors become API errors."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kefu.server import sdk_bridge
from kefu.server.errors import ApiError
from kefu.tools import NotFound


class HookedBot:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def authenticate(self, session_id: str, customer_id: str) -> None:
        self.calls.append(("authenticate", session_id, customer_id))
        if customer_id == "nobody":
            raise NotFound("no such customer")
        if customer_id == "other":
            raise ValueError("this conversation is already authenticated as another customer")

    def hand_back(self, session_id: str, *, transcript: list[tuple[str, str]]) -> str:
        self.calls.append(("hand_back", session_id, transcript))
        return "Welcome back!"


def test_hooks_are_called_and_their_errors_mapped():
    bot = HookedBot()
    sdk_bridge.authenticate(bot, "s1", "noah_brown_6181")
    note = sdk_bridge.hand_back(bot, "s1", [("user", "hi"), ("operator", "hello")])
    assert note == "Welcome back!"
    assert bot.calls == [
        ("authenticate", "s1", "noah_brown_6181"),
        ("hand_back", "s1", [("user", "hi"), ("operator", "hello")]),
    ]
    with pytest.raises(ApiError) as e:
        sdk_bridge.authenticate(bot, "s1", "nobody")
    assert e.value.status == 404
    with pytest.raises(ApiError) as e:
        sdk_bridge.authenticate(bot, "s1", "other")
    assert e.value.status == 409


def test_intent_is_the_replys():
    assert sdk_bridge.intent_of(SimpleNamespace(intent="cancel_order", tool_calls=[])) == "cancel_order"
    assert sdk_bridge.intent_of(SimpleNamespace(intent="", tool_calls=[])) == "chat"
