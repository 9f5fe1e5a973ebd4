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


def demo_shop() -> dict[str, Any]:
    """The demo shop's users, orders and products, as packaged."""
    raw = resources.files("kefu.demo").joinpath("shop.json.gz").read_bytes()
    return json.loads(gzip.decompress(raw))


def _intent_utterances() -> list[str]:
    text = resources.files("kefu.agents.nlu").joinpath("data/shop_intents.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)["intents"]
    return [str(e) for spec in data.values() for e in spec.get("examples", [])]


def customer_turns(n: int = 1500) -> list[str]:
    """Short customer messages: ids, emails, names and zips, item and option names, yes/no answers."""
    shop = demo_shop()
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
    shop = demo_shop()
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
    shop = demo_shop()
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


# Product copy as a shop's help pages and product FAQs carry it. The first injection head read such
# sentences as injected tasks ("It has an integrated grinder." 1.00): its off-topic positives include
# CLINC150's cooking and home questions, and it had seen no description of a product. These templates and
# phrases are kefu's own (Apache-2.0); the products and options are the demo shop's (τ-bench, MIT) plus
# other common goods. The copy used to *test* the head (tests/safety/data/product_copy.txt) was written
# before this list, and its kitchen products (toaster, blender, slow cooker, rice cooker, pasta maker,
# stand mixer) are kept out of it on purpose.
_OTHER_PRODUCTS = {
    "Air Fryer": ["a 5-litre basket", "eight preset programs", "a dishwasher-safe tray"],
    "Food Processor": ["three slicing discs", "a 2-litre bowl", "a pulse button"],
    "Microwave": ["a grill function", "a 25-litre cavity", "a child lock"],
    "Juicer": ["a wide feed chute", "a quiet motor", "a pulp container"],
    "Waffle Maker": ["non-stick plates", "a browning dial", "an indicator light"],
    "Dishwasher": ["twelve place settings", "a half-load program", "a cutlery tray"],
    "Frying Pan": ["a non-stick coating", "a stay-cool handle", "an induction base"],
    "Knife Set": ["six forged knives", "a bamboo block", "a sharpening steel"],
    "Cutting Board": ["a juice groove", "non-slip feet", "two sides for meat and vegetables"],
    "Cookware Set": ["three saucepans", "glass lids", "a lifetime warranty"],
    "Sofa": ["removable cushion covers", "solid wood legs", "room for three"],
    "Duvet": ["a cotton cover", "hollow-fibre filling", "corner ties"],
    "Winter Coat": ["a detachable hood", "two inner pockets", "a water-repellent shell"],
    "Board Game": ["up to six players", "a 45-minute playing time", "a rulebook in four languages"],
    "Drone": ["a 4K camera", "a 30-minute flight time", "obstacle sensors"],
    "Printer": ["double-sided printing", "a 250-sheet tray", "wireless printing"],
    "Monitor": ["a 27-inch screen", "a height-adjustable stand", "a USB-C port"],
    "Baby Stroller": ["a one-hand fold", "a rain cover", "a large shopping basket"],
    "Tent": ["room for four", "a waterproof flysheet", "two doors"],
    "Sleeping Bag": ["a comfort rating of 5 °C", "a compression sack", "a two-way zip"],
}
_FEATURES = {  # the demo catalogue's products, in the words product copy uses
    "Electric Kettle": ["an auto shut-off", "a 360-degree base", "a limescale filter"],
    "Espresso Machine": ["a steam wand for milk", "a removable water tank", "a cup warmer"],
    "Coffee Maker": ["a built-in burr grinder", "a keep-warm plate", "a programmable timer"],
    "Tea Kettle": ["a whistle", "a heat-resistant handle", "a wide spout"],
    "Grill": ["two burners", "a built-in thermometer", "a warming rack"],
    "Vacuum Cleaner": ["a HEPA filter", "a 40-minute battery", "a crevice tool"],
    "Air Purifier": ["a night mode", "a filter-change reminder", "three fan speeds"],
    "Yoga Mat": ["a non-slip surface", "a carrying strap", "alignment lines"],
    "Water Bottle": ["double-wall insulation", "a leak-proof lid", "a wide mouth"],
    "Hiking Boots": ["a waterproof membrane", "a rubber sole", "a padded collar"],
    "Backpack": ["a padded laptop sleeve", "a hydration port", "hidden pockets"],
    "Headphones": ["active noise cancelling", "a 30-hour battery", "a foldable design"],
    "Smart Watch": ["a heart-rate sensor", "GPS", "sleep tracking"],
    "Desk Lamp": ["three brightness levels", "a USB charging port", "a flexible arm"],
    "Office Chair": ["lumbar support", "a tilt lock", "smooth-rolling castors"],
    "Bookshelf": ["five shelves", "wall anchors", "adjustable feet"],
    "Pet Bed": ["a removable cover", "raised edges", "a non-slip base"],
    "Jigsaw Puzzle": ["a poster of the picture", "thick card pieces", "a sturdy box"],
    "Perfume": ["notes of cedar and sandalwood", "a refillable bottle", "a travel spray"],
    "Mechanical Keyboard": ["hot-swappable switches", "a detachable cable", "PBT keycaps"],
    "Digital Camera": ["image stabilisation", "a tilting screen", "a 10x optical zoom"],
    "Cycling Helmet": ["a rear light", "a magnetic buckle", "a removable visor"],
    "Sunglasses": ["polarised lenses", "UV400 protection", "a hard case"],
    "T-Shirt": ["a relaxed fit", "a tagless collar", "pre-shrunk cotton"],
    "Running Shoes": ["a cushioned midsole", "a breathable upper", "reflective details"],
    "Bluetooth Speaker": ["a 20-hour battery", "a built-in microphone", "a carrying loop"],
    "Garden Hose": ["a spray nozzle", "brass fittings", "a kink-free design"],
    "Smart Thermostat": ["a learning schedule", "an energy report", "remote control from your phone"],
    "Portable Charger": ["fast charging", "two ports", "an LED charge indicator"],
    "Electric Toothbrush": ["a two-minute timer", "a pressure sensor", "a travel case"],
    "Patio Umbrella": ["a crank handle", "UV-resistant fabric", "air vents"],
    "Bicycle": ["21 gears", "disc brakes", "a lightweight aluminium frame"],
    "Luggage Set": ["spinner wheels", "TSA locks", "expandable zips"],
    "Fleece Jacket": ["zipped hand pockets", "an elastic hem", "a stand-up collar"],
}
_BENEFITS = [
    "Brew a fresh cup in minutes.",
    "Enjoy barista-style coffee at home.",
    "Boil water for tea in under three minutes.",
    "Grill burgers, vegetables and fish on the same day.",
    "Cook for the whole family at once.",
    "Keep your drinks cold for 24 hours.",
    "Clean every corner of your home without a cord.",
    "Breathe cleaner air while you sleep.",
    "Stay dry on muddy trails.",
    "Carry everything you need for a day out.",
    "Listen to music all day on one charge.",
    "Track your workouts, steps and sleep.",
    "Light up your desk without glare.",
    "Sit comfortably through long working days.",
    "Give your pet a warm place to rest.",
    "Relax with a puzzle on a rainy afternoon.",
    "Type faster with a satisfying click.",
    "Capture sharp photos in low light.",
    "Ride safely after dark.",
    "Protect your eyes from the summer sun.",
    "Run further in comfort.",
    "Take the party outdoors.",
    "Water the whole garden with ease.",
    "Save energy while you are away.",
    "Charge your phone twice on the go.",
    "Brush for the recommended two minutes every time.",
    "Relax in the shade on hot days.",
    "Travel light with wheels that turn in every direction.",
    "Stay warm on chilly mornings.",
    "Fry crispy chips with little or no oil.",
    "Chop vegetables in seconds.",
    "Heat leftovers evenly.",
    "Squeeze fresh juice for breakfast.",
    "Make golden waffles for brunch.",
    "Sear a steak on a pan that heats evenly.",
    "Camp in comfort whatever the weather.",
]
_COPY_TEMPLATES = [
    "The {name} has {feature}.",
    "It has {feature}.",
    "It comes with {feature}.",
    "Every {name} includes {feature}.",
    "The {name} features {feature} and {feature2}.",
    "With {feature}, the {name} is easy to use every day.",
    "This {lname} is made of {value}.",
    "The {name} comes in {values}.",
    "Choose {values}.",
    "Available in {values}.",
    "Our {lname} is a customer favourite.",
    "The {name} is covered by a two-year warranty.",
    "The {lname} is easy to clean and store.",
    "It is lightweight, sturdy and built to last.",
    "Q: Does the {lname} come with {feature}? A: Yes, every model has {feature}.",
]


def product_copy(n: int = 1500) -> list[str]:
    """Sentences of product descriptions and product FAQs (negatives for the `injection` head)."""
    shop = demo_shop()
    rng = random.Random(SEED + 2)
    catalogue: dict[str, tuple[list[str], list[list[str]]]] = {}
    for product in shop["products"].values():
        options: dict[str, set[str]] = {}
        for variant in product["variants"].values():
            for key, value in variant["options"].items():
                options.setdefault(key, set()).add(str(value))
        features = _FEATURES.get(product["name"], []) + [
            f"a choice of {k}" for k in options if k != "features"
        ]
        catalogue[product["name"]] = (features, [sorted(v) for v in options.values()])
    for name, features in _OTHER_PRODUCTS.items():
        catalogue[name] = (features, [])
    lines: list[str] = list(_BENEFITS)
    names = sorted(catalogue)
    for _ in range(n * 3):
        name = rng.choice(names)
        features, value_sets = catalogue[name]
        values = rng.choice(value_sets) if value_sets else ["black", "white", "grey"]
        shown = rng.sample(values, min(len(values), rng.randint(2, 3)))
        feature, feature2 = (rng.sample(features, 2) + ["a gift box"])[:2] if features else ("", "")
        template = rng.choice(_COPY_TEMPLATES)
        if "{feature" in template and not feature:
            continue
        lines.append(
            template.format(
                name=name,
                lname=name.lower(),
                feature=feature,
                feature2=feature2,
                value=rng.choice(values),
                values=", ".join(shown[:-1]) + " or " + shown[-1],
            )
        )
    lines = list(dict.fromkeys(lines))
    return rng.sample(lines, min(n, len(lines)))
