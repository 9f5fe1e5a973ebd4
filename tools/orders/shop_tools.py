"""The shop's 16 tools, with τ-bench retail's names and arguments, over the order store.

Policy lives here in code, not in a prompt: account data only after authentication, one customer
per conversation, only their own orders, and no write before the customer confirmed exactly that
write. A write first answers with what it would do (checked by a dry run), the agent asks, and only
a call with the same arguments after the customer's explicit "yes" changes the database.
"""

from __future__ import annotations

import ast
import json
import operator
from collections.abc import Callable
from typing import Any, Literal

from langchain.tools import ToolRuntime, tool
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langgraph.types import Command

from kefu.tools.context import PendingAction
from kefu.tools.orders import describe as d
from kefu.tools.orders.store import ShopError

# `Any` on purpose: pydantic would otherwise build (and check) a schema for Deps. The context is always
# a `kefu.tools.Deps`, the state a dict of the agent state.
Runtime = ToolRuntime[Any, Any]

NOT_AUTHENTICATED = (
    "Error: the customer is not authenticated. Ask for their email, or their first name, last name and zip code, "
    "and look them up first."
)


def _answer(runtime: Runtime, content: str, **updates: Any) -> Command:
    msg = ToolMessage(content, tool_call_id=runtime.tool_call_id or "", name=None)
    return Command(update={"messages": [msg], **updates})


def _customer(runtime: Runtime) -> str | None:
    cid: str | None = runtime.state.get("customer_id")
    return cid


def _authenticate(runtime: Runtime, lookup: Callable[[], str]) -> Command | str:
    try:
        found = lookup()
    except ShopError as e:
        return f"Error: {e}"
    current = _customer(runtime)
    if current is not None and current != found:
        return (
            "Error: this conversation is already authenticated as another customer. "
            "I can only help one customer per conversation."
        )
    return _answer(runtime, found, customer_id=found)


# ---- identity -------------------------------------------------------------------------------------
@tool
def find_user_id_by_email(email: str, runtime: Runtime) -> Command | str:
    """Find a user id by email. If the user is not found, the function returns an error message.

    Args:
        email: The email of the user, such as 'something@example.com'.
    """
    return _authenticate(runtime, lambda: runtime.context.store.find_customer_by_email(email))


@tool
def find_user_id_by_name_zip(first_name: str, last_name: str, zip: str, runtime: Runtime) -> Command | str:
    """Find a user id by first name, last name, and zip code. Use it when the email is not known.

    Args:
        first_name: The first name of the customer, such as 'John'.
        last_name: The last name of the customer, such as 'Doe'.
        zip: The zip code of the customer, such as '12345'.
    """
    return _authenticate(
        runtime, lambda: runtime.context.store.find_customer_by_name_zip(first_name, last_name, zip)
    )


# ---- reads ----------------------------------------------------------------------------------------
@tool
def get_user_details(user_id: str, runtime: Runtime) -> str:
    """Get the details of the authenticated user, including their orders and payment methods.

    Args:
        user_id: The user id, such as 'sara_doe_496'.
    """
    cid = _customer(runtime)
    if cid is None:
        return NOT_AUTHENTICATED
    if user_id != cid:
        return "Error: you can only see the profile of the customer you are talking to."
    return json.dumps(runtime.context.store.customer_details(cid))


@tool
def get_order_details(order_id: str, runtime: Runtime) -> str:
    """Get the status and details of one of the authenticated user's orders.

    Args:
        order_id: The order id, such as '#W0000000'. Be careful there is a '#' symbol at the beginning.
    """
    cid = _customer(runtime)
    if cid is None:
        return NOT_AUTHENTICATED
    try:
        return json.dumps(runtime.context.store.order_details(order_id, customer_id=cid))
    except ShopError as e:
        return f"Error: {e}"


@tool
def get_product_details(product_id: str, runtime: Runtime) -> str:
    """Get the inventory details of a product type: every variant item with its options, availability and price.

    Args:
        product_id: The product id, such as '6086499569'. Be careful the product id is different from the item id.
    """
    try:
        return json.dumps(runtime.context.store.product_details(product_id))
    except ShopError as e:
        return f"Error: {e}"


@tool
def list_all_product_types(runtime: Runtime) -> str:
    """List the name and product id of every product type the shop sells."""
    return json.dumps(runtime.context.store.product_types(), sort_keys=True)


_OPS: dict[type, Callable[..., float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def _arith(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _arith(node.body)
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_arith(node.left), _arith(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_arith(node.operand))
    raise ValueError("only numbers, + - * / and parentheses are allowed")


@tool
def calculate(expression: str) -> str:
    """Calculate the result of a mathematical expression.

    Args:
        expression: The expression, such as '2 + 2': numbers, operators (+, -, *, /), parentheses and spaces.
    """
    if len(expression) > 200:
        return "Error: expression too long"
    try:
        return str(round(_arith(ast.parse(expression, mode="eval")), 2))
    except (SyntaxError, ValueError, ZeroDivisionError) as e:
        return f"Error: {e}"


@tool
def think(thought: str) -> str:
    """Think about something. It changes nothing and fetches nothing; it only records the thought.

    Args:
        thought: A thought to think about.
    """
    return ""


@tool
def transfer_to_human_agents(summary: str, runtime: Runtime) -> Command:
    """Transfer the customer to a human agent, with a summary of their issue. Only when the request
    cannot be handled with the other tools, or the customer asks for a person.

    Args:
        summary: A summary of the user's issue.
    """
    runtime.context.store.record_audit(
        tool="transfer_to_human_agents",
        args={"summary": summary[:500]},
        outcome="done",
        customer_id=_customer(runtime),
        session_id=runtime.context.session_id,
    )
    return _answer(runtime, "Transfer successful", handoff=True)


# ---- writes ---------------------------------------------------------------------------------------
def _methods(runtime: Runtime, cid: str) -> dict[str, dict[str, Any]]:
    methods: dict[str, dict[str, Any]] = runtime.context.store.customer_details(cid)["payment_methods"]
    return methods


def _also_changes(old: dict[str, Any], new: dict[str, Any]) -> str:
    """'; brightness and color change' when more than one option changes: the nearest variant in stock
    may change an option the customer did not name (no white desk lamp with low brightness: the silver
    one), and the confirmation must say so plainly, not only list the new options."""
    changed = [k for k, v in new.items() if str(old.get(k)) != str(v)]
    if len(changed) < 2:
        return ""
    return f"; {', '.join(changed[:-1])} and {changed[-1]} change"


def _method_text(runtime: Runtime, cid: str, pm_id: str) -> str:
    pm = _methods(runtime, cid).get(pm_id)
    return d.payment_method_text(pm) if pm else pm_id


def _summary(runtime: Runtime, cid: str, name: str, args: dict[str, Any], preview: dict[str, Any]) -> str:
    """What the customer is asked to confirm, worded from the dry run's result."""
    store = runtime.context.store
    if name == "modify_user_address":
        return f"Change your default address to {d.address_text(preview['address'])}."
    order_id = args["order_id"]
    before = store.order_details(order_id, customer_id=cid)
    by_id = {i["item_id"]: i for i in before["items"]}
    if name == "cancel_pending_order":
        total = sum(p["amount"] for p in before["payment_history"] if p["transaction_type"] == "payment")
        refund_to = before["payment_history"][0]["payment_method_id"] if before["payment_history"] else ""
        items = "; ".join(d.item_text(i) for i in before["items"])
        return (
            f"Cancel order {order_id} ({items}) because it is '{args['reason']}'. "
            f"{d.money(total)} will be refunded to your {_method_text(runtime, cid, refund_to)} "
            f"{d.refund_timing(refund_to)}."
        )
    if name == "return_delivered_order_items":
        returned = [by_id[i] for i in args["item_ids"] if i in by_id]
        total = sum(i["price"] for i in returned)
        pm = args["payment_method_id"]
        return (
            f"Return {'; '.join(d.item_text(i) for i in returned)} from order {order_id}. "
            f"The refund of {d.money(total)} goes to your {_method_text(runtime, cid, pm)}. "
            "You will get an email with instructions on how to send the items back."
        )
    if name in ("exchange_delivered_order_items", "modify_pending_order_items"):
        new_by_id = {i["item_id"]: i for i in preview["items"]}
        lines = []
        for old, new in zip(args["item_ids"], args["new_item_ids"], strict=False):
            new_item = new_by_id.get(new)
            if new_item is None:  # exchange previews keep old items; look the variant up
                product = store.product_details(by_id[old]["product_id"])
                v = product["variants"][new]
                new_item = {"name": product["name"], "options": v["options"], "price": v["price"]}
            lines.append(
                f"{d.item_text(by_id[old])} → {d.options_text(new_item['options'])} ({d.money(new_item['price'])}"
                f"{_also_changes(by_id[old]['options'], new_item['options'])})"
            )
        diff = preview.get("exchange_price_difference")
        if diff is None:
            diff = sum(
                (new_by_id[n]["price"] if n in new_by_id else 0) - by_id[o]["price"]
                for o, n in zip(args["item_ids"], args["new_item_ids"], strict=False)
            )
        pm_text = _method_text(runtime, cid, args["payment_method_id"])
        money_line = (
            f"You pay the difference of {d.money(diff)} with your {pm_text}."
            if diff > 0
            else f"The difference of {d.money(-diff)} is refunded to your {pm_text}."
            if diff < 0
            else "There is no price difference."
        )
        verb = "Exchange" if name.startswith("exchange") else "Change"
        once = " This can be done only once for this order, so please make sure these are all the items to change."
        return f"{verb} in order {order_id}: {'; '.join(lines)}. {money_line}{once}"
    if name == "modify_pending_order_address":
        return f"Ship order {order_id} to {d.address_text(preview['address'])} instead."
    if name == "modify_pending_order_payment":
        amount = before["payment_history"][0]["amount"]
        old = before["payment_history"][0]["payment_method_id"]
        return (
            f"Pay order {order_id} ({d.money(amount)}) with your {_method_text(runtime, cid, args['payment_method_id'])} "
            f"instead of your {_method_text(runtime, cid, old)}, which is refunded {d.refund_timing(old)}."
        )
    return f"{name} with {json.dumps(args)}"


def confirmed_write(
    runtime: Runtime, name: str, args: dict[str, Any], run: Callable[[bool], dict[str, Any]]
) -> Command | str:
    """The confirmation gate every write passes through.

    Without the customer's confirmation of exactly this call, do a dry run and return what would
    happen, recording it as the pending action. With it, write, audit, and consume the confirmation.
    """
    cid = _customer(runtime)
    if cid is None:
        return NOT_AUTHENTICATED
    store, session_id = runtime.context.store, runtime.context.session_id
    action = PendingAction(tool=name, args=args)
    if runtime.state.get("confirmed_action") != action:
        try:
            preview = run(True)
            summary = _summary(runtime, cid, name, args, preview)
        except ShopError as e:
            store.record_audit(
                tool=name, args=args, outcome="refused", detail=str(e), customer_id=cid, session_id=session_id
            )
            return f"Error: {e}"
        content = json.dumps(
            {"confirmation_required": True, "action": name, "args": args, "summary": summary}
        )
        return _answer(runtime, content, pending_action=action, confirmed_action=None)
    try:
        result = run(False)
    except ShopError as e:
        store.record_audit(
            tool=name, args=args, outcome="refused", detail=str(e), customer_id=cid, session_id=session_id
        )
        return _answer(runtime, f"Error: {e}", pending_action=None, confirmed_action=None)
    store.record_audit(tool=name, args=args, outcome="done", customer_id=cid, session_id=session_id)
    return _answer(runtime, json.dumps(result), pending_action=None, confirmed_action=None)


@tool
def cancel_pending_order(
    order_id: str, reason: Literal["no longer needed", "ordered by mistake"], runtime: Runtime
) -> Command | str:
    """Cancel a pending order. Needs the customer's explicit confirmation of the order id and reason.
    Refunds go to the original payment method: immediately for gift cards, else in 5-7 business days.

    Args:
        order_id: The order id, such as '#W0000000'.
        reason: The reason for cancellation: 'no longer needed' or 'ordered by mistake'.
    """
    args = {"order_id": order_id, "reason": reason}
    return confirmed_write(
        runtime,
        "cancel_pending_order",
        args,
        lambda dry: runtime.context.store.cancel_pending_order(
            order_id, reason, customer_id=runtime.state["customer_id"], dry_run=dry
        ),
    )


@tool
def modify_pending_order_address(
    order_id: str,
    address1: str,
    address2: str,
    city: str,
    state: str,
    country: str,
    zip: str,
    runtime: Runtime,
) -> Command | str:
    """Modify the shipping address of a pending order. Needs the customer's explicit confirmation.

    Args:
        order_id: The order id, such as '#W0000000'.
        address1: The first line of the address, such as '123 Main St'.
        address2: The second line of the address, such as 'Apt 1' or ''.
        city: The city, such as 'San Francisco'.
        state: The state, such as 'CA'.
        country: The country, such as 'USA'.
        zip: The zip code, such as '12345'.
    """
    address = {
        "address1": address1,
        "address2": address2,
        "city": city,
        "state": state,
        "country": country,
        "zip": zip,
    }
    return confirmed_write(
        runtime,
        "modify_pending_order_address",
        {"order_id": order_id, **address},
        lambda dry: runtime.context.store.modify_pending_order_address(
            order_id, address, customer_id=runtime.state["customer_id"], dry_run=dry
        ),
    )


@tool
def modify_pending_order_payment(order_id: str, payment_method_id: str, runtime: Runtime) -> Command | str:
    """Modify the payment method of a pending order. Needs the customer's explicit confirmation.

    Args:
        order_id: The order id, such as '#W0000000'.
        payment_method_id: The new payment method id, such as 'gift_card_0000000' or 'credit_card_0000000'.
    """
    return confirmed_write(
        runtime,
        "modify_pending_order_payment",
        {"order_id": order_id, "payment_method_id": payment_method_id},
        lambda dry: runtime.context.store.modify_pending_order_payment(
            order_id, payment_method_id, customer_id=runtime.state["customer_id"], dry_run=dry
        ),
    )


@tool
def modify_pending_order_items(
    order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str, runtime: Runtime
) -> Command | str:
    """Modify items of a pending order to other options of the same product. Can be done only once per
    order; needs the customer's explicit confirmation.

    Args:
        order_id: The order id, such as '#W0000000'.
        item_ids: The item ids to be modified, each such as '1008292230'.
        new_item_ids: The new item ids, in the same order, each of the same product as the item it replaces.
        payment_method_id: The payment method id to pay or receive the refund of the price difference.
    """
    args = {
        "order_id": order_id,
        "item_ids": item_ids,
        "new_item_ids": new_item_ids,
        "payment_method_id": payment_method_id,
    }
    return confirmed_write(
        runtime,
        "modify_pending_order_items",
        args,
        lambda dry: runtime.context.store.modify_pending_order_items(
            order_id,
            item_ids,
            new_item_ids,
            payment_method_id,
            customer_id=runtime.state["customer_id"],
            dry_run=dry,
        ),
    )


@tool
def return_delivered_order_items(
    order_id: str, item_ids: list[str], payment_method_id: str, runtime: Runtime
) -> Command | str:
    """Return some items of a delivered order. The refund goes to the original payment method or a gift
    card. Needs the customer's explicit confirmation.

    Args:
        order_id: The order id, such as '#W0000000'.
        item_ids: The item ids to be returned, each such as '1008292230'.
        payment_method_id: The payment method id to receive the refund.
    """
    args = {"order_id": order_id, "item_ids": item_ids, "payment_method_id": payment_method_id}
    return confirmed_write(
        runtime,
        "return_delivered_order_items",
        args,
        lambda dry: runtime.context.store.return_delivered_order_items(
            order_id, item_ids, payment_method_id, customer_id=runtime.state["customer_id"], dry_run=dry
        ),
    )


@tool
def exchange_delivered_order_items(
    order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str, runtime: Runtime
) -> Command | str:
    """Exchange items of a delivered order for other options of the same product. Can be done only once per
    order; needs the customer's explicit confirmation.

    Args:
        order_id: The order id, such as '#W0000000'.
        item_ids: The item ids to be exchanged, each such as '1008292230'.
        new_item_ids: The new item ids, in the same order, each of the same product as the item it replaces.
        payment_method_id: The payment method id to pay or receive the refund of the price difference.
    """
    args = {
        "order_id": order_id,
        "item_ids": item_ids,
        "new_item_ids": new_item_ids,
        "payment_method_id": payment_method_id,
    }
    return confirmed_write(
        runtime,
        "exchange_delivered_order_items",
        args,
        lambda dry: runtime.context.store.exchange_delivered_order_items(
            order_id,
            item_ids,
            new_item_ids,
            payment_method_id,
            customer_id=runtime.state["customer_id"],
            dry_run=dry,
        ),
    )


@tool
def modify_user_address(
    user_id: str,
    address1: str,
    address2: str,
    city: str,
    state: str,
    country: str,
    zip: str,
    runtime: Runtime,
) -> Command | str:
    """Modify the default address of the authenticated user. Needs the customer's explicit confirmation.

    Args:
        user_id: The user id, such as 'sara_doe_496'.
        address1: The first line of the address, such as '123 Main St'.
        address2: The second line of the address, such as 'Apt 1' or ''.
        city: The city, such as 'San Francisco'.
        state: The state, such as 'CA'.
        country: The country, such as 'USA'.
        zip: The zip code, such as '12345'.
    """
    address = {
        "address1": address1,
        "address2": address2,
        "city": city,
        "state": state,
        "country": country,
        "zip": zip,
    }
    return confirmed_write(
        runtime,
        "modify_user_address",
        {"user_id": user_id, **address},
        lambda dry: runtime.context.store.modify_user_address(
            user_id, address, customer_id=runtime.state["customer_id"], dry_run=dry
        ),
    )


SHOP_TOOLS: tuple[BaseTool, ...] = (
    calculate,
    cancel_pending_order,
    exchange_delivered_order_items,
    find_user_id_by_email,
    find_user_id_by_name_zip,
    get_order_details,
    get_product_details,
    get_user_details,
    list_all_product_types,
    modify_pending_order_address,
    modify_pending_order_items,
    modify_pending_order_payment,
    modify_user_address,
    return_delivered_order_items,
    think,
    transfer_to_human_agents,
)
# Product names and option values in what the order and product tools return are the shop's own
# catalogue, and an order's status and cancellation reason are values our own tools set: structured
# data, not sentences a third party wrote, so the injection check passes them through (see
# `SafetyMiddleware.data_keys_for`; "no longer needed" alone scored 0.95 as an injected task). Everything
# else (addresses, notes) is still read, and so is all of a customer profile, whose `name` is the customer's.
SHOP_DATA_KEYS = ("name", "options", "status", "cancel_reason")
for _t in SHOP_TOOLS:
    if _t.name not in ("get_user_details", "modify_user_address"):
        _t.metadata = {**(_t.metadata or {}), "kefu_data_keys": SHOP_DATA_KEYS}

WRITE_TOOLS = frozenset(
    {
        "cancel_pending_order",
        "exchange_delivered_order_items",
        "modify_pending_order_address",
        "modify_pending_order_items",
        "modify_pending_order_payment",
        "modify_user_address",
        "return_delivered_order_items",
    }
)
