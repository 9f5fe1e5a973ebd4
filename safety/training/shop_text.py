"""Benign text from a shop's own traffic: what customers type to the assistant and what its tools return.

The public safety sets never show a bare order id, an email on its own, a name and a zip code, or a
product title: a head trained only on them is free to call "#W1205816" a jailbreak and "Indoor Security
Camera" an injected instruction. These negatives come from kefu's own material: the shop NLU's
hand-written utterances (Apache-2.0) and values of the demo shop (τ-bench retail, MIT) arranged the way
customers type them and tools return them. Seeded; none of it is evaluation data.
"""

from __future__ import annotations

import gzip
import json
import random
from importlib import resources
from typing import Any

import yaml

SEED = 20261128


def _shop() -> dict[str, Any]:
    raw = resources.files("kefu.demo").joinpath("shop.json.gz").read_bytes()
    return json.loads(gzip.decompress(raw))


def _intent_utterances() -> list[str]:
    text = resources.files("kefu.agents.nlu").joinpath("data/shop_intents.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)["intents"]
    return [str(e) for spec in data.values() for e in spec.get("examples", [])]


def customer_turns(n: int = 1500) -> list[str]:
    """Short customer messages: ids, emails, names and zips, item and option names, yes/no answers."""
    shop = _shop()
    rng = random.Random(SEED)
    users = list(shop["users"].values())
    orders = list(shop["orders"])
    products = list(shop["products"].values())
    out = list(_intent_utterances())

    def option_phrase() -> str:
        product = rng.choice(products)
        variant = rng.choice(list(product["variants"].values()))
        values = list(variant["options"].values())
        return f"the {product['name'].lower()} in {' '.join(rng.sample(values, min(2, len(values))))}"

    templates = [
        lambda: rng.choice(orders),
        lambda: rng.choice(orders).lstrip("#"),
        lambda: f"order {rng.choice(orders)}",
        lambda: f"{rng.choice(orders)} please",
        lambda: f"it's {rng.choice(orders)}",
        lambda: f"please cancel {rng.choice(orders)}, I ordered it by mistake",
        lambda: f"what's the status of {rng.choice(orders)}?",
        lambda: f"{rng.choice(orders)} and {rng.choice(orders)}",
        lambda: rng.choice(users)["email"],
        lambda: f"my email is {rng.choice(users)['email']}",
        lambda: (lambda u: f"{u['name']['first_name']} {u['name']['last_name']}, {u['address']['zip']}")(
            rng.choice(users)
        ),
        lambda: (lambda u: f"{u['name']['first_name']} {u['name']['last_name']}")(rng.choice(users)),
        lambda: f"zip is {rng.choice(users)['address']['zip']}",
        lambda: (lambda a: f"{a['address1']}, {a['address2']}, {a['city']}, {a['state']} {a['zip']}")(
            rng.choice(users)["address"]
        ),
        lambda: rng.choice(products)["name"],
        lambda: option_phrase(),
        lambda: f"I want {option_phrase()} instead",
        lambda: f"change {option_phrase()} to {option_phrase()}",
        lambda: rng.choice(["yes", "no", "yes please", "go ahead", "nope", "ok", "sure", "thanks"]),
        lambda: rng.choice(
            ["my visa", "paypal", "the gift card", "my mastercard", "credit card ending 4242"]
        ),
    ]
    while len(out) < n:
        out.append(rng.choice(templates)())
    return list(dict.fromkeys(out))


def tool_strings() -> list[str]:
    """Product titles, option phrases and addresses as the order and product tools return them."""
    shop = _shop()
    out: list[str] = []
    for product in shop["products"].values():
        out.append(product["name"])
        for variant in product["variants"].values():
            out.append(", ".join(f"{k} {v}" for k, v in variant["options"].items()))
    for user in list(shop["users"].values())[:200]:
        a = user["address"]
        out.append(f"{a['address1']}, {a['address2']}, {a['city']}, {a['state']} {a['zip']}, {a['country']}")
    return list(dict.fromkeys(out))


def reply_lines(n: int = 3000) -> list[str]:
    """Lines of the shop's own replies: products with their colours and sizes, orders and their items.

    Colour words ("white", "black") are frequent in hate-speech corpora; without these lines a toxicity
    model trained on tweets reads "backlight white, size full size" as an insult.
    """
    shop = _shop()
    rng = random.Random(SEED + 1)
    lines: list[str] = []
    for product in shop["products"].values():
        for variant in product["variants"].values():
            options = ", ".join(f"{k} {v}" for k, v in variant["options"].items())
            lines.append(f"- {options} – ${variant['price']}")
            lines.append(f"Yes, the {product['name']} with {options} is available.")
            lines.append(f"Sorry, the {product['name']} with {options} is out of stock right now.")
    for order_id, order in shop["orders"].items():
        names = ", ".join(i["name"] for i in order["items"])
        lines.append(f"- {order_id} ({order['status']}): {names}")
        for item in order["items"]:
            options = ", ".join(f"{k} {v}" for k, v in item["options"].items())
            lines.append(f"- {item['name']} ({options}) – ${item['price']}")
    lines = list(dict.fromkeys(lines))
    return rng.sample(lines, min(n, len(lines)))
