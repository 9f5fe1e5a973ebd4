"""Training pairs (plan → reply) for every flow and outcome of the demo shop.

Each pair takes real values from the shop's database (orders, customers, products, the policy), a
varied customer phrasing, the template reply as the plan's draft, and a reply written in a warmer,
less mechanical wording that keeps every fact of the draft. Optionally, conversational style from
the Bitext customer-support responses (placeholders removed) for the turns without shop facts.
Pairs are split by customer, so the held-out plans use customers the model never saw.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from kefu.agents import replies as r
from kefu.agents.generation.grounding import coverage, required_facts
from kefu.agents.generation.plan import ReplyPlan, order_facts
from kefu.tools.orders.describe import address_text, item_text, money, payment_method_text


@dataclass
class Pair:
    plan: ReplyPlan
    reply: str
    group: str
    """The customer (or source) the pair is built from: the split key."""
    kind: str
    """The outcome, e.g. `order_status`, `write_done:cancel_pending_order`, `bitext:complaint`."""


OPENERS = [
    "",
    "Thanks for your patience! ",
    "Sure! ",
    "Of course. ",
    "Thanks for reaching out. ",
    "Happy to help! ",
]
CLOSERS = [
    " Is there anything else I can help you with?",
    " Let me know if there's anything else I can do for you.",
    " Anything else I can help with today?",
    "",
]

ASK = {
    "order_status": [
        "where is my order {oid}?",
        "hi, can you check order {oid} for me",
        "whats the status of {oid}",
        "has my order {oid} shipped yet?",
        "I want to track {oid}",
        "any news on my package? order {oid}",
    ],
    "cancel_pending_order": [
        "please cancel {oid}",
        "I want to cancel order {oid}",
        "cancel my order {oid}, I don't need it anymore",
    ],
    "return_delivered_order_items": [
        "I'd like to return items from {oid}",
        "how do i return stuff from order {oid}",
        "return {oid} please",
    ],
    "exchange_delivered_order_items": [
        "can I exchange something from {oid}?",
        "I want to swap an item in {oid}",
    ],
    "modify_pending_order_items": ["change the items in {oid}", "I ordered the wrong option in {oid}"],
    "modify_pending_order_address": ["ship {oid} to my new address", "change the address on order {oid}"],
    "modify_pending_order_payment": ["pay {oid} with another card", "change the payment for {oid}"],
    "modify_user_address": ["update my address please", "I moved, change my default address"],
}


def _pick(rng: random.Random, xs: list[str]) -> str:
    return xs[rng.randrange(len(xs))]


def _frame(rng: random.Random, body: str, *, closer: bool = True) -> str:
    return (_pick(rng, OPENERS) + body + (_pick(rng, CLOSERS) if closer else "")).strip()


def _items_sentence(order: dict[str, Any]) -> str:
    items = [item_text(i) for i in order["items"]]
    if len(items) == 1:
        return f"It contains one item: {items[0]}."
    return "It contains:\n" + "\n".join(f"- {i}" for i in items)


def status_reply(rng: random.Random, order: dict[str, Any]) -> str:
    oid, status = order["order_id"], order["status"]
    head = _pick(
        rng,
        [
            f"I've looked up order {oid}: it is {status}.",
            f"Your order {oid} is currently {status}.",
            f"Good news on order {oid}: its status is {status}."
            if status == "delivered"
            else f"Order {oid} is {status} at the moment.",
        ],
    )
    parts = [head, _items_sentence(order)]
    tracking = [t for f in order.get("fulfillments", []) for t in f.get("tracking_id", [])]
    if tracking:
        parts.append(
            _pick(rng, ["You can follow it with tracking number {t}.", "The tracking number is {t}."]).format(
                t=", ".join(tracking)
            )
        )
    elif status == "pending":
        parts.append("It hasn't shipped yet, so there's no tracking number for now.")
    paid = sum(p["amount"] for p in order.get("payment_history", []) if p["transaction_type"] == "payment")
    refunded = sum(p["amount"] for p in order.get("payment_history", []) if p["transaction_type"] == "refund")
    if paid:
        parts.append(
            f"You paid {money(paid)} in total"
            + (f", and {money(refunded)} has been refunded." if refunded else ".")
        )
    if order.get("address"):
        parts.append(f"It ships to {address_text(order['address'])}.")
    return _frame(rng, "\n".join(parts))


def done_reply(rng: random.Random, tool: str, result: dict[str, Any]) -> str:
    oid = result.get("order_id", "")
    if tool == "cancel_pending_order":
        pm = result["payment_history"][0]["payment_method_id"] if result.get("payment_history") else ""
        when = "right away" if pm.startswith("gift_card") else "within 5 to 7 business days"
        body = _pick(
            rng,
            [
                f"All set: I've cancelled order {oid}. Your refund will reach you {when}.",
                f"Order {oid} is now cancelled, and you'll get your refund {when}.",
            ],
        )
    elif tool == "return_delivered_order_items":
        body = (
            f"Your return for order {oid} is in (status: {result['status']}). We'll email you instructions "
            "for sending the items back."
        )
    elif tool == "exchange_delivered_order_items":
        body = (
            f"I've requested the exchange for order {oid} (status: {result['status']}). You'll receive an email "
            "on how to send the items back, and you don't need to place a new order."
        )
    elif tool == "modify_pending_order_items":
        body = f"The items in order {oid} have been updated (status: {result['status']})."
    elif tool == "modify_pending_order_address":
        body = f"Order {oid} will now be shipped to {address_text(result['address'])}."
    elif tool == "modify_pending_order_payment":
        body = f"I've switched the payment method for order {oid}."
    else:
        body = f"Your default address is now {address_text(result['address'])}."
    return _frame(rng, body)


def _orders_by_user(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    by: dict[str, list[dict[str, Any]]] = {}
    for o in data["orders"].values():
        by.setdefault(o["user_id"], []).append(o)
    return by


def _plan(
    intent: str, draft: str, customer: str, facts: list[tuple[str, str]] | None = None, **kw: Any
) -> ReplyPlan:
    return ReplyPlan(intent=intent, draft=draft, customer=customer, facts=facts or [], **kw)


def shop_pairs(data: dict[str, Any], rng: random.Random) -> list[Pair]:
    """Pairs for every flow and outcome, over every customer of the shop."""
    pairs: list[Pair] = []
    by_user = _orders_by_user(data)
    products = data["products"]
    types = {p["name"]: pid for pid, p in products.items()}
    for uid, user in data["users"].items():
        orders = by_user.get(uid, [])
        first = user["name"]["first_name"]

        def add(kind: str, plan: ReplyPlan, reply: str, uid: str = uid) -> None:
            pairs.append(Pair(plan, reply, uid, kind))

        # identity
        task = rng.choice(["check your order", "cancel", "return", "exchange", "update your address"])
        add(
            "ask_auth",
            _plan(
                "authenticate",
                r.ask_auth(task),
                rng.choice(["hi", "hello, I need help", f"I want to {task}"]),
            ),
            _frame(
                rng,
                f"I'd be glad to help you {task}. To keep your account safe, please share the email address on "
                "your account, or your first name, last name and zip code.",
                closer=False,
            ),
        )
        by = rng.choice(["email", "name and zip code"])
        add(
            "auth_failed",
            _plan("authenticate", r.auth_failed(by), user["email"].replace("@", "1@")),
            f"Hmm, I couldn't find an account with that {by}. Could you check it again, or give me your "
            "first name, last name and zip code (or your email) instead?",
        )
        # account overview
        if orders:
            acc_draft = r.account(user, orders)
            facts = [("email", user["email"]), ("address", address_text(user["address"]))]
            methods = [payment_method_text(pm) for pm in user["payment_methods"].values()]
            body = (
                f"Here's your account ({user['email']}), {first}.\nYour address is {address_text(user['address'])}.\n"
                "Payment methods on file:\n"
                + "\n".join(f"- {m}" for m in methods)
                + "\nYour orders:\n"
                + "\n".join(f"- {r.order_line(o)}" for o in orders)
                + "\nWould you like details on any of them?"
            )
            add("account", _plan("account_info", acc_draft, "what's on my account?", facts), body)
            purpose = rng.choice(list(r_purposes))
            add(
                "ask_order",
                _plan("order_status", r.ask_order(orders, purpose), f"I need to {purpose} an order"),
                f"Sure, which order would you like to {purpose}? I see these on your account:\n"
                + "\n".join(f"- {r.order_line(o)}" for o in orders),
            )
        for o in orders:
            oid = o["order_id"]
            cust = _pick(rng, ASK["order_status"]).format(oid=oid)
            add(
                "order_status",
                _plan("order_status", r.order_status(o), cust, order_facts(o)),
                status_reply(rng, o),
            )
            status = o["status"]
            if status == "pending":
                tool = rng.choice(
                    ["cancel_pending_order", "modify_pending_order_address", "modify_pending_order_payment"]
                )
                cust = _pick(rng, ASK[tool]).format(oid=oid)
                if tool == "cancel_pending_order":
                    reason = rng.choice(["no longer needed", "ordered by mistake"])
                    pm = o["payment_history"][0]["payment_method_id"] if o.get("payment_history") else ""
                    summary = (
                        f"Cancel order {oid} (reason: {reason}). "
                        f"The refund of {money(sum(p['amount'] for p in o['payment_history']))} goes back to the original payment method."
                    )
                    add(
                        "confirm",
                        _plan(
                            "cancel_order", r.confirm(summary), cust, order_facts(o)[:2], confirmation=summary
                        ),
                        f"Just to confirm before I go ahead:\n{summary}\nShould I proceed? Reply yes to confirm.",
                    )
                    res = {**o, "status": "cancelled"}
                    if pm:
                        res["payment_history"] = o["payment_history"]
                else:
                    res = {**o, "address": user["address"]}
                draft = r.write_done(tool, res)
                add(
                    f"write_done:{tool}",
                    _plan(_intent(tool), draft, "yes", order_facts(res)[:2]),
                    done_reply(rng, tool, res),
                )
                for wrong in ("return_items", "exchange_items"):
                    if rng.random() < 0.5:
                        add(
                            "wrong_status",
                            _plan(
                                wrong,
                                r.wrong_status(o, wrong),
                                f"I want to {wrong.split('_')[0]} {oid}",
                                order_facts(o)[:2],
                            ),
                            f"Order {oid} hasn't been delivered yet ({status}), so it can't be {'returned' if wrong == 'return_items' else 'exchanged'}. "
                            "While it's still pending, I can cancel it or change its items, address or payment instead.",
                        )
            elif status == "delivered":
                tool = rng.choice(["return_delivered_order_items", "exchange_delivered_order_items"])
                res = {
                    **o,
                    "status": "return requested" if tool.startswith("return") else "exchange requested",
                }
                add(
                    f"write_done:{tool}",
                    _plan(_intent(tool), r.write_done(tool, res), "yes please", order_facts(res)[:2]),
                    done_reply(rng, tool, res),
                )
                if rng.random() < 0.5:
                    add(
                        "wrong_status",
                        _plan(
                            "cancel_order",
                            r.wrong_status(o, "cancel_order"),
                            f"cancel {oid}",
                            order_facts(o)[:2],
                        ),
                        f"Order {oid} has already been delivered, so I can't cancel it, but I'd be happy to help "
                        "you return or exchange its items instead.",
                    )
                item = rng.choice(o["items"])
                prod = products.get(item["product_id"])
                if prod and rng.random() < 0.5:
                    draft = r.ask_options(item, prod)
                    add(
                        "ask_options",
                        _plan(
                            "exchange_items",
                            draft,
                            f"exchange the {item['name']}",
                            [("item", item_text(item))],
                        ),
                        _frame(
                            rng,
                            draft.replace(
                                "What would you like instead of", "Which option would you like instead of"
                            ),
                            closer=False,
                        ),
                    )
            elif status in ("processed", "cancelled") and rng.random() < 0.7:
                add(
                    "wrong_status",
                    _plan(
                        "cancel_order", r.wrong_status(o, "cancel_order"), f"cancel {oid}", order_facts(o)[:2]
                    ),
                    (
                        f"I checked order {oid}: it's already cancelled."
                        if status == "cancelled"
                        else f"Order {oid} is already {status}, so it can't be cancelled anymore: only pending orders can."
                    ),
                )
        # order not found
        fake = f"#W{rng.randrange(10**6, 10**7)}"
        add(
            "order_not_found",
            _plan("order_status", r.order_not_found(fake), f"where is {fake}"),
            f"I couldn't find order {fake} on your account. Could you double-check the number? Order ids look "
            "like #W followed by seven digits.",
        )
        # a product question
        name = rng.choice(sorted(types))
        prod = products[types[name]]
        draft = r.product(prod)
        add(
            "product",
            _plan("product_info", draft, f"do you have the {name.lower()} in stock?", [("product", name)]),
            _frame(
                rng,
                draft.replace(f"The {name} is available", f"Yes, we have the {name}, available"),
                closer=False,
            ),
        )
    return pairs


r_purposes = ("check", "cancel", "return items from", "exchange items from")


def _intent(tool: str) -> str:
    from kefu.agents.generation.plan import WRITE_INTENTS

    return WRITE_INTENTS.get(tool, "chat")


def chat_pairs(rng: random.Random, n: int) -> list[Pair]:
    """Turns without shop facts: greeting, goodbye, out of scope, hand-off, policy passages."""
    out: list[Pair] = []
    cases: list[tuple[str, Callable[[], str], list[str], list[str]]] = [
        (
            "greet",
            r.greet,
            ["hi", "hello there", "hey"],
            [
                "Hi there! I'm the shop's assistant. I can check an order's status or tracking, cancel or change a pending order, return or exchange delivered items, update your address, or answer product questions. What can I do for you?",
            ],
        ),
        (
            "goodbye",
            r.goodbye,
            ["thanks, bye", "that's all, thank you"],
            [
                "You're very welcome! Thanks for shopping with us, and have a wonderful day.",
                "Glad I could help! Have a great day.",
            ],
        ),
        (
            "out_of_scope",
            r.out_of_scope,
            ["what's the weather tomorrow?", "write me a poem"],
            [
                "I'm sorry, that's not something I can help with here. I can help with your orders, returns, exchanges, your address or our products, and I can also connect you with a person if you prefer.",
            ],
        ),
        (
            "handed_off",
            r.handed_off,
            ["I want to talk to a human", "get me an agent"],
            [
                "I've passed your conversation to one of our human agents. They'll pick it up shortly and will see everything you've told me so far.",
            ],
        ),
        (
            "knowledge_not_found",
            r.knowledge_not_found,
            ["do you sell gift wrapping in Mars?"],
            [
                "I'm sorry, I don't have an answer to that and I'd rather not guess. Would you like me to connect you with a person who can help?",
            ],
        ),
        (
            "didnt_understand",
            r.didnt_understand,
            ["asdf qwerty", "hmm the thing"],
            [
                "Sorry, I didn't quite catch that. I can help with your orders, returns and exchanges, your address, or product questions. What would you like to do?",
            ],
        ),
    ]
    for i in range(n):
        kind, fn, asks, targets = cases[i % len(cases)]
        out.append(Pair(_plan(kind, fn(), rng.choice(asks)), rng.choice(targets), f"chat{i}", kind))
    return out


def policy_pairs(rng: random.Random) -> list[Pair]:
    from importlib import resources

    text = resources.files("kefu.demo").joinpath("policy.md").read_text(encoding="utf-8")
    bullets = [b.strip("- \n") for b in text.split("\n- ") if 60 < len(b) < 400 and not b.startswith("#")]
    out = []
    for i, b in enumerate(bullets):
        passage = {
            "source_id": f"policy.md#{i}",
            "text": b,
            "heading": "Retail agent policy",
            "source": "policy.md",
        }
        draft = r.knowledge_answer(passage)
        reply = f"Here's what our policy says: {b} (Source: Retail agent policy, policy.md.) Is there anything else I can help with?"
        plan = _plan(
            "policy_question",
            draft,
            "what's your policy on this?",
            passages=[{"source_id": passage["source_id"], "text": b}],
        )
        out.append(Pair(plan, reply, f"policy{i}", "knowledge_answer"))
    return out


_PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}")


def bitext_pairs(path: Path, rng: random.Random, n: int) -> list[Pair]:
    """Style pairs from Bitext responses: sentences with placeholders dropped, at most three kept."""
    if not path.is_file():
        return []
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    rng.shuffle(rows)
    out: list[Pair] = []
    for row in rows:
        if len(out) >= n:
            break
        sentences = re.split(r"(?<=[.!?])\s+", row["response"].strip())
        keep = [s for s in sentences if not _PLACEHOLDER.search(s) and not re.search(r"\d", s)][:3]
        reply = " ".join(keep).strip()
        if len(reply) < 60:
            continue
        intent = row["intent"]
        # style only: no template and no shop facts, so the reply may state none
        plan = _plan(f"bitext:{intent}", "", row["instruction"])
        out.append(Pair(plan, reply, f"bitext{len(out)}", f"bitext:{intent}"))
    return out


@lru_cache(maxsize=4)
def build_pairs(
    *, seed: int = 0, bitext: Path | None = None, bitext_n: int = 120, chat_n: int = 60
) -> tuple[list[Pair], list[Pair]]:
    """(train, held-out): every pair keeps all required facts of its draft; 10% of customers held out."""
    from kefu.tools.orders.loader import demo_shop_data

    rng = random.Random(seed)
    pairs = shop_pairs(demo_shop_data(), rng) + chat_pairs(rng, chat_n) + policy_pairs(rng)
    if bitext is not None:
        pairs += bitext_pairs(bitext, rng, bitext_n)
    pairs = [
        p
        for p in pairs
        if p.kind.startswith(("bitext", "greet", "goodbye", "out_of", "handed", "knowledge_not", "didnt"))
        or coverage(p.reply, required_facts(p.plan.draft)) == 1.0
    ]
    groups = sorted({p.group for p in pairs})
    rng.shuffle(groups)
    held = set(groups[: len(groups) // 10])
    train = [p for p in pairs if p.group not in held]
    test = [p for p in pairs if p.group in held]
    rng.shuffle(train)
    return train, test
