"""The SDK calls the server makes beyond `respond` and `history`, with the SDK's errors as API errors.

- `Assistant.authenticate(session_id, customer_id)`: a customer the host application signed in;
- `Assistant.hand_back(session_id, transcript=...)`: a person gives the conversation back to the assistant;
- `Reply.intent`: what the customer asked for, for the console's volume-by-intent figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kefu.server.errors import ApiError


def authenticate(bot: Any, session_id: str, customer_id: str) -> None:
    """Record a pre-authenticated customer in the session, as if the assistant had authenticated them.

    Raises ApiError 409 when the session already belongs to another customer, 404 when the shop has
    no such customer.
    """
    from kefu.tools import NotFound

    try:
        bot.authenticate(session_id, customer_id)
    except (NotFound, LookupError) as e:
        raise ApiError(404, "unknown_customer", f"The shop has no customer {customer_id!r}.") from e
    except ValueError as e:
        raise ApiError(409, "customer_conflict", str(e)) from e


def hand_back(bot: Any, session_id: str, transcript: Sequence[tuple[str, str]] = ()) -> str:
    """Give the session back to the assistant; `transcript` is what the customer ("user") and the
    person ("operator") said meanwhile. Returns the note the customer sees."""
    return str(bot.hand_back(session_id, transcript=list(transcript)))


def intent_of(reply: Any) -> str:
    """The turn's intent label (`Reply.intent`), 'chat' when it has none."""
    intent = getattr(reply, "intent", None)
    return intent if isinstance(intent, str) and intent else "chat"
