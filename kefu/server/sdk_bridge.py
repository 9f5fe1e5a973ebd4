"""What the server needs from `Assistant` beyond `respond` and `history`, in one place.

Three hooks, used when the `Assistant` has them:

- `authenticate(session_id, customer_id)`: a customer the host application signed in;
- `hand_back(session_id, transcript)`: a person gives the conversation back to the assistant;
- `Reply.intent`: what the customer asked for, for the console's volume-by-intent figure.

Until the SDK has the first two, the fall-backs below do the same through the agent's state (the
LangGraph thread), the way the SDK would: they touch `Assistant.agent` and, for the embedded brain,
its memory in the last AI message. They are the only code of the server that does; delete each when
its hook lands.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kefu.server.errors import ApiError

_DIALOG_KEY = "kefu_dialog"  # the embedded brain's memory (kefu.agents.brains.embedded.STATE_KEY)

HANDED_BACK_NOTE = "You're back with the assistant. Is there anything else I can help you with?"


def authenticate(bot: Any, session_id: str, customer_id: str) -> None:
    """Record a pre-authenticated customer in the session, as if the assistant had authenticated them.

    Raises ApiError 409 when the session already belongs to another customer, 404 when the shop has
    no such customer.
    """
    hook = getattr(bot, "authenticate", None)
    if callable(hook):
        from kefu.tools import NotFound

        try:
            hook(session_id, customer_id)
        except (NotFound, LookupError) as e:
            raise ApiError(404, "unknown_customer", f"The shop has no customer {customer_id!r}.") from e
        except ValueError as e:
            raise ApiError(409, "customer_conflict", str(e)) from e
        return
    _authenticate_through_state(bot, session_id, customer_id)


def _authenticate_through_state(bot: Any, session_id: str, customer_id: str) -> None:
    from langchain_core.messages import AIMessage, ToolMessage

    cfg = {"configurable": {"thread_id": session_id}}
    values = bot.agent.get_state(cfg).values or {}
    current = values.get("customer_id")
    if current == customer_id:
        return
    if current is not None:
        raise ApiError(
            409,
            "customer_conflict",
            "This conversation is already authenticated as another customer; start a new session.",
        )
    try:
        details = bot.store.customer_details(customer_id)
    except Exception as e:  # the store's NotFound
        raise ApiError(404, "unknown_customer", f"The shop has no customer {customer_id!r}.") from e
    call_id = f"kefu_preauth_{session_id[:40]}"
    # The same two messages an authentication by email leaves behind, so any brain (ours reads tool
    # results, an LLM reads the transcript) knows who it is talking to; the state fact is what tools trust.
    messages = [
        AIMessage(
            content="",
            tool_calls=[
                {"name": "find_user_id_by_email", "args": {"email": details["email"]}, "id": call_id}
            ],
        ),
        ToolMessage(customer_id, tool_call_id=call_id, name="find_user_id_by_email"),
    ]
    update = {"messages": messages, "customer_id": customer_id}
    if values:
        bot.agent.update_state(cfg, update, as_node="tools")
    else:
        bot.agent.update_state(cfg, update)


def hand_back(bot: Any, session_id: str, transcript: Sequence[tuple[str, str]] = ()) -> str:
    """Give the session back to the assistant; `transcript` is what the customer ("user") and the
    person ("operator") said meanwhile. Returns the note the customer sees."""
    hook = getattr(bot, "hand_back", None)
    if callable(hook):
        note = hook(session_id, transcript=list(transcript))
        return note if isinstance(note, str) and note else HANDED_BACK_NOTE
    _hand_back_through_state(bot, session_id, transcript)
    return HANDED_BACK_NOTE


def _hand_back_through_state(bot: Any, session_id: str, transcript: Sequence[tuple[str, str]]) -> None:
    from langchain_core.messages import AIMessage, HumanMessage

    cfg = {"configurable": {"thread_id": session_id}}
    snapshot = bot.agent.get_state(cfg)
    values = snapshot.values or {}
    if not values.get("messages"):
        return  # the assistant never spoke in this session: nothing to undo
    messages: list[Any] = [
        HumanMessage(text) if who == "user" else AIMessage(text, name="operator") for who, text in transcript
    ]
    dialog = None
    for m in reversed(values["messages"]):
        if isinstance(m, AIMessage) and _DIALOG_KEY in m.additional_kwargs:
            dialog = dict(m.additional_kwargs[_DIALOG_KEY])
            break
    kwargs: dict[str, Any] = {}
    if dialog is not None:
        # the embedded brain: no longer handed off, no task half-done from before the person
        dialog.update(handed_off=False, task=None, queue=[], asked=None, awaiting_yes=False, pending=None)
        kwargs["additional_kwargs"] = {_DIALOG_KEY: json.loads(json.dumps(dialog))}
    messages.append(AIMessage(HANDED_BACK_NOTE, **kwargs))
    bot.agent.update_state(
        cfg,
        {"messages": messages, "handoff": False, "pending_action": None, "confirmed_action": None},
        as_node="model",
    )


# ---- what the customer asked for ----------------------------------------------------------------
_TOPIC_BY_TOOL = [
    ("transfer_to_human_agents", "human_agent"),
    ("cancel_pending_order", "cancel_order"),
    ("return_delivered_order_items", "return_items"),
    ("exchange_delivered_order_items", "exchange_items"),
    ("modify_pending_order_items", "modify_items"),
    ("modify_pending_order_address", "change_order_address"),
    ("modify_user_address", "change_user_address"),
    ("modify_pending_order_payment", "change_order_payment"),
    ("recommend_products", "recommendation"),
    ("search_knowledge", "policy_question"),
    ("get_order_details", "order_status"),
    ("get_product_details", "product_info"),
    ("list_all_product_types", "product_info"),
    ("find_user_id_by_email", "identify"),
    ("find_user_id_by_name_zip", "identify"),
]


def intent_of(reply: Any) -> str:
    """`Reply.intent` when the SDK gives one; else the topic the turn's tool calls show, or 'chat'."""
    intent = getattr(reply, "intent", None)
    if isinstance(intent, str) and intent:
        return intent
    names = {c.name for c in reply.tool_calls}
    for tool, topic in _TOPIC_BY_TOOL:
        if tool in names:
            return topic
    if any("knowledge" in n or "search" in n for n in names):
        return "policy_question"
    return "chat"
