"""Understanding: intents, entities and the explicit-yes rule."""

from __future__ import annotations

import pytest

from kefu.agents import is_explicit_yes
from kefu.agents.nlu import catalog_match as cm
from kefu.agents.nlu import entities as ent
from kefu.agents.nlu.intents import IntentClassifier, load_examples


def test_intent_accuracy_on_the_held_out_split():
    """The held-out file was written separately from the training one; it is never trained on."""
    model = IntentClassifier().fit(load_examples())
    accuracy = model.accuracy(load_examples("shop_intents_heldout.yaml"))
    assert accuracy >= 0.90, accuracy


def test_every_intent_has_at_least_30_training_utterances():
    assert min(len(v) for v in load_examples().values()) >= 30


@pytest.mark.parametrize(
    "text, ids",
    [
        ("cancel #W2378156 pls", ["#W2378156"]),
        ("order number 2378156", ["#W2378156"]),
        ("w 2378156 and #W1234567", ["#W2378156", "#W1234567"]),
        ("my zip is 12345", []),
    ],
)
def test_order_ids(text: str, ids: list[str]):
    assert ent.order_ids(text) == ids


def test_names_zip_and_email():
    assert ent.person_name("hi, my name is yusuf rossi") == ("Yusuf", "Rossi")
    assert ent.person_name("Yusuf Rossi 19122", expecting=True) == ("Yusuf", "Rossi")
    assert ent.person_name("I'd rather not give my email. Mia Jackson.", expecting=True) == ("Mia", "Jackson")
    assert ent.person_name("to my paypal", expecting=True) is None
    assert ent.zip_codes("Yusuf Rossi, 19122") == ["19122"]
    assert ent.emails("it's Noah.Brown7922@example.com.") == ["noah.brown7922@example.com"]


@pytest.mark.parametrize(
    "text, reason",
    [
        ("dont need it anymore", "no longer needed"),
        ("I bought it by accident", "ordered by mistake"),
        ("found it cheaper elsewhere", "no longer needed"),
        ("i found a better price elsewhere", "no longer needed"),
        ("it's too expensive", "no longer needed"),
        ("just because", None),
    ],
)
def test_cancel_reasons(text: str, reason: str | None):
    assert ent.cancel_reason(text) == reason


@pytest.mark.parametrize(
    "text, cap",
    [
        ("something under $100?", 100.0),
        ("I'm looking for a gift under 200 dollars", 200.0),
        ("anything cheaper, less than $1,150.50?", 1150.5),
        ("$80 or less please", 80.0),
        ("max 300", 300.0),
        ("I paid $100 for it", None),  # an amount, not a budget
        ("a kettle under 10 cups", None),  # a unit, not a price
        ("a tent for up to 4 people", None),
        ("the boots in size under 10", None),
    ],
)
def test_price_caps(text: str, cap: float | None):
    assert ent.price_cap(text) == cap


def test_payment_hints_take_what_the_customer_wants_not_what_they_reject():
    assert ent.payment_hint("pay with paypal instead of the gift card").source == "paypal"
    assert ent.payment_hint("my PayPal got flagged, move it to my mastercard").source == "credit_card"
    hint = ent.payment_hint("the visa ending in 2043")
    assert (hint.brand, hint.last_four) == ("visa", "2043")
    assert ent.payment_hint("same card I paid with").original


def test_addresses():
    assert ent.address("new address: 123 Main St, Apt 4B, Austin, TX 78701. thanks!") == {
        "address1": "123 Main St",
        "address2": "Apt 4B",
        "city": "Austin",
        "state": "TX",
        "country": "USA",
        "zip": "78701",
    }
    assert ent.address("55 West Street, New York, New York 10001")["state"] == "NY"
    assert ent.address("I live near the park") is None


@pytest.mark.parametrize(
    "text, yes",
    [
        ("yes", True),
        ("Yes please, go ahead and cancel it.", True),
        ("yep that's correct", True),
        ("yse", True),
        ("yes but use paypal", False),
        ("no", False),
        ("wait", False),
        ("hmm not sure", False),
        ("yes i want size 10", False),
        ("ok", True),
        ("actually no", False),
        ("ok thanks, I'll think about it", False),
        ("sure, let me check with my wife first", False),
        ("ok maybe later", False),
        ("great, thanks a lot, please go ahead", True),
    ],
)
def test_explicit_yes(text: str, yes: bool):
    assert is_explicit_yes(text) is yes


def test_options_and_variants():
    variants = {
        "1": {
            "item_id": "1",
            "options": {"size": "9", "material": "leather"},
            "available": True,
            "price": 1.0,
        },
        "2": {
            "item_id": "2",
            "options": {"size": "10", "material": "leather"},
            "available": True,
            "price": 2.0,
        },
        "3": {
            "item_id": "3",
            "options": {"size": "10", "material": "synthetic"},
            "available": True,
            "price": 3.0,
        },
        "4": {
            "item_id": "4",
            "options": {"size": "11", "material": "leather"},
            "available": False,
            "price": 4.0,
        },
    }
    mentions = cm.option_mentions("a size 10 please", variants.values())
    assert cm.choose_variant({"size": "9", "material": "leather"}, "1", variants, mentions).item_id == "2"
    out = cm.choose_variant(
        {"size": "9", "material": "leather"}, "1", variants, cm.option_mentions("size 11", variants.values())
    )
    assert out.item_id is None and out.unavailable
    assert [m.value for m in cm.option_mentions("in leather instead of synthetic", variants.values())] == [
        "leather"
    ]


def test_one_word_of_a_multi_word_value_names_it_when_no_other_value_has_that_word():
    variants = [
        {"options": {"connectivity": c, "features": f}}
        for c in ("Wi-Fi", "Wi-Fi + Cellular")
        for f in ("built-in grinder", "auto shutoff", "full size")
    ]
    named = lambda text: sorted(m.value for m in cm.option_mentions(text, variants))  # noqa: E731
    assert named("an e-reader with cellular") == ["Wi-Fi + Cellular"]
    assert named("one with a grinder") == ["built-in grinder"]
    assert named("with wi-fi") == ["Wi-Fi"]  # said in full: the whole value, not the longer one
    assert named("I want a full refund") == []  # a plain word of a value names nothing


def test_letter_sizes_are_named_only_as_sizes():
    variants = [{"options": {"size": size, "color": "black"}} for size in ("S", "M", "L")]
    named = lambda text: [m.value for m in cm.option_mentions(text, variants)]  # noqa: E731
    assert named("what sizes does the t-shirt come in?") == []  # 'sizes' is not 'size s'
    assert named("size s please") == ["S"]
    assert named("sz: m") == ["M"]
    assert named("in L") == ["L"]


def test_items_in_an_order():
    items = [
        {"name": "Wireless Earbuds", "options": {}},
        {"name": "Tablet", "options": {}},
        {"name": "Mechanical Keyboard", "options": {}},
    ]
    assert cm.match_items("return the earbuds and the keybaord", items) == [0, 2]


@pytest.mark.parametrize(
    ("text", "everything"),
    [
        ("exchange both", True),
        ("return them all", True),
        ("I want to return both, please", True),
        ("swap both for the black ones", True),
        ("return all the items", True),
        ("send back everything in the order", True),
        # "both" goes with the items it names, not the whole order
        ("exchange both wireless earbuds for the 8 hours ones", False),
        ("return everything else", False),
    ],
)
def test_a_whole_order_is_meant_only_when_nothing_narrows_it(text: str, everything: bool):
    assert ent.mentions_all(text) is everything
