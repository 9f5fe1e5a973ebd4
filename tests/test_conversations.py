"""Whole conversations through `Assistant.respond` on a fresh demo shop, one per flow and refusal.

Each test reads like the conversation it checks: what the customer says, what must happen in the
database, and what must not.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import create_engine

from kefu import Assistant
from kefu.tools.orders import OrderStore


def talk(bot: Assistant, *turns: str, session: str = "s1") -> list:
    return [bot.respond(t, session_id=session) for t in turns]


@pytest.fixture
def store(shop_url: str) -> OrderStore:
    return OrderStore(create_engine(shop_url))


def test_order_status_and_tracking(bot: Assistant):
    *_, last = talk(bot, "hey where's my order #W2611340", "james.li4495@example.com")
    assert "processed" in last.text and "357962501027" in last.text
    assert last.customer_id == "james_li_5688"


def test_a_question_about_one_detail_of_the_order_gets_that_detail(bot: Assistant):
    """After the order is shown, 'what card did I pay with?' or 'when will it arrive?' is answered alone
    (was: the whole order again, which does not even name the payment method)."""
    talk(bot, "hi where's my order #W7678072", "noah.brown7922@example.com")
    paid, arrival, address = talk(
        bot, "what card did I pay with?", "when will it arrive?", "where was it shipped to?"
    )
    assert paid.text == "Order #W7678072 was paid with your PayPal account ($514.48)."
    assert "already been delivered" in arrival.text and "Items:" not in arrival.text
    assert address.text.startswith("Order #W7678072 was shipped to 986 Sunset Drive")
    first = talk(bot, "what's the tracking number of #W2611340?", "james.li4495@example.com", session="s2")
    assert first[-1].text == "Order #W2611340 (processed) has tracking number 357962501027."
    [placed] = talk(bot, "when did I place that order?", session="s2")  # (no dates are on record)
    assert "don't keep the date an order was placed" in placed.text and "Items:" not in placed.text


def test_two_details_asked_with_the_order_id_and_the_email_in_one_message(bot: Assistant):
    """'#W1, address and tracking?' gets those two lines; said with the email in the first message, the
    question was dropped and the whole order shown (an order id with no request read as 'show it')."""
    [reply] = talk(
        bot,
        "hi, noah.brown7922@example.com here. for #W7678072, what was the total and which card did I use?",
    )
    assert reply.text == "Order #W7678072 was paid with your PayPal account ($514.48)."
    [both] = talk(bot, "what's the shipping address and tracking number for #W7678072?")
    assert both.text.splitlines() == [
        "Order #W7678072 was shipped to 986 Sunset Drive, Suite 259, Denver, CO 80279, USA.",
        "Order #W7678072 (delivered) has tracking number 517177699738.",
    ]


def test_the_status_asked_with_another_detail_is_answered_too(bot: Assistant):
    """'What's the status of #W1 and where is it being shipped?' said only where; 'where is my order?'
    alone still shows the whole order."""
    [both] = talk(
        bot, "what's the status of #W2611340 and where is it being shipped? james.li4495@example.com"
    )
    assert both.text.splitlines() == [
        "Order #W2611340 is processed.",
        "Order #W2611340 ships to 215 River Road, Suite 991, New York, NY 10083, USA.",
    ]
    [whole] = talk(bot, "where is my order #W2611340?")
    assert whole.text.startswith("Order #W2611340 is processed.") and "Items:" in whole.text


def test_the_order_shows_every_option_of_its_items(bot: Assistant):
    """The safety check on tool output cut "built-in grinder" out of this order (read as an injected task)."""
    *_, last = talk(bot, "where is my order #W7821216", "aarav.garcia8277@example.com")
    assert "features built-in grinder" in last.text and "removed" not in last.text


def test_a_request_no_order_qualifies_for_says_so(bot: Assistant):
    """Two delivered orders and a cancellation: the rule and the orders, not "which order?" (either answer
    would only be refused)."""
    *_, last = talk(bot, "I want to cancel my order", "aarav.garcia8277@example.com")
    assert last.text.startswith("I can only cancel orders that are still pending")
    assert "#W3038897 (delivered)" in last.text and "return or exchange" in last.text
    assert not last.writes


def test_an_order_is_picked_from_the_list_by_position_or_status(bot: Assistant, store: OrderStore):
    """'The second one' after 'which order?' and 'the delivered one' after the overview: both were answered
    with the same list again, and the cancellation never got past it."""
    replies = talk(bot, "I'd like to cancel an order", "aarav.brown3708@example.com", "the second one")
    assert "#W5065081 (pending)" in replies[1].text and "reason" in replies[-1].text
    confirm = bot.respond("I ordered by mistake", session_id="s1")
    assert "Cancel order #W6584521" in confirm.text and "sorry" not in confirm.text.lower()
    assert store.order_details("#W6584521", customer_id=None)["status"] == "pending"  # not before the yes
    *_, last = talk(
        bot,
        "what's the status of my orders?",
        "aarav.davis1165@example.com",
        "and the delivered one?",
        session="s2",
    )
    assert last.text.startswith("Order #W3223435 is delivered.")


def test_a_bare_yes_to_which_payment_method_is_asked_to_name_one(bot: Assistant):
    replies = talk(
        bot,
        "I want to exchange my backpack for a different color",
        "noah.brown7922@example.com",
        "navy",
        "yes",  # to the nearest navy one, which changes another option too
        "yes",
    )
    assert replies[-1].text.startswith('Please tell me which one, for example "PayPal".')
    assert not replies[-1].writes and "Here is what I'll do" in bot.respond("paypal", session_id="s1").text


def test_cancel_with_reason_and_confirmation(bot: Assistant, store: OrderStore):
    replies = talk(
        bot, "i need to cancle an order", "ava.kovacs4827@example.com", "#W4184032", "dont need it anymore"
    )
    assert "Shall I go ahead" in replies[-1].text and "no longer needed" in replies[-1].text
    assert store.order_details("#W4184032", customer_id=None)["status"] == "pending"  # not yet
    assert not [v for v in replies[-1].safety if v["tripped"]]  # the dry run names its tool: data
    done = bot.respond("yes", session_id="s1")
    assert [w.name for w in done.writes] == ["cancel_pending_order"]
    assert not [v for v in done.safety if v["tripped"]]  # the echoed reason is the shop's own words
    assert [c.name for c in done.tool_calls] == ["cancel_pending_order"]  # no failed call first
    order = store.order_details("#W4184032", customer_id=None)
    assert order["status"] == "cancelled" and order["cancel_reason"] == "no longer needed"


def test_return_to_the_original_payment_method(bot: Assistant, store: OrderStore):
    talk(
        bot,
        "I want to return the gaming mouse from #W7678072, money back the way I paid",
        "noah.brown7922@example.com",
    )
    bot.respond("yes please", session_id="s1")
    order = store.order_details("#W7678072", customer_id=None)
    assert order["status"] == "return requested"
    assert order["return_items"] == [i["item_id"] for i in order["items"] if i["name"] == "Gaming Mouse"]


def test_exchange_to_another_option_of_the_same_product(bot: Assistant, store: OrderStore):
    replies = talk(
        bot,
        "Hi, I need to exchange my hiking boots for a size 11, same otherwise. Only the boots.",
        "daiki.kim7376@example.com",
        "#W4824466",
        "use my gift card",
    )
    assert "size 11" in replies[-1].text
    bot.respond("yes", session_id="s1")
    order = store.order_details("#W4824466", customer_id=None)
    assert order["status"] == "exchange requested"
    assert order["exchange_new_items"] == ["6159919747"]


def test_no_second_exchange_on_the_same_order(bot: Assistant, store: OrderStore):
    talk(
        bot,
        "Hi, I need to exchange my hiking boots for a size 11, same otherwise. Only the boots.",
        "daiki.kim7376@example.com",
        "#W4824466",
        "use my gift card",
        "yes",
    )
    again = talk(
        bot, "actually I want to exchange the boots again, for size 12", "#W4824466", "gift card", "yes"
    )
    assert not any(r.writes for r in again)
    assert store.order_details("#W4824466", customer_id=None)["exchange_new_items"] == ["6159919747"]


def test_modify_pending_order_address(bot: Assistant, store: OrderStore):
    talk(
        bot,
        "can you change where my order #W1242543 is being shipped?",
        "ava.nguyen2868@example.com",
        "77 Harbor View Road, Portland, OR 97201",
        "yes",
    )
    assert store.order_details("#W1242543", customer_id=None)["address"] == {
        "address1": "77 Harbor View Road",
        "address2": "",
        "city": "Portland",
        "state": "OR",
        "country": "USA",
        "zip": "97201",
    }


def test_modify_pending_order_payment(bot: Assistant, store: OrderStore):
    talk(
        bot,
        "for #W5782623 i want to pay with paypal instead of the gift card",
        "ivan.khan6479@example.com",
        "yes",
    )
    history = store.order_details("#W5782623", customer_id=None)["payment_history"]
    assert (
        history[-2]["payment_method_id"] == "paypal_7729105" and history[-1]["transaction_type"] == "refund"
    )


def test_user_address_change(bot: Assistant, store: OrderStore):
    talk(
        bot,
        "please change the address on my account",
        "lucas.moore2343@example.com",
        "1700 Main Street, Apt 7, Houston, TX 77002",
        "yes",
    )
    assert store.customer_details("lucas_moore_6941")["address"]["address2"] == "Apt 7"


def test_a_refused_request_does_not_drop_the_other_one_in_the_message(bot: Assistant, store: OrderStore):
    """Noah's only order is delivered, so the cancellation is refused; the address change he asked for in
    the same breath goes on in the same reply (was: dropped without a word)."""
    *_, asked = talk(
        bot,
        "noah.brown7922@example.com",
        "cancel my pending order and also change my address to 12 Oak St, Austin TX 78701",
    )
    assert asked.text.startswith("Order #W7678072 has already been delivered, so it can't be cancelled")
    assert "Change your default address to 12 Oak St, Austin, TX 78701" in asked.text
    bot.respond("yes", session_id="s1")
    assert store.customer_details("noah_brown_6181")["address"]["city"] == "Austin"


def test_an_address_change_and_where_is_my_order_in_one_message(bot: Assistant, store: OrderStore):
    """'Change my address … and tell me where my order is': the account's address (not the delivered
    order's, which was refused), then the order, after the yes."""
    *_, asked, done = talk(
        bot,
        "noah.brown7922@example.com",
        "change my address to 12 Oak St, Austin TX 78701 and tell me where my order is",
        "yes",
    )
    assert "Change your default address" in asked.text
    assert [w.name for w in done.writes] == ["modify_user_address"]
    assert done.text.startswith("Done: your default address is now 12 Oak St")
    assert "Order #W7678072 is delivered" in done.text and "anything else" not in done.text
    assert store.customer_details("noah_brown_6181")["address"]["city"] == "Austin"


def test_returning_something_the_order_does_not_have_says_so(bot: Assistant):
    """Noah's order has a kettle, a mouse and a backpack; 'my headphones' is not among them (was: the item
    question alone, as if he had not named anything)."""
    *_, asked = talk(bot, "noah.brown7922@example.com", "I'd like to return my headphones")
    assert asked.text.startswith("I don't see Headphones in order #W7678072.")
    assert "Which items from order #W7678072 would you like to return?" in asked.text
    assert not asked.writes


def test_an_order_of_one_item_is_not_taken_for_another_product(bot: Assistant):
    """Liam's only delivered order holds a smart watch; 'exchange the kettle' went on to 'What would you
    like instead of your Smart Watch?', as if an order of one item meant that item whatever was named."""
    *_, asked = talk(bot, "liam.li8523@example.com", "I want to exchange the kettle in my order")
    assert asked.text.startswith("I don't see Electric Kettle or Tea Kettle in order #W8838515.")
    assert "instead of your Smart Watch" not in asked.text
    *_, watch = talk(bot, "liam.li8523@example.com", "I want to exchange an item", session="s2")
    assert "instead of your Smart Watch" in watch.text  # naming nothing still means the one item


def test_a_bigger_one_is_the_next_size_up(bot: Assistant):
    """'Exchange the backpack for a bigger one': size small → medium (was: the list of every option)."""
    *_, confirm = talk(
        bot, "noah.brown7922@example.com", "i want to exchange the backpack for a bigger one", "yes", "paypal"
    )
    assert "Here is what I'll do" in confirm.text
    assert "size small) – $205.35 → " in confirm.text and "size medium" in confirm.text.split("→")[1]


def test_a_broken_item_gets_the_remedies_and_the_next_message_picks_one(bot: Assistant, store: OrderStore):
    """'My kettle broke … nobody helps me' showed the whole order; now the return or exchange on offer, and
    'just give me a refund' returns the kettle without asking which item."""
    *_, offered, asked = talk(
        bot,
        "noah.brown7922@example.com",
        "this is ridiculous, my kettle broke after two days and nobody helps me",
        "just give me a refund",
    )
    assert "I can return the Electric Kettle for a refund or exchange it for a new one" in offered.text
    assert "Items:" not in offered.text
    assert "Return Electric Kettle" in asked.text and "Gaming Mouse" not in asked.text
    done = bot.respond("yes", session_id="s1")
    assert store.order_details("#W7678072", customer_id=None)["status"] == "return requested"
    assert "person" not in done.text  # resolved: no "I'm sorry this has been frustrating" offer after it


def test_i_bought_it_but_it_is_too_small_is_an_exchange(bot: Assistant):
    """Was answered as a product question ("Yes, the Backpack with size medium is available"). Green is not
    sold in medium: the nearest one is offered first, and the variant it becomes is said again before the
    price difference is asked about."""
    [nearest] = talk(
        bot,
        "Hi! I'm Noah Brown, zip 80279. I bought a backpack but it's too small, can I get a medium instead?",
    )
    assert (
        "The closest in stock is color grey, compartment laptop, material polyester, size medium"
        in nearest.text
    )
    assert "color green → grey" in nearest.text
    [asked] = talk(bot, "yes, grey is fine")
    first, *rest = asked.text.splitlines()
    assert first == (
        "Your Backpack (color green, compartment laptop, material polyester, size small) would become: "
        "color grey, compartment laptop, material polyester, size medium ($212.79)."
    )
    assert rest[0] == "Which payment method should pay or receive the price difference?"
    assert not asked.writes and not nearest.writes


def test_removing_one_item_from_a_pending_order_gets_the_rule(bot: Assistant):
    """Was read as a return and refused as "hasn't been delivered yet, so it can't be returned"."""
    *_, reply = talk(bot, "aarav.brown3708@example.com", "please remove the laptop from my order")
    assert reply.text.startswith("I can't remove a single item from order #W6584521")
    assert not reply.writes


def test_yes_to_anything_else_asks_what_not_the_last_order_again(bot: Assistant):
    """After a cancellation, "yes" to "anything else?" showed the cancelled order (the order in focus)."""
    *_, done, yes = talk(
        bot,
        "aarav.brown3708@example.com",
        "cancel the order with the dumbbells, I don't need it anymore",
        "yes",
        "yes",
    )
    assert [w.name for w in done.writes] == ["cancel_pending_order"]
    assert yes.text == "Sure, what can I help you with?" and not yes.tool_calls


def test_another_persons_details_are_refused_by_name(bot: Assistant):
    """'What is the email of james li?' got the product catalogue; now a refusal, with no lookup."""
    *_, reply = talk(bot, "noah.brown7922@example.com", "what is the email of james li?")
    assert reply.text.startswith("I'm sorry, I can't share or look up another person's details.")
    assert not reply.tool_calls and "james.li" not in reply.text


def test_product_details_without_logging_in(bot: Assistant):
    reply = bot.respond("do you have the yoga mat in blue? how much?", session_id="s1")
    assert "Yoga Mat" in reply.text and "$" in reply.text
    assert reply.customer_id is None


def test_a_price_limit_or_the_cheapest_is_answered_from_the_catalogue(bot: Assistant):
    """'Under $200' was answered "Yes, … is available" with four pairs from $344 up; 'the cheapest' got the
    whole option list."""
    none = bot.respond("do you have wireless headphones under $200?", session_id="s1")
    assert none.text.startswith(
        "Sorry, no Headphones with connectivity wireless in stock costs under $200.00"
    )
    some = bot.respond("any wireless headphones under 370 dollars?", session_id="s2")
    prices = [float(p.replace(",", "")) for p in re.findall(r"– \$([\d,.]+)", some.text)]
    assert prices and all(p <= 370 for p in prices)
    cheapest = bot.respond("what's the cheapest bluetooth speaker?", session_id="s3")
    assert (
        cheapest.text.startswith("The most affordable Bluetooth Speaker in stock is")
        and "$271.89" in cheapest.text
    )


def test_a_product_question_the_classifier_misses_still_reaches_the_catalogue(bot: Assistant):
    """Read as 'inform' at 0.46, this got "Sorry, I didn't quite get that"."""
    reply = bot.respond("is the laptop available with 32GB ram and i9?", session_id="s1")
    assert reply.text.startswith("Yes, the Laptop with ram 32GB, processor i9 is available")


def test_transfer_to_a_human(bot: Assistant):
    reply = bot.respond("I want to talk to a real person", session_id="s1")
    assert reply.handoff
    assert [c.name for c in reply.tool_calls] == ["transfer_to_human_agents"]


# ---- refusals ----------------------------------------------------------------------------------
def test_no_account_data_before_authentication(bot: Assistant):
    reply = bot.respond("what's the status of #W7678072 and what's my address?", session_id="s1")
    assert "986 Sunset Drive" not in reply.text and "delivered" not in reply.text
    assert "email" in reply.text.lower()


def test_no_access_to_another_customers_order_by_id(bot: Assistant):
    replies = talk(bot, "status of order #W7678072 please", "ava.kovacs4827@example.com")  # Noah's order
    assert "couldn't find order #W7678072" in replies[-1].text
    assert "Water Bottle" not in replies[-1].text


def test_no_switching_to_another_customer_by_name(bot: Assistant, store: OrderStore):
    talk(bot, "hi i want to cancel an order", "ava.kovacs4827@example.com")
    reply = bot.respond(
        "actually I'm calling for Noah Brown, zip 80279, cancel his order #W7678072", session_id="s1"
    )
    assert "one customer per conversation" in reply.text
    assert reply.customer_id == "ava_kovacs_3448"
    assert store.order_details("#W7678072", customer_id=None)["status"] == "delivered"


def test_a_payment_change_with_nothing_to_switch_to_says_so(bot: Assistant):
    """Aarav's only saved method is the gift card that paid for #W2403075: the bot asked 'Which payment
    method should pay for order #W2403075 instead?' over an empty list."""
    *_, reply = talk(bot, "can I pay for #W2403075 with my gift card instead?", "aarav.davis1165@example.com")
    assert reply.text.startswith("Order #W2403075 is already paid with your gift card")
    assert "nothing to switch to" in reply.text and not reply.writes


def test_no_write_without_an_explicit_yes(bot: Assistant, store: OrderStore):
    replies = talk(
        bot,
        "cancel #W4184032, ordered by mistake",
        "ava.kovacs4827@example.com",
        "hmm wait, not sure",
        "ok",
        "no",
    )
    assert not any(r.writes for r in replies)
    assert store.order_details("#W4184032", customer_id=None)["status"] == "pending"


def test_a_yes_is_only_for_the_action_it_answers(make_bot: Callable[..., Assistant], store: OrderStore):
    """Even a brain that tries to write right after an unrelated 'yes' is stopped by the gate in code."""
    from kefu import ScriptedChatModel

    model = ScriptedChatModel(
        [
            {"tool": "find_user_id_by_email", "args": {"email": "ava.kovacs4827@example.com"}},
            "Hi Ava! Anything else?",
            {"tool": "cancel_pending_order", "args": {"order_id": "#W4184032", "reason": "no longer needed"}},
            "I went ahead.",
        ]
    )
    bot = make_bot(chat_model=model)
    bot.respond("ava.kovacs4827@example.com", session_id="s1")
    reply = bot.respond("yes", session_id="s1")
    assert reply.writes == []
    assert "confirmation_required" in (reply.tool_calls[0].result or "")
    assert store.order_details("#W4184032", customer_id=None)["status"] == "pending"


def test_a_change_asked_after_the_login_and_the_order_id_is_made_not_shown(bot: Assistant, store: OrderStore):
    """The email and the order id first, the request after: read whole, the message is all details (the
    classifier says "inform"), and the bot used to show the order. Naming an item of it with a change
    verb asks to change it; the payment in the same message is taken too."""
    first, _ = talk(
        bot,
        "hey, aarav.davis1165@example.com here. For order #W7430166 swap the gaming mouse to wireless, "
        "pay with gift card",
        "yes",
    )
    assert "connectivity wireless" in first.text and "gift card" in first.text
    order = store.order_details("#W7430166", customer_id=None)
    mouse = next(i for i in order["items"] if i["name"] == "Gaming Mouse")
    assert mouse["item_id"] == "8896479688" and mouse["options"]["connectivity"] == "wireless"


def test_one_of_two_identical_items_goes_back_from_a_chatty_message(bot: Assistant, store: OrderStore):
    """A story, then 'Can I send one of them back?' and the login in one message: the question used to
    share a clause with the email (so the return went unheard), and both kettles were returned."""
    first, _ = talk(
        bot,
        "Hi!! So my brother gave me advice on tea kettles and I ended up buying two identical ones, silly "
        "me, I've been meaning to sort this out for weeks. Can I send one of them back? my email is "
        "aarav.anderson9752@example.com and it's order #W4316152",
        "yes",
    )
    assert "Return Tea Kettle" in first.text and "$94.80 goes to" in first.text
    order = store.order_details("#W4316152", customer_id=None)
    assert order["status"] == "return requested"
    assert order["return_items"] == ["7292993796"]  # one kettle, not both


def test_a_stock_question_is_answered_yes_first_and_a_price_follow_up_about_it_gets_the_price(bot: Assistant):
    """'Is the yoga mat in stock?' then 'how much does it cost?': the answer says yes first, and the
    follow-up is about the mat (it used to go to the FAQ and quote the price-difference rule)."""
    stock, price = talk(bot, "is the yoga mat in stock?", "how much does it cost?")
    assert stock.text.startswith("Yes, it's in stock.") and "Yoga Mat" in stock.text
    assert price.text.startswith("The Yoga Mat costs from $") and "depending on the options" in price.text
    assert not price.sources  # the catalogue answered, not the documents


def test_the_nearest_variant_is_asked_about_first_when_it_changes_more_than_was_asked(
    bot: Assistant, store: OrderStore
):
    """There is no white battery desk lamp with low brightness; the nearest in stock is silver. It used to
    go straight into the confirmation (which said the colour changes, easy to miss on a change that can be
    made only once); the bot now asks first, and the confirmation still says what changes."""
    ask, confirm, _ = talk(
        bot,
        "hey, aarav.davis1165@example.com here. For order #W7430166 swap the desk lamp to low brightness, "
        "pay with gift card",
        "yes, silver is fine",
        "yes",
    )
    assert "The closest in stock is" in ask.text and "color white → silver" in ask.text
    assert "Shall I go ahead?" not in ask.text
    assert "brightness low, color silver" in confirm.text
    assert "brightness and color change" in confirm.text
    lamp = next(
        i for i in store.order_details("#W7430166", customer_id=None)["items"] if i["name"] == "Desk Lamp"
    )
    assert lamp["options"]["brightness"] == "low" and lamp["options"]["color"] == "silver"


def test_something_broken_is_found_asked_about_and_replaced_with_the_same_one(
    bot: Assistant, store: OrderStore
):
    """'Hi there! … one thing is broken' got the greeting; after the login the order was shown with no
    question, 'the backpack' was not understood, and 'exchange please, same one' asked which options."""
    zipper = talk(bot, "noah.brown7922@example.com", "the backpack, the zipper fell off", session="s0")[-1]
    assert "return the Backpack for a refund or exchange it" in zipper.text
    hello, which, remedies, confirm, done = talk(
        bot,
        "hi there! i ordered some stuff last month and one thing is broken",
        "noah.brown7922@example.com",
        "the backpack",
        "exchange please, same one",
        "yes",
    )
    assert "verify your identity" in hello.text
    assert which.text.startswith("Which item from order #W7678072 is the problem?")
    assert "return the Backpack for a refund or exchange it" in remedies.text
    assert "Shall I go ahead?" in confirm.text
    [call] = [c for c in confirm.tool_calls if c.name == "exchange_delivered_order_items"]
    assert call.args["item_ids"] == call.args["new_item_ids"] == ["3557711149"]
    assert [w.name for w in done.writes] == ["exchange_delivered_order_items"]
    assert store.order_details("#W7678072", customer_id=None)["status"] == "exchange requested"


def test_an_order_named_by_its_status_is_that_order_or_the_list_of_those(bot: Assistant):
    """Fatima has one delivered order among six: 'the tracking number for my last delivered order' listed
    all six. 'Where is my pending order?' lists the four pending ones; 'has my processed order shipped
    yet?' is about the processed one ('shipped' is what is asked, not which order)."""
    *_, tracking = talk(
        bot, "fatima.muller6448@example.com", "what is the tracking number for my last delivered order?"
    )
    assert tracking.text == "Order #W2435638 (delivered) has tracking number 598923306122."
    *_, pending = talk(bot, "fatima.muller6448@example.com", "where is my pending order?", session="s2")
    assert pending.text.count("(pending)") == 4 and "(delivered)" not in pending.text
    *_, processed = talk(
        bot, "harper.ahmed7911@example.com", "has my processed order shipped yet?", session="s3"
    )
    assert processed.text.startswith("Order #W8750911 is processed.")


def test_the_most_recent_order_is_not_guessed_and_the_pending_one_is_picked_from_the_list(bot: Assistant):
    """Orders carry no dates: 'the most recent one' got the same list again (then a person was offered).
    'The pending one' at the list was taken for a request to change items (the intent model's guess)."""
    *_, listed, recent, pending = talk(
        bot,
        "Where's my stuff??? I've been waiting forever",
        "harper.ahmed7911@example.com",
        "the most recent one",
        "the pending one",
    )
    assert "Here are your orders:" in listed.text
    assert recent.text.startswith("I can't see when each order was placed")
    assert pending.text.startswith("Order #W7857572 is pending.")


def test_what_a_customer_spent_in_all_is_summed_over_their_orders(bot: Assistant):
    """'How much have I spent with you so far?' showed the perfume's prices ('spent' is close to 'scent'),
    and 'how much did I spend in total on all my orders?' the account."""
    *_, spent = talk(bot, "fatima.muller6448@example.com", "how much have I spent with you so far?")
    assert spent.text.startswith(
        "Across your 6 orders you paid $19,977.38; $900.96 was refunded, so $19,076.42 in all."
    )
    assert "- #W3899829 (cancelled): $900.96 paid, $900.96 refunded" in spent.text
    total = talk(
        bot,
        "Hi, I'm aarav.davis1165@example.com. How much did I spend in total on all my orders?",
        session="s2",
    )[-1]
    assert total.text.startswith("Across your 4 orders you paid $3,805.80.")


def test_a_variant_is_picked_from_the_list_by_position_and_a_yes_asks_which(
    bot: Assistant, store: OrderStore
):
    """Mason's helmet is red, M, low ventilation; in size L there is a black one with high ventilation and a
    white one with medium, equally near. 'Can I get the helmet in size L instead?' was read as a catalogue
    question, and at the list 'yes' and 'the first one' got the list again, then a person was offered."""
    *_, listed, yes, first, done = talk(
        bot,
        "mason.lopez8921@example.com",
        "can I get the helmet in size L instead",
        "yes",
        "the first one",
        "yes",
    )
    assert "Which one would you like?" in listed.text
    assert "get_order_details" in [c.name for c in listed.tool_calls]  # about his order, not the catalogue
    assert "the first (color black, size L, ventilation high) or the second" in yes.text
    assert "color black, size L, ventilation high" in first.text and "Shall I go ahead?" in first.text
    assert [w.name for w in done.writes] == ["modify_pending_order_items"]
    helmet = store.order_details("#W9892169", customer_id=None)["items"][0]
    assert helmet["options"] == {"color": "black", "size": "L", "ventilation": "high"}
    again = talk(bot, "mason.lopez8921@example.com", "I'd like to exchange the helmet", session="s2")[-1]
    assert "its items were already changed once" in again.text


def test_a_variant_named_by_an_option_of_the_list_needs_no_second_question(bot: Assistant):
    *_, white = talk(
        bot, "mason.lopez8921@example.com", "can I get the helmet in size L instead", "the white one please"
    )
    assert "color white, size L, ventilation medium" in white.text and "Shall I go ahead?" in white.text


def test_a_reason_corrected_at_the_confirmation_is_taken_without_an_apology_for_a_mood(
    bot: Assistant, store: OrderStore
):
    """'No wait, the reason is that I ordered it by mistake' corrects the reason; its negative words are
    not anger to acknowledge, so no 'I'm sorry about the trouble'."""
    *_, corrected, _ = talk(
        bot,
        "I need to cancel order #W2403075, I don't need it anymore",
        "aarav.davis1165@example.com",
        "no wait, the reason is that I ordered it by mistake",
        "yes",
    )
    assert "'ordered by mistake'" in corrected.text and "sorry" not in corrected.text.lower()
    order = store.order_details("#W2403075", customer_id=None)
    assert order["status"] == "cancelled" and order["cancel_reason"] == "ordered by mistake"


def test_a_question_about_one_thing_on_the_account_gets_that_thing(bot: Assistant):
    """'What's my gift card balance?' used to get the whole account (address, payment methods, every
    order) each time it was asked; 'show me my account' still does."""
    _, balance = talk(bot, "what's my gift card balance?", "aarav.davis1165@example.com")
    assert balance.text == "Your gift card balance is $90.00."
    (both,) = talk(bot, "what's my default address and which cards do I have saved?", session="s1")
    assert both.text.startswith("The default address on your account is 178 Lakeview Drive")
    assert "These are the payment methods on your account:\n- gift card (balance $90.00)" in both.text
    assert "#W7430166" not in both.text
    (everything,) = talk(bot, "show me my account please", session="s1")
    assert "Orders:" in everything.text and "#W7430166" in everything.text


def test_the_item_to_swap_is_the_one_with_the_problem_not_everything_in_the_story(bot: Assistant):
    """'I got my laptop and phone last week but the phone is the wrong colour, can I swap it?': the
    phone. Both were picked, and the bot asked about the laptop first."""
    _, options = talk(
        bot,
        "hey, i got my laptop and phone last week but the phone is the wrong colour, can i swap it?",
        "ethan.muller6617@example.com",
    )
    assert options.text.startswith("What would you like instead of your Smartphone")


def test_an_option_the_customer_keeps_is_kept_and_one_they_already_have_is_said(bot: Assistant):
    """'In black, same storage' for a rose-gold 64GB phone: the only black phones in stock have 128GB,
    so none fits (it used to pick one and change the storage). Answering the options question with what
    the item already has gets that said, not the same question again word for word."""
    *_, same_storage = talk(
        bot,
        "I'd like to exchange the smartphone from order #W3155037",
        "ethan.muller6617@example.com",
        "I want it in black instead, same storage",
    )
    assert "Shall I go ahead?" not in same_storage.text
    assert "out of stock" in same_storage.text
    first, already = talk(
        bot,
        "I'd like to exchange the laptop from order #W3155037, email ethan.muller6617@example.com",
        "black please",
        session="s2",
    )
    assert first.text.startswith("What would you like instead of your Laptop")
    assert already.text.startswith("Your Laptop already has color black, so that would not change it.")


def test_the_same_question_three_times_offers_a_person(bot: Assistant):
    """An answer the bot cannot use got the same question again, for ever; the third time a person is
    offered, as after two 'didn't get that' replies."""
    *_, second, third = talk(
        bot,
        "change the address of my pending order please",
        "fatima.muller6448@example.com",
        "whichever",
        "the one I told you",
    )
    assert "connect you with a person" not in second.text
    assert "connect you with a person" in third.text


def test_the_address_of_all_pending_orders_changes_one_order_at_a_time(bot: Assistant, store: OrderStore):
    """'All my pending orders': each is confirmed and changed in turn. The zip code given to log in
    ('fatima muller, 60644') also used to overwrite the new address's zip code."""
    replies = talk(
        bot,
        "can you change the shipping address on all my pending orders to 12 Elm Street, Springfield, "
        "IL 62704?",
        "fatima muller, 60644",
        "yes",
        "yes",
        "yes",
        "yes",
    )
    assert replies[1].text.startswith(
        "I'll do that for 4 orders (#W9962383, #W6851636, #W4160705, #W2040365)"
    )
    for oid in ("#W9962383", "#W6851636", "#W4160705", "#W2040365"):
        address = store.order_details(oid, customer_id=None)["address"]
        assert (address["address1"], address["zip"]) == ("12 Elm Street", "62704")
    assert replies[-1].text.startswith("Done: order #W2040365 will now ship to 12 Elm Street")


def test_cancelling_one_item_says_first_that_the_whole_order_is_cancelled(bot: Assistant, store: OrderStore):
    """The policy cancels whole orders. 'Cancel the vacuum cleaner' used to go straight to the reason
    and a confirmation listing everything, the espresso machine included, without a word about it."""
    _, reason, never_mind = talk(
        bot,
        "I'd like to cancel the vacuum cleaner from my pending order",
        "fatima.muller6448@example.com",
        "never mind",
    )
    assert reason.text.startswith("Please note: a single item can't be cancelled, only the whole order.")
    assert "all 3 items in it, not only the Vacuum Cleaner" in reason.text
    assert store.order_details("#W4160705", customer_id=None)["status"] == "pending"


def test_follow_up_product_questions_are_about_the_product_just_shown(bot: Assistant):
    """'Are the waterproof ones in stock in size 10?' after the hiking boots listed the whole catalogue;
    'what else would you recommend for hiking?' gave the shop's trending products, not ones bought with
    the boots."""
    _, stock, more = talk(
        bot,
        "Do you sell hiking boots? what sizes are there?",
        "are the waterproof ones in stock in size 10?",
        "cool, what else would you recommend for hiking?",
    )
    assert stock.text.startswith("Yes, the Hiking Boots with waterproof yes, size 10 is available")
    [call] = [c for c in more.tool_calls if c.name == "recommend_products"]
    assert call.args["kind"] == "similar" and call.args["product_id"] == "7363354090"
    assert "Hiking Boots" in more.text
    _, goes_with = talk(bot, "tell me about your laptops", "what would go well with it?", session="s2")
    [call] = [c for c in goes_with.tool_calls if c.name == "recommend_products"]
    assert call.args["kind"] == "similar" and call.args["product_id"] == "4760268021"


def test_a_price_follow_up_without_a_pronoun_is_about_the_product_just_shown(bot: Assistant):
    """'Which one is cheapest?' after the laptops listed the whole catalogue, and 'ok and the most
    expensive?' got 'Sure, what can I help you with?'."""
    _, cheapest, priciest = talk(
        bot,
        "what's the difference between the laptop models?",
        "which one is cheapest?",
        "ok and the most expensive?",
    )
    assert cheapest.text.startswith("The most affordable Laptop in stock is")
    assert priciest.text.startswith("The most expensive Laptop in stock is")


def test_options_asked_one_after_the_other_add_up(bot: Assistant):
    """'In stock in green?', then 'and in 6mm?' (was: "I didn't quite get that"), then 'how much is that
    one?' (was: the price range of every yoga mat)."""
    green, thick, price = talk(
        bot, "is the yoga mat in stock in green?", "and in 6mm?", "how much is that one"
    )
    assert green.text.startswith("Yes, the Yoga Mat with color green is available")
    assert thick.text.startswith("Yes, the Yoga Mat with color green, thickness 6mm is available")
    assert price.text == (
        "The Yoga Mat with color green, material PVC, thickness 6mm costs $105.68, and it's in stock."
    )


def test_a_shopping_wish_names_an_option_by_one_word_and_its_other_options_can_be_asked(bot: Assistant):
    """'A smart thermostat that works with alexa' was a yes ("Sure, what can I help you with?") and 'what
    colours?' asked for a login; 'an e-reader with cellular' listed every e-reader and 'how much' the whole
    catalogue."""
    wish, colours = talk(bot, "I want a smart thermostat that works with alexa", "what colours?")
    assert wish.text.startswith("Yes, the Smart Thermostat with compatibility Amazon Alexa is available")
    assert colours.text.startswith(
        "Options in stock for the Smart Thermostat with compatibility Amazon Alexa:\n- color: black, stainless steel"
    )
    cellular, price = talk(bot, "do you sell an e-reader with cellular?", "how much", session="s2")
    assert "connectivity Wi-Fi + Cellular" in cellular.text and "connectivity Wi-Fi," not in cellular.text
    assert price.text.startswith(
        "The E-Reader with connectivity Wi-Fi + Cellular costs from $244.95 to $267.58"
    )


def test_a_wish_to_buy_is_a_catalogue_question_and_a_broken_one_of_mine_is_not(bot: Assistant):
    """'I want to buy a laptop' asked for a login to return something; 'I need a new one, mine broke' to
    change the address; 'what colours?' of hiking boots was taken for a yes."""
    [laptop] = talk(bot, "I want to buy a laptop")
    assert laptop.text.startswith("The Laptop is available in")
    [mine] = talk(bot, "I need a new one, mine broke", session="s2")
    assert mine.text.startswith("I can help you exchange items.")
    _, colours = talk(bot, "what sizes do the hiking boots come in?", "and colours?", session="s3")
    assert colours.text.startswith(
        "The Hiking Boots don't come in different colours; their options are material, size and waterproof."
    )


def test_help_with_an_order_finds_it_and_its_address_can_go_back_to_the_default(bot: Assistant):
    """'I have a question about my order' was a greeting (the menu again); 'change its address to my
    default one' changed the account's address, and then offered to 'change' the order to the address it
    already has."""
    _, orders, shown, same = talk(
        bot,
        "i have a question about my order",
        "omar silva 92107",
        "the one with the t-shirt",
        "can I change its address to my default one?",
    )
    assert orders.text.startswith("Here are your orders:")
    assert shown.text.startswith("Order #W9673784 is pending.")
    assert same.text.startswith("Order #W9673784 already ships to 510 Hickory Lane")
    assert "Shall I go ahead?" not in same.text


def test_what_an_item_of_the_order_cost_is_answered_and_not_read_as_anger(bot: Assistant):
    """'What's in order #W1?' showed the whole account; 'and what did I pay for the kettle?' read as
    angry to the sentiment model and got 'that's not the experience we want you to have'."""
    _, shown, kettle, backpack = talk(
        bot,
        "Can you tell me what's in order #W7678072?",
        "noah.brown7922@example.com",
        "and what did I pay for the kettle?",
        "how about the backpack?",
    )
    assert shown.text.startswith("Order #W7678072 is delivered.") and "Payment methods" not in shown.text
    assert kettle.text == (
        "In order #W7678072 you paid $146.98 for the Electric Kettle (capacity 1L, color black, material glass)."
    )
    assert backpack.text.startswith("In order #W7678072 you paid $205.35 for the Backpack")


def test_a_hand_off_needs_a_clear_ask_and_tells_the_person_what_was_asked(bot: Assistant):
    """'Can I get a discount code?' was guessed as a hand-off (0.25) and transferred at once; it now gets
    what the documents have with a person offered, and the summary for that person holds the question
    (it held only the 'yes')."""
    first, handed = talk(bot, "can i get a discount code?", "yes")
    assert "transfer_to_human_agents" not in [c.name for c in first.tool_calls]
    assert "connect you with a person" in first.text
    [transfer] = [c for c in handed.tool_calls if c.name == "transfer_to_human_agents"]
    assert "can i get a discount code?" in transfer.args["summary"]
    [asked] = talk(bot, "I want to speak to a manager", session="s2")
    assert "transfer_to_human_agents" in [c.name for c in asked.tool_calls]


def test_a_message_in_another_script_is_told_which_language_is_read(bot: Assistant):
    """'你好，我的订单在哪里？' ("where is my order?") got the English menu as if it were off-topic."""
    chinese, russian = talk(bot, "你好，我的订单在哪里？", "Привет, где мой заказ?")
    for reply in (chinese, russian):
        assert reply.text.startswith("Sorry, I can only read and answer English for now.")
    [accented] = talk(bot, "café crème brûlée? where is my order", session="s2")
    assert "verify your identity" in accented.text


def test_naming_an_item_of_another_order_moves_to_that_order(bot: Assistant):
    """After the patio umbrella's processed order, 'what about the dumbbells, can I cancel those?' was
    answered about the umbrella's order again ('processed, so it can no longer be cancelled')."""
    *_, cannot, dumbbells = talk(
        bot,
        "when will my patio umbrella arrive?",
        "liam.li8523@example.com",
        "can I still cancel it?",
        "ok what about the dumbbells, can I cancel those?",
    )
    assert cannot.text.startswith("Order #W4931754 is processed, so it can no longer be cancelled")
    assert "#W4931754" not in dumbbells.text and "reason for the cancellation" in dumbbells.text
    confirm = bot.respond("no longer needed", session_id="s1")
    assert "Cancel order #W1130240 (Dumbbell Set" in confirm.text


def test_orders_asked_for_at_the_account_address_confirmation_follow_it(bot: Assistant, store: OrderStore):
    """'Also update my pending orders to it' at the account address's confirmation was ignored (the same
    confirmation again); now the pending order follows, with the same address, confirmed on its own."""
    *_, again, account_done, order_done = talk(
        bot,
        "I'd like to update my default address to 77 Pine Rd, Boston MA 02115",
        "harper.ahmed7911@example.com",
        "also update my pending orders to it",
        "yes",
        "yes",
    )
    assert again.text.startswith("Sure: once your account's address is changed")
    assert "Ship order #W7857572 to 77 Pine Rd, Boston, MA 02115" in account_done.text
    assert order_done.text.startswith("Done: order #W7857572 will now ship to 77 Pine Rd")
    assert store.order_details("#W7857572", customer_id=None)["address"]["zip"] == "02115"


def test_a_new_address_while_asked_which_card_is_a_second_request(bot: Assistant, store: OrderStore):
    """'Also ship it to …' while we ask which card pays: the address change is confirmed first, then the
    payment question comes back for the same order (was: the question again and again, the address unheard)."""
    talk(
        bot, "liam.thomas4271@example.com - I want to pay for #W1129578 with a credit card instead of paypal"
    )
    [address] = talk(bot, "also can you ship it to 12 Oak Street, Apt 4, Austin TX 78701 instead")
    assert "Ship order #W1129578 to 12 Oak Street, Apt 4, Austin, TX 78701" in address.text
    [moved] = talk(bot, "yes")
    assert [w.name for w in moved.writes] == ["modify_pending_order_address"]
    assert "Which payment method should pay for order #W1129578 instead?" in moved.text
    *_, paid = talk(bot, "the visa", "yes")
    assert [w.name for w in paid.writes] == ["modify_pending_order_payment"]
    order = store.order_details("#W1129578", customer_id=None)
    assert order["address"]["zip"] == "78701"
    assert order["payment_history"][-2]["payment_method_id"] == "credit_card_7287775"


def test_a_card_the_customer_does_not_have_is_said_to_be_missing(bot: Assistant):
    talk(
        bot, "liam.thomas4271@example.com - I want to pay for #W1129578 with a credit card instead of paypal"
    )
    [reply] = talk(bot, "the one ending in 5597")
    assert reply.text.startswith("None of the payment methods I can use here ends in 5597.")
    assert "Visa card ending in 6994" in reply.text and not reply.writes


def test_a_gift_card_too_small_for_the_price_difference_keeps_the_exchange_open(
    bot: Assistant, store: OrderStore
):
    """Sophia's only payment method is a $5 gift card: an exchange that costs more is explained, nothing is
    changed, and cheaper options can still be picked (was: "I couldn't do that: insufficient gift card
    balance", the options she chose dropped, and "ok then …" taken as a yes to a person)."""
    *_, short = talk(
        bot,
        "hi, I'm Sophia Garcia, zip 78263. I want to exchange both the luggage set and the pet bed from my order",
        "luggage in hardshell, pet bed in large",
        "yes",
    )
    assert "cost $63.57 more" in short.text and "gift card holds only $5.00" in short.text
    assert not short.writes and not short.handoff
    [other] = talk(bot, "ok then just the pet bed in large, keep the luggage as it is")
    assert not other.handoff and "Pet Bed" in other.text
    assert store.order_details("#W1023987", customer_id=None)["status"] == "delivered"


def test_putting_off_a_confirmation_writes_nothing(bot: Assistant, store: OrderStore):
    """'Ok thanks, I'll think about it' to "Shall I go ahead?" began with a yes word and was taken as the
    yes: the exchange was made."""
    *_, proposed = talk(
        bot, "yusuf.patel5348@example.com", "exchange my hiking boots in #W2274128 for size 11"
    )
    assert "Shall I go ahead" in proposed.text
    [later] = talk(bot, "ok thanks, I'll think about it")
    assert not later.writes
    assert store.order_details("#W2274128", customer_id=None)["status"] == "delivered"


def test_items_named_in_an_order_that_cannot_do_it_get_that_order_and_why(bot: Assistant):
    """'Return the laptop and the boots from my delivered order': both are in a pending order, the boots
    also in another pending one; the bot listed the delivered orders, which hold neither."""
    [reply] = talk(
        bot,
        "yusuf.garcia2909@example.com here. I'd like to return the laptop and the boots from my delivered order please",
    )
    assert reply.text.startswith("Order #W2564042 hasn't been delivered yet (pending)")


def test_an_order_that_never_came_is_looked_up_with_the_login_in_the_same_message(bot: Assistant):
    """'My order never came. <email>' got "verified, how can I help?", the problem dropped; said angrily,
    a complaint with nothing looked up."""
    [calm] = talk(bot, "my order never came. mason.lopez8921@example.com")
    [angry] = talk(bot, "I'm so angry, my order never came!! mason.lopez8921@example.com", session="s2")
    for reply in (calm, angry):
        assert "Here are your orders:" in reply.text and "#W9892169" in reply.text


def test_an_address_after_the_order_address_was_refused_is_offered_for_the_account(bot: Assistant):
    """After "order #W2611340 is processed; only pending orders can be changed", the address given next
    became a plain change of the default address; the reply now says the order keeps its address."""
    talk(bot, "james.li4495@example.com I need to change the shipping address on #W2611340")
    [offer] = talk(bot, "12 Oak Street, Apt 4, Austin TX 78701")
    assert offer.text.startswith("Order #W2611340 will still go to the address it has")
    assert "Change your default address to 12 Oak Street, Apt 4, Austin, TX 78701" in offer.text
    assert not offer.writes


def test_looking_for_my_order_finds_it_and_buying_another_is_a_catalogue_question(bot: Assistant):
    """'I'm looking for my order, <email>' got "verified, how can I help?"; 'I want to buy another backpack
    like the one I got' started a return."""
    [found] = talk(bot, "I'm looking for my order, noah.brown7922@example.com")
    assert found.text.startswith("Order #W7678072 is delivered.")
    [more] = talk(bot, "I want to buy another backpack like the one I got", session="s2")
    assert more.text.startswith("The Backpack is available in")


def test_putting_a_question_off_gets_time_not_another_question(bot: Assistant):
    """'Ok I'll think about it' after a product answer got "Sure, what can I help you with?"."""
    _, later = talk(bot, "do you sell headphones?", "ok I'll think about it")
    assert later.text.startswith("Of course, take your time.")
