"""Reply templates, one per outcome. The fine-tuned generator (a later stage) rewrites these plans;
the templates stay as its fallback, so every fact in them comes from a tool result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from kefu.agents.nlu.catalog_match import OptionMention
    from kefu.agents.nlu.entities import PaymentHint
from kefu.tools.orders.describe import address_text, item_text, money, options_text, payment_method_text

HELP_TOPICS = (
    "check an order's status or tracking, cancel or change a pending order (items, address, payment), "
    "return or exchange delivered items, update your address, or answer questions about our products"
)


def greet() -> str:
    return f"Hi! I'm the shop's assistant. I can {HELP_TOPICS}. How can I help you today?"


def goodbye() -> str:
    return "You're welcome! Thanks for shopping with us, and have a great day."


def take_your_time() -> str:
    """'Ok, I'll think about it': nothing to do now."""
    return "Of course, take your time. I'm here whenever you want to come back to it."


def what_else() -> str:
    """A bare "yes" to "anything else?"."""
    return "Sure, what can I help you with?"


def anything_else() -> str:
    return "Is there anything else I can help you with?"


def nothing_else() -> str:
    """A "no" to "anything else?"."""
    return "All right. Thanks for contacting us, and have a great day!"


def out_of_scope() -> str:
    return f"Sorry, I can't help with that here. I can {HELP_TOPICS}. If you'd prefer, I can also connect you with a person."


def ask_auth(task_phrase: str) -> str:
    return (
        f"I can help you {task_phrase}. First I need to verify your identity: could you give me the email on "
        "your account, or your first name, last name and zip code?"
    )


def auth_failed(by: str) -> str:
    return (
        f"I couldn't find an account with that {by}. Could you double-check it, or try your first name, "
        "last name and zip code (or your email) instead?"
    )


def someone_elses_data() -> str:
    return (
        "I'm sorry, I can't share or look up another person's details. I can only help with the account "
        "of the customer I'm talking to. Is there anything about your own orders I can help with?"
    )


def auth_other_customer() -> str:
    return (
        "This conversation is already verified for another account, and I can only help one customer per "
        "conversation, so I can't look up or change anything for a different person."
    )


def order_line(order: dict[str, Any]) -> str:
    names = ", ".join(i["name"] for i in order["items"])
    return f"{order['order_id']} ({order['status']}): {names}"


def ask_order(orders: list[dict[str, Any]], purpose: str) -> str:
    if not orders:
        return f"Which order would you like to {purpose}? Please give me the order id (it starts with #W and seven digits)."
    lines = "\n".join(f"- {order_line(o)}" for o in orders)
    return f"Which order would you like to {purpose}? Here are the orders on your account:\n{lines}"


def order_status(order: dict[str, Any]) -> str:
    items = "\n".join(f"- {item_text(i)}" for i in order["items"])
    tracking = _tracking(order)
    lines = [f"Order {order['order_id']} is {order['status']}.", f"Items:\n{items}"]
    if tracking:
        lines.append(f"Tracking number{'s' if len(tracking) > 1 else ''}: {', '.join(tracking)}.")
    elif order["status"] == "pending":
        lines.append("It hasn't shipped yet, so there is no tracking number so far.")
    paid = sum(p["amount"] for p in order.get("payment_history", []) if p["transaction_type"] == "payment")
    refunded = sum(p["amount"] for p in order.get("payment_history", []) if p["transaction_type"] == "refund")
    if paid:
        lines.append(f"Total paid: {money(paid)}" + (f" (refunded: {money(refunded)})." if refunded else "."))
    a = order.get("address")
    if a:
        lines.append(f"Shipping address: {address_text(a)}.")
    return "\n".join(lines)


def _tracking(order: dict[str, Any]) -> list[str]:
    return [str(t) for f in order.get("fulfillments", []) for t in f.get("tracking_id", [])]


def _your(method: dict[str, Any]) -> str:
    text = payment_method_text(method)
    return f"your {text}" if method.get("source") else text


def order_detail(order: dict[str, Any], detail: str, user: dict[str, Any] | None = None) -> str | None:
    """The one thing asked about an order ('what card did I use?', 'when will it arrive?'), or None when
    the order does not record it (the caller then shows the whole order)."""
    oid, status = order["order_id"], order["status"]
    tracking = _tracking(order)
    numbers = f"tracking number{'s' if len(tracking) > 1 else ''} {', '.join(tracking)}"
    payments = [p for p in order.get("payment_history", []) if p["transaction_type"] == "payment"]
    if detail == "status":
        return f"Order {oid} is {status}."
    if detail == "payment":
        methods = (user or {}).get("payment_methods", {})
        paid = [
            f"{_your(methods.get(p.get('payment_method_id'), {'id': p.get('payment_method_id')}))} ({money(p['amount'])})"
            for p in payments
        ]
        return f"Order {oid} was paid with {' and '.join(paid)}." if paid else None
    if detail == "total":
        if not payments:
            return None
        refunded = sum(
            p["amount"] for p in order.get("payment_history", []) if p["transaction_type"] == "refund"
        )
        total = money(sum(p["amount"] for p in payments))
        return f"You paid {total} for order {oid}" + (f" ({money(refunded)} refunded)." if refunded else ".")
    if detail == "tracking":
        if tracking:
            return f"Order {oid} ({status}) has {numbers}."
        if status == "pending":
            return f"Order {oid} hasn't shipped yet, so there is no tracking number so far."
        return f"Order {oid} is {status}, and it has no tracking number."
    if detail == "arrival":
        if status == "delivered":
            return f"Order {oid} has already been delivered" + (f" ({numbers})." if tracking else ".")
        if status == "pending":
            return (
                f"Order {oid} is pending: it hasn't been processed or shipped yet, so I don't have a "
                "delivery date. A tracking number comes once it ships."
            )
        if tracking:
            return (
                f"Order {oid} is {status}, with {numbers}; I don't have a delivery date, but the tracking "
                "number shows the carrier's estimate."
            )
        return f"Order {oid} is {status}; I don't have a delivery date for it."
    if detail == "address":
        a = order.get("address")
        if not a:
            return None
        verb = "was shipped" if status == "delivered" else "ships"
        return f"Order {oid} {verb} to {address_text(a)}."
    if detail == "placed":
        # the shop's order records hold no dates: say so rather than show the whole order as if it answered
        return (
            f"I'm sorry, our order records don't keep the date an order was placed, so I can't tell you when "
            f"order {oid} was placed. It is {status} now."
        )
    return None


def order_details(
    order: dict[str, Any], details: list[str], user: dict[str, Any] | None = None
) -> str | None:
    """Each detail asked, one line each, or None when the order lacks one (the caller shows it all). The
    payment line already says what was paid, so a total asked with it is not repeated unless refunded."""
    refunded = any(p["transaction_type"] == "refund" for p in order.get("payment_history", []))
    if "payment" in details and not refunded:
        details = [d for d in details if d != "total"]
    parts = [order_detail(order, d, user) for d in details]
    return "\n".join(p for p in parts if p) if parts and all(parts) else None


def orders_overview(orders: list[dict[str, Any]]) -> str:
    lines = "\n".join(f"- {order_line(o)}" for o in orders)
    return f"Here are your orders:\n{lines}\nWould you like the details or tracking of one of them?"


def no_other_payment(order: dict[str, Any], paid_with: dict[str, Any] | None) -> str:
    """A payment change asked for when the only saved method already pays for the order."""
    method = payment_method_text(paid_with) if paid_with else "the payment method on file"
    return (
        f"Order {order['order_id']} is already paid with your {method}, and it is the only payment method "
        f"saved on your account, so there is nothing to switch to. " + anything_else()
    )


def no_order_dates() -> str:
    return "I can't see when each order was placed, so I can't tell which one is the most recent."


def total_spent(orders: list[dict[str, Any]]) -> str:
    """What the account's orders were paid, less what was refunded, with each order's share."""
    lines, paid_all, refunded_all = [], 0.0, 0.0
    for o in orders:
        history = o.get("payment_history", [])
        paid = sum(p["amount"] for p in history if p["transaction_type"] == "payment")
        refunded = sum(p["amount"] for p in history if p["transaction_type"] == "refund")
        paid_all, refunded_all = paid_all + paid, refunded_all + refunded
        back = f", {money(refunded)} refunded" if refunded else ""
        lines.append(f"- {o['order_id']} ({o['status']}): {money(paid)} paid{back}")
    net = round(paid_all - refunded_all, 2)
    head = f"Across your {len(orders)} orders you paid {money(paid_all)}"
    head += f"; {money(refunded_all)} was refunded, so {money(net)} in all." if refunded_all else "."
    return head + "\n" + "\n".join(lines)


def account_details(user: dict[str, Any], details: list[str]) -> str:
    """Each thing asked about the account, one line each (the payment list already gives balances)."""
    methods = list(user["payment_methods"].values())
    if "payment" in details:
        details = [d for d in details if d != "balance"]
    lines = []
    for detail in details:
        if detail == "payment":
            listed = "\n".join(f"- {payment_method_text(pm)}" for pm in methods)
            lines.append(f"These are the payment methods on your account:\n{listed}")
        elif detail == "balance":
            cards = [pm for pm in methods if pm.get("source") == "gift_card"]
            if not cards:
                lines.append("You don't have a gift card on your account.")
            elif len(cards) == 1:
                lines.append(f"Your gift card balance is {money(cards[0].get('balance', 0))}.")
            else:
                each = ", ".join(money(c.get("balance", 0)) for c in cards)
                lines.append(f"You have {len(cards)} gift cards, with balances of {each}.")
        elif detail == "address":
            lines.append(f"The default address on your account is {address_text(user['address'])}.")
    return "\n".join(lines)


def account(user: dict[str, Any], orders: list[dict[str, Any]] | None = None) -> str:
    methods = "\n".join(f"- {payment_method_text(pm)}" for pm in user["payment_methods"].values())
    if orders:
        listed = "\n".join(f"- {order_line(o)}" for o in orders)
    else:
        listed = ", ".join(user["orders"]) or "none"
    return (
        f"Here is what I have on your account ({user['email']}):\n"
        f"Address: {address_text(user['address'])}\n"
        f"Payment methods:\n{methods}\n"
        f"Orders:\n{listed}\n"
        "Would you like the details of one of these orders?"
    )


ONLY_FOR = {
    "cancel_order": "cancel orders that are still pending",
    "change_order_address": "change the shipping address of orders that are still pending",
    "change_order_payment": "change the payment method of orders that are still pending",
    "return_items": "return items from delivered orders",
}


def no_order_fits(orders: list[dict[str, Any]], task: str, statuses: tuple[str, ...]) -> str:
    """Several orders, none in a status the task can act on ('cancel the pending one' with none pending)."""
    lines = "\n".join(f"- {order_line(o)}" for o in orders)
    text = f"I can only {ONLY_FOR[task]}, and none of your orders is {' or '.join(statuses)}:\n{lines}"
    if statuses == ("pending",) and any(o["status"] == "delivered" for o in orders):
        text += "\nFor a delivered order I can help you return or exchange items instead."
    return text


def wrong_status(order: dict[str, Any], task: str) -> str:
    status, oid = order["status"], order["order_id"]
    if task == "cancel_order":
        if status == "delivered":
            return (
                f"Order {oid} has already been delivered, so it can't be cancelled, but I can help you return "
                "or exchange its items instead."
            )
        if status == "cancelled":
            return f"Order {oid} is already cancelled."
        return f"Order {oid} is {status}, so it can no longer be cancelled: only pending orders can be."
    if task in ("return_items", "exchange_items"):
        if status.startswith("pending"):
            can = (
                "cancel it or change its address or payment (its items were already changed once)"
                if status == "pending (item modified)"
                else "cancel it or change its items, address or payment"
            )
            return (
                f"Order {oid} hasn't been delivered yet ({status}), so it can't be returned or exchanged. "
                f"While it is pending I can {can}."
            )
        return f"Order {oid} is {status}; only delivered orders can be returned or exchanged, and only once."
    return f"Order {oid} is {status}; only pending orders can be changed" + (
        " (and items can be changed only once)." if status == "pending (item modified)" else "."
    )


def not_in_order(names: list[str], order: dict[str, Any]) -> str:
    return f"I don't see {' or '.join(names)} in order {order['order_id']}."


def new_variant(item: dict[str, Any], variant: dict[str, Any]) -> str:
    """'Your Backpack (…) would become: color grey, …, size medium ($212.79).' Options the customer did not
    ask to change can differ when the exact combination is not sold; this says so before any yes."""
    return (
        f"Your {item['name']} ({options_text(item['options'])}) would become: {options_text(variant['options'])} "
        f"({money(variant['price'])})."
    )


_YES_TO_A_VARIANT = "Would you like that one? Say yes, or tell me other options."
_WHOLE_ORDER_NOTE = "Please note: a single item can't be cancelled, only the whole order."


def keeps_wording(draft: str) -> str | None:
    """Why a reply must reach the customer exactly as written (None: the reply writer may reword it).

    Like a confirmation, a 'yes' to the nearest variant commits to that exact variant, and the note that a
    cancellation takes the whole order is policy: a paraphrase that drops an option or the note would
    make the customer agree to something else.
    """
    if _YES_TO_A_VARIANT in draft:
        return "variant question"
    if _WHOLE_ORDER_NOTE in draft:
        return "policy note"
    return None


def nearest_variant(item: dict[str, Any], variant: dict[str, Any], also: list[str]) -> str:
    """The option asked for exists only with other changes: say which, and ask before going on."""
    changes = " and ".join(f"{k} {item['options'][k]} → {variant['options'][k]}" for k in also)
    return (
        f"We don't have that exact combination for your {item['name']} ({options_text(item['options'])}). "
        f"The closest in stock is {options_text(variant['options'])} ({money(variant['price'])}), which also "
        f"changes {changes}. {_YES_TO_A_VARIANT}"
    )


def ask_items(order: dict[str, Any], verb: str) -> str:
    items = "\n".join(f"- {item_text(i)}" for i in order["items"])
    return f"Which items from order {order['order_id']} would you like to {verb}?\n{items}"


def ask_reason() -> str:
    return (
        "Could you tell me the reason for the cancellation: is it no longer needed, or was it ordered by "
        "mistake?"
    )


def payment_method_name(pm: dict[str, Any]) -> str:
    """How a customer would name a payment method: 'PayPal', 'the Mastercard', 'the gift card'."""
    source = pm.get("source", "")
    if source == "paypal":
        return "PayPal"
    if source == "credit_card":
        return f"the {str(pm.get('brand', 'credit')).title()}"
    return "the gift card" if source == "gift_card" else payment_method_text(pm)


def gift_card_short(to_pay: float, card: dict[str, Any]) -> str:
    """The gift card named to pay a price difference holds less than the difference."""
    return (
        f"The new items cost {money(to_pay)} more than the ones you have, and your gift card balance is "
        f"{money(float(card.get('balance') or 0.0))}, so it can't pay the difference."
    )


def difference_exceeds_balance(to_pay: float, methods: list[dict[str, Any]]) -> str:
    """Every saved method is a gift card too small for the price difference: nothing can pay for the change
    as chosen; cheaper options can, or a person can help (nothing was changed)."""
    balance = sum(float(pm.get("balance") or 0.0) for pm in methods)
    card = "your gift card holds" if len(methods) == 1 else "your gift cards hold"
    return (
        f"The new items cost {money(to_pay)} more than the ones you have, but {card} only "
        f"{money(balance)} and there is no other payment method on your account, so I can't make this change "
        "as it is. Nothing was changed. You could pick options that cost less (tell me which), or I can "
        "connect you with a person: just say 'human'."
    )


def no_such_payment(hint: PaymentHint) -> str:
    """The customer named a payment method that none of the offered ones fits: say which part did not fit,
    so the list that follows is not read as the same question asked again."""
    if hint.last_four:
        return f"None of the payment methods I can use here ends in {hint.last_four}."
    if hint.brand:
        names = {"amex": "American Express", "mastercard": "Mastercard"}
        return f"I don't see a {names.get(hint.brand, hint.brand.title())} card among the payment methods I can use here."
    described = {"gift_card": "a gift card", "paypal": "a PayPal account", "credit_card": "a credit card"}
    if hint.source in described:
        return f"I don't see {described[hint.source]} among the payment methods I can use here."
    return "I don't see that payment method among the ones I can use here."


def ask_payment(methods: list[dict[str, Any]], purpose: str) -> str:
    listed = "\n".join(f"- {payment_method_text(pm)}" for pm in methods)
    return f"Which payment method should {purpose}?\n{listed}"


def refund_method_unavailable(method: dict[str, Any]) -> str:
    """The customer named a refund method they do not have (a gift card, say): where the refund can go."""
    return (
        "I don't see that payment method on your account; a refund can go only to the original payment "
        f"method or to a gift card you already have, so it will go to your {payment_method_text(method)}."
    )


def ask_options(item: dict[str, Any], product: dict[str, Any], already: Sequence[OptionMention] = ()) -> str:
    """Which options the customer wants instead; `already`: options they named that the item has now
    ('black, same storage' for a black laptop), said first so the same question is not just repeated."""
    same = ", ".join(f"{m.keys[0]} {item['options'].get(m.keys[0], m.value)}" for m in already)
    prefix = f"Your {item['name']} already has {same}, so that would not change it. " if same else ""
    choices: dict[str, set[str]] = {}
    for v in product["variants"].values():
        if v["available"]:
            for k, x in v["options"].items():
                choices.setdefault(k, set()).add(str(x))
    listed = "; ".join(f"{k}: {', '.join(sorted(vals))}" for k, vals in choices.items())
    return (
        f"{prefix}What would you like instead of your {item['name']} ({options_text(item['options'])})? "
        f"Available options: {listed}."
    )


VARIANTS_LISTED = 8
"""At most this many matching variants are listed to pick from."""


def ask_variant_pick(item: dict[str, Any], product: dict[str, Any], candidates: Sequence[str]) -> str:
    lines = "\n".join(
        f"- {options_text(product['variants'][c]['options'])} – {money(product['variants'][c]['price'])}"
        for c in candidates[:VARIANTS_LISTED]
    )
    return f"There are a few {item['name']} options that match. Which one would you like?\n{lines}"


_POSITIONS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def which_variant(item: dict[str, Any], product: dict[str, Any], listed: Sequence[str]) -> str:
    """A yes to a list of variants: which of them, by position (each with its options, as listed)."""
    named = [
        f"the {_POSITIONS[n]} ({options_text(product['variants'][c]['options'])})"
        for n, c in enumerate(listed[:VARIANTS_LISTED])
    ]
    choices = ", ".join(named[:-1]) + f" or {named[-1]}" if len(named) > 1 else named[0]
    return (
        f"Which {item['name']} would you like: {choices}? You can say 'the {_POSITIONS[0]} one' "
        "or name an option."
    )


def variant_unavailable(item: dict[str, Any], *, offer: bool = True) -> str:
    base = f"Sorry, the {item['name']} with those options is out of stock right now."
    return base + (" Would you like a different option?" if offer else "")


def suggestions(found: list[dict[str, Any]], kind: str, max_price: float | None = None) -> str:
    from kefu.tools.recommend import suggestion_line

    lines = "\n".join(f"- {suggestion_line(e)}" for e in found)
    within = f" under {money(max_price)}" if max_price is not None else ""
    if kind == "alternatives":
        return f"These options{within} are available now:\n{lines}\nWould you like one of them instead?"
    if kind == "similar":
        return f"Customers who bought that also liked{within and ','}{within}:\n{lines}"
    if within:
        return f"Here's what I'd suggest{within}:\n{lines}"
    return f"You might also like:\n{lines}"


def no_suggestions() -> str:
    return "I don't have a good suggestion for that right now. " + anything_else()


def nothing_within(max_price: float) -> str:
    return f"I couldn't find anything to suggest under {money(max_price)} right now. " + anything_else()


def no_such_variant(item: dict[str, Any], product: dict[str, Any]) -> str:
    return f"I couldn't find that option for the {item['name']}. " + ask_options(item, product)


def ask_address(purpose: str) -> str:
    return (
        f"What is the new address {purpose}? Please give the street, apartment or suite if any, city, "
        "state and zip code."
    )


def confirm(summary: str) -> str:
    return f"Here is what I'll do:\n{summary}\nShall I go ahead? Please reply yes to confirm."


def confirmation_declined() -> str:
    return "Okay, I haven't changed anything. " + anything_else()


def write_done(tool: str, result: dict[str, Any]) -> str:
    if tool == "cancel_pending_order":
        pm = result["payment_history"][0]["payment_method_id"] if result.get("payment_history") else ""
        when = "right away" if pm.startswith("gift_card") else "within 5 to 7 business days"
        return (
            f"Done: order {result['order_id']} is cancelled, and the refund will reach you {when}. "
            + anything_else()
        )
    if tool == "return_delivered_order_items":
        return (
            f"Done: the return for order {result['order_id']} is requested (status: {result['status']}). "
            "You'll get an email explaining how to send the items back. " + anything_else()
        )
    if tool == "exchange_delivered_order_items":
        return (
            f"Done: the exchange for order {result['order_id']} is requested (status: {result['status']}). "
            "You'll get an email explaining how to send the items back; no new order is needed. "
            + anything_else()
        )
    if tool == "modify_pending_order_items":
        return (
            f"Done: the items of order {result['order_id']} are updated (status: {result['status']}). "
            + anything_else()
        )
    if tool == "modify_pending_order_address":
        return (
            f"Done: order {result['order_id']} will now ship to {address_text(result['address'])}. "
            + anything_else()
        )
    if tool == "modify_pending_order_payment":
        return f"Done: the payment method of order {result['order_id']} is changed. " + anything_else()
    if tool == "modify_user_address":
        return f"Done: your default address is now {address_text(result['address'])}. " + anything_else()
    return "Done. " + anything_else()


def write_refused(error: str) -> str:
    return f"I couldn't do that: {error}. " + anything_else()


def order_not_found(order_id: str) -> str:
    return (
        f"I couldn't find order {order_id} on your account. Could you check the order id? It looks like "
        "#W followed by seven digits."
    )


@dataclass(frozen=True)
class PriceAsk:
    """A price condition in a product question: 'under $200' (below=200), 'the cheapest' (pick='cheapest')."""

    below: float | None = None
    above: float | None = None
    pick: str | None = None
    """'cheapest' or 'priciest'."""


def product(
    product: dict[str, Any],
    mentioned: dict[str, str] | None = None,
    price: PriceAsk | None = None,
    asks: Literal["stock", "price"] | None = None,
) -> str:
    """What we have of a product. `asks`: the customer's question was whether it is in stock, or what it
    costs; the answer then says that first, before the options."""
    if price is not None:
        return _product_by_price(product, mentioned or {}, price)
    variants = list(product["variants"].values())
    available = [v for v in variants if v["available"]]
    if mentioned:
        fits = [v for v in variants if all(str(v["options"].get(k)) == x for k, x in mentioned.items())]
        want = ", ".join(f"{k} {x}" for k, x in mentioned.items())
        if not fits:
            return f"We don't have the {product['name']} with {want}."
        in_stock = [v for v in fits if v["available"]]
        if not in_stock:
            return f"Sorry, the {product['name']} with {want} is currently out of stock."
        lines = "\n".join(f"- {options_text(v['options'])} – {money(v['price'])}" for v in in_stock[:10])
        if asks == "price" and len(in_stock) == 1:  # "how much is that one?": the price first
            v = in_stock[0]
            return f"The {product['name']} with {options_text(v['options'])} costs {money(v['price'])}, and it's in stock."
        if asks == "price":
            low, high = money(min(v["price"] for v in in_stock)), money(max(v["price"] for v in in_stock))
            cost = f"costs {low}" if low == high else f"costs from {low} to {high}"
            return f"The {product['name']} with {want} {cost}; in stock:\n{lines}"
        return f"Yes, the {product['name']} with {want} is available:\n{lines}"
    if not available:
        return f"The {product['name']} is currently out of stock in every option."
    prices = [v["price"] for v in available]
    choices: dict[str, set[str]] = {}
    for v in available:
        for k, x in v["options"].items():
            choices.setdefault(k, set()).add(str(x))
    listed = "\n".join(f"- {k}: {', '.join(sorted(vals))}" for k, vals in choices.items())
    if asks == "price":
        low, high = money(min(prices)), money(max(prices))
        cost = f"costs {low}" if low == high else f"costs from {low} to {high}, depending on the options"
        return (
            f"The {product['name']} {cost} ({len(available)} of {len(variants)} options in stock):\n{listed}\n"
            "Tell me the options you'd like and I'll give you the exact price."
        )
    yes = "Yes, it's in stock. " if asks == "stock" else ""
    return (
        f"{yes}The {product['name']} is available in {len(available)} of {len(variants)} options, from "
        f"{money(min(prices))} to {money(max(prices))}:\n{listed}\nTell me the options you'd like and I'll "
        "check the price and availability."
    )


def only_default_address_left(order_id: str) -> str:
    return (
        f"Order {order_id} will still go to the address it has, since it can't be changed any more. I can "
        "make this address your account's default for future orders instead:"
    )


def no_such_option(product: dict[str, Any], word: str) -> str:
    """'What sizes?' of a product sold in one size: which options it does come in."""
    keys = list(dict.fromkeys(k for v in product["variants"].values() for k in v["options"]))
    listed = ", ".join(keys[:-1]) + f" and {keys[-1]}" if len(keys) > 1 else (keys[0] if keys else "none")
    spelled = {"color": "colours", "size": "sizes", "material": "materials"}.get(word, word)
    plural = product["name"].endswith("s") and not product["name"].endswith("ss")  # Hiking Boots
    return (
        f"The {product['name']} {'don' if plural else 'doesn'}'t come in different {spelled}; "
        f"{'their' if plural else 'its'} options are {listed}. "
        "Ask me about any of them."
    )


def option_values(product: dict[str, Any], keys: Sequence[str], mentioned: dict[str, str]) -> str:
    """'What colours?' after a product: the values in stock of those options, among the variants that have
    what was asked before ('that works with Alexa')."""
    fits = _in_stock_with(product, mentioned)
    label = (
        f"{product['name']} with {', '.join(f'{k} {x}' for k, x in mentioned.items())}"
        if mentioned
        else product["name"]
    )
    if not fits:
        return f"Sorry, the {label} is not available right now."
    lines = []
    for key in keys:
        values = sorted({str(v["options"][key]) for v in fits if key in v["options"]})
        lines.append(f"- {key}: {', '.join(values)}")
    prices = [v["price"] for v in fits]
    low, high = money(min(prices)), money(max(prices))
    span = f"Price: {low}." if low == high else f"Prices from {low} to {high}."
    return (
        f"Options in stock for the {label}:\n" + "\n".join(lines) + f"\n{span} Tell me the options "
        "you'd like and I'll give you the exact price."
    )


def _in_stock_with(product: dict[str, Any], mentioned: dict[str, str]) -> list[dict[str, Any]]:
    """The product's variants in stock that have every option named."""
    return [
        v
        for v in product["variants"].values()
        if v["available"] and all(str(v["options"].get(k)) == x for k, x in mentioned.items())
    ]


def _product_by_price(product: dict[str, Any], mentioned: dict[str, str], price: PriceAsk) -> str:
    """The in-stock variants that meet the price condition (with the options named), or why none does."""
    name = product["name"]
    want = ", ".join(f"{k} {x}" for k, x in mentioned.items())
    label = f"{name} with {want}" if want else name
    fits = _in_stock_with(product, mentioned)
    if not fits:
        return f"Sorry, the {label} is not available right now."
    fits.sort(key=lambda v: v["price"])
    if price.pick is not None:
        v = fits[0] if price.pick == "cheapest" else fits[-1]
        which = "most affordable" if price.pick == "cheapest" else "most expensive"
        return f"The {which} {label} in stock is {options_text(v['options'])} at {money(v['price'])}."
    within = [
        v
        for v in fits
        if (price.below is None or v["price"] <= price.below)
        and (price.above is None or v["price"] >= price.above)
    ]
    bound = " and ".join(
        b
        for b in (
            f"under {money(price.below)}" if price.below is not None else "",
            f"over {money(price.above)}" if price.above is not None else "",
        )
        if b
    )
    if not within:
        return (
            f"Sorry, no {label} in stock costs {bound}: they range from {money(fits[0]['price'])} to "
            f"{money(fits[-1]['price'])}."
        )
    lines = "\n".join(f"- {options_text(v['options'])} – {money(v['price'])}" for v in within[:10])
    return f"Here are the {label} options {bound}:\n{lines}"


def product_unknown(types: dict[str, str]) -> str:
    """No product named (or one we do not sell): the catalogue, and which one they mean."""
    return (
        "Here is what we sell: " + ", ".join(sorted(types)) + ". Which one would you like to know more about?"
    )


def handed_off() -> str:
    return (
        "I've transferred you to a human agent, who will pick up this conversation shortly with everything "
        "you've told me so far."
    )


def tool_failed(offer_human: bool) -> str:
    base = "Sorry, something went wrong on our side and I couldn't complete that. Nothing was changed."
    if offer_human:
        return base + " Would you like me to connect you with a person? Just say 'human'."
    return base + " Could you try again in a moment?"


def offer_person(upset: bool) -> str:
    """The unasked offer of a hand-off, when the customer stays upset or the bot keeps missing the point."""
    if upset:
        return "I'm sorry this has been frustrating. Would you like me to connect you with a person? Just say 'human'."
    return "I seem to be missing what you need. Would you like me to connect you with a person? Just say 'human'."


def complaint() -> str:
    """An upset message with no request we can act on: acknowledge it, ask what happened, offer a person."""
    return (
        "I'm sorry, that's not the experience we want you to have. Tell me what went wrong (an order number "
        "helps) and I'll look into it right away, or I can connect you with a person: just say 'human'."
    )


def beyond_us() -> str:
    """A formal complaint or compensation: a person's decision, so say so and offer one."""
    return (
        "I'm sorry about that. A formal complaint or compensation is something our team decides, not me: I can "
        "connect you with a person (just say 'human'), or help with a return or an exchange of the item."
    )


def billing_issue() -> str:
    """A disputed charge: a person checks the payments; the assistant cannot reverse one."""
    return (
        "I'm sorry about that. I can't look into or reverse a charge myself: a person from our team can check "
        "the payments on your order. Would you like me to connect you with one?"
    )


def cannot_remove_item(order: dict[str, Any]) -> str:
    """The policy has no 'remove one item': a pending order is cancelled whole, or its items swapped."""
    return (
        f"I can't remove a single item from order {order['order_id']}: a pending order can only be cancelled "
        "as a whole, or have its items changed to another option of the same product. Would you like to "
        "cancel the whole order, or change an item?"
    )


def cancels_whole_order(order: dict[str, Any], named: list[dict[str, Any]]) -> str:
    """'Cancel the vacuum from my order': said before anything else, since the policy cancels orders whole."""
    names = " and ".join(dict.fromkeys(i["name"] for i in named))
    return (
        f"{_WHOLE_ORDER_NOTE} Cancelling order "
        f"{order['order_id']} cancels all {len(order['items'])} items in it, not only the {names}. If you'd "
        "rather keep the order, just say 'never mind'."
    )


def item_prices(order: dict[str, Any], items: list[dict[str, Any]]) -> str:
    """What each named item of the order cost ('what did I pay for the kettle?')."""
    if len(items) == 1:
        item = items[0]
        return (
            f"In order {order['order_id']} you paid {money(item['price'])} for the {item['name']} "
            f"({options_text(item['options'])})."
        )
    listed = "\n".join(f"- {item_text(i)}" for i in items)
    return f"In order {order['order_id']} you paid:\n{listed}"


def already_ships_there(order: dict[str, Any], *, last: bool = True) -> str:
    text = f"Order {order['order_id']} already ships to {address_text(order['address'])}, so there is nothing to change."
    return f"{text} {anything_else()}" if last else text


def orders_follow() -> str:
    return "Sure: once your account's address is changed, I'll change the address of your pending orders too."


def one_at_a_time(order_ids: list[str]) -> str:
    """Several orders for the same change: each is confirmed on its own."""
    return f"I'll do that for {len(order_ids)} orders ({', '.join(order_ids)}), one at a time."


def defective_items(order: dict[str, Any], items: list[dict[str, Any]]) -> str:
    """A delivered item that broke: the two remedies the policy allows, and a person if neither suits."""
    names = " and ".join(dict.fromkeys(i["name"] for i in items))
    it = "it" if len(items) == 1 else "them"
    return (
        f"Order {order['order_id']} was delivered, so I can return the {names} for a refund or exchange {it} "
        f"for a new one. Which would you prefer? If you'd rather talk to a person, just say 'human'."
    )


def same_one_unavailable(item: dict[str, Any]) -> str:
    return f"Sorry, the {item['name']} ({options_text(item['options'])}) itself is out of stock right now."


def which_item_broke(order: dict[str, Any]) -> str:
    lines = "\n".join(f"- {item_text(i)}" for i in order["items"])
    return f"Which item from order {order['order_id']} is the problem?\n{lines}"


def delivered_not_received() -> str:
    """Said after the order when the customer says it never came but it shows as delivered."""
    return (
        "Our records show this order as delivered. If it hasn't reached you, a person from our team can look "
        "into it with the carrier: would you like me to connect you?"
    )


def apology() -> str:
    """Said before the reply to an upset message, when the reply itself does not apologise."""
    return "I'm sorry about the trouble."


def policy(section_title: str, text: str) -> str:
    return f"From our policy ({section_title}):\n{text}\nIs there anything I can do for one of your orders?"


def english_only() -> str:
    return (
        "Sorry, I can only read and answer English for now. Could you write your question in English? If "
        "you'd prefer, I can also connect you with a person: just say 'human'."
    )


def didnt_understand() -> str:
    return f"Sorry, I didn't quite get that. I can {HELP_TOPICS}. What would you like to do?"


def _quoted(passage: dict[str, Any]) -> str:
    """A passage's text and where it comes from."""
    where = passage.get("heading") or passage.get("source", "our policy")
    return f"{passage['text'].strip()}\n(Source: {where}, {passage['source']}.)"


def knowledge_answer(passage: dict[str, Any]) -> str:
    """The best passage, quoted, with where it comes from."""
    return f"{_quoted(passage)} " + anything_else()


def knowledge_answer_with_offer(passage: dict[str, Any], task_phrase: str) -> str:
    """The best passage, quoted, then an offer to do what the customer asked how to do."""
    verb = f"help you {task_phrase}" if task_phrase.startswith("with ") else task_phrase
    return f"{_quoted(passage)} If you like, I can {verb} for you now: just say yes."


def knowledge_unsure(passage: dict[str, Any]) -> str:
    """The nearest passage when it may not answer the question: shown as such, with a person offered."""
    question = passage.get("question")
    lead = f' under "{question}"' if question else ""
    return (
        f"I'm not sure I have the answer to that. The closest I found{lead}:\n{_quoted(passage)} If that "
        "doesn't answer your question, I can connect you with a person: just say 'human'."
    )


def knowledge_not_found() -> str:
    return (
        "I'm sorry, I don't know the answer to that, and I'd rather not guess. Would you like me to "
        "connect you with a person who can help?"
    )
