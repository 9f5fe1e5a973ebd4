"""Policy and FAQ questions answered from the knowledge base, with sources, inside a conversation."""

from __future__ import annotations

from pathlib import Path

import pytest

from kefu import Assistant, Config


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo knowledge base, indexed once for this module."""
    from kefu.tools.knowledge import KnowledgeBase

    location = tmp_path_factory.mktemp("knowledge")
    KnowledgeBase.demo(location).close()
    return location


@pytest.fixture
def bot(shop_url: str, tmp_path: Path, kb_dir: Path) -> Assistant:
    assistant = Assistant(
        Config(data_dir=tmp_path, shop={"database_url": shop_url}, knowledge={"location": str(kb_dir)})
    )
    yield assistant
    assistant.close()


def test_a_policy_question_is_answered_with_its_source(bot: Assistant):
    reply = bot.respond("how long does a refund take to get back to my credit card?", session_id="s1")
    assert "5 to 7 business days" in reply.text
    assert reply.sources and reply.sources[0]["source"]
    assert [c.name for c in reply.tool_calls] == ["search_knowledge"]


def test_no_answer_means_no_guess_and_an_offer_of_a_person(bot: Assistant):
    reply = bot.respond(
        "what is your policy on shipping live animals to antarctica by submarine?", session_id="s1"
    )
    if reply.sources:  # the retriever found something it deems relevant: then it must cite it
        assert "Source:" in reply.text
    else:
        assert "don't know" in reply.text and "person" in reply.text


def test_a_document_added_by_another_process_shows_in_the_next_turn(
    bot: Assistant, kb_dir: Path, tmp_path: Path
):
    from kefu.tools.knowledge import KnowledgeBase

    doc = tmp_path / "holidays.md"
    doc.write_text(
        "# Holiday opening hours\n\nOur warehouse is closed on the Feast of Saint Zorbulon, so orders "
        "placed that day ship the next business day.\n"
    )
    bot.respond("how long does a refund take?", session_id="s1")  # the assistant is running
    with KnowledgeBase(kb_dir) as other:
        assert other.ingest([doc]).ok
    reply = bot.respond("are you closed on the feast of saint zorbulon?", session_id="s2")
    assert "Zorbulon" in reply.text
    assert any(s["source"] == "holidays.md" for s in reply.sources)
    with KnowledgeBase(kb_dir) as other:
        other.delete("holidays.md")


def test_a_question_the_documents_only_come_near_gets_the_closest_passage_marked_unsure(bot: Assistant):
    """The demo shop's documents say when orders ship, not whether they go abroad: the bot shows what it
    found as the closest passage, says it is not sure, and a plain yes hands the customer to a person."""
    reply = bot.respond("do you ship internationally?", session_id="s1")
    assert "not sure" in reply.text and "closest I found" in reply.text
    assert reply.sources and "Source:" in reply.text
    assert not reply.handoff
    assert bot.respond("yes please", session_id="s1").handoff


def test_a_question_the_documents_answer_is_not_hedged(bot: Assistant):
    reply = bot.respond("which payment methods do you accept?", session_id="s1")
    assert "not sure" not in reply.text
    assert "PayPal" in reply.text and "Source:" in reply.text


def test_an_advice_question_is_answered_from_the_faq_before_any_login(bot: Assistant):
    """'What can I do?' after a problem: a strong FAQ match answers it; the account flow the classifier
    guessed starts only when the documents have no clear answer."""
    reply = bot.respond("my item arrived damaged, what can I do?", session_id="s1")
    assert "return the item for a refund" in reply.text and "Source:" in reply.text
    assert [c.name for c in reply.tool_calls] == ["search_knowledge"]
    reply = bot.respond("my package is late, what can I do?", session_id="s2")
    assert "verify your identity" in reply.text  # no clear answer in the documents: the order flow


def test_an_advice_question_the_documents_cannot_answer_keeps_its_details(bot: Assistant):
    """No clear FAQ match: the customer's order is looked up with the item the message named, and the
    options for a broken item are offered (return or exchange; before, a return was set up unasked)."""
    reply = bot.respond("the kettle I got is broken, what are my options?", session_id="s3")
    assert "verify your identity" in reply.text
    reply = bot.respond("noah.brown7922@example.com", session_id="s3")
    assert "return the Electric Kettle for a refund or exchange it for a new one" in reply.text
    reply = bot.respond("exchange it", session_id="s3")
    assert reply.text.startswith("What would you like instead of your Electric Kettle")


def test_a_question_the_classifier_only_guesses_is_a_task_is_tried_on_the_faq_first(bot: Assistant):
    """'Is my personal data safe?' looked like order status to the intent classifier (confidence 0.24) and
    got a login prompt; 'can I change my email?' started the address change. A question the classifier is
    unsure about goes to the documents first; a clear request still starts its task."""
    reply = bot.respond("Is my personal data safe with you?", session_id="s1")
    assert "only after the account holder is verified" in reply.text and "Source:" in reply.text
    reply = bot.respond("can I change the email on my account?", session_id="s2")
    assert "not the email address" in reply.text and "verify your identity" not in reply.text
    reply = bot.respond("can I cancel my order?", session_id="s3")
    assert "cancel" in reply.text and "verify your identity" in reply.text


def test_a_question_naming_no_product_gets_the_documents_answer_or_the_catalogue(bot: Assistant):
    """'Do you sell my data?' reads as a product question but names no product: the FAQ answers it. 'What
    do you sell?' has no sure answer in the documents: the catalogue is listed."""
    reply = bot.respond("do you sell my data?", session_id="s1")
    assert "we do not sell them" in reply.text and "Source:" in reply.text
    reply = bot.respond("what do you sell?", session_id="s2")
    assert reply.text.startswith("Here is what we sell:") and "Running Shoes" in reply.text
    assert "Source:" not in reply.text


def test_a_greeting_in_front_of_a_question_does_not_hide_it(bot: Assistant):
    """'Hey, can you tell me about your warranty?' was taken for a greeting and got the welcome text."""
    reply = bot.respond("hey, can you tell me about your warranty?", session_id="s1")
    assert "warranty claim" in reply.text and "Source:" in reply.text
    assert "I'm the shop's assistant" in bot.respond("hello, how are you?", session_id="s2").text


def test_a_how_to_question_is_answered_from_the_documents_with_an_offer_to_do_it(bot: Assistant):
    """'How do I return an item?' used to start the return straight away (a login prompt) without saying how
    returns work. A strong match in the documents answers it and offers to do it; 'yes' starts the task.
    A how-to question with its own details (an order id) is a request: the task starts at once."""
    reply = bot.respond("how do I return an item?", session_id="s1")
    assert "Source:" in reply.text and "I can return items for you now" in reply.text
    assert "verify your identity" not in reply.text
    reply = bot.respond("yes please", session_id="s1")
    assert "verify your identity" in reply.text and "return" in reply.text
    reply = bot.respond("how can I cancel an order?", session_id="s2")
    assert "I can cancel an order for you now" in reply.text
    reply = bot.respond("no thanks", session_id="s2")
    assert reply.text == "Is there anything else I can help you with?"
    reply = bot.respond("no", session_id="s2")  # (it used to ask "anything else?" again)
    assert "have a great day" in reply.text
    bot.respond("how can I cancel an order?", session_id="s4")
    reply = bot.respond("yes, it is #W1006327, my email is james.johnson7869@example.com", session_id="s4")
    assert "reason for the cancellation" in reply.text  # the yes carried the order and the login
    reply = bot.respond("how do I cancel order #W2378156?", session_id="s3")
    assert "verify your identity" in reply.text and "Source:" not in reply.text


def test_the_answer_cites_its_passage_by_id_even_when_its_title_reads_like_a_command(bot: Assistant):
    """The injection check used to take the FAQ id "faq.json#change-default-address" for an instruction
    and replace it with a marker, so the reply cited "[kefu: instruction-like text removed …]"."""
    reply = bot.respond("how do I change my default address?", session_id="s1")
    assert reply.sources and reply.sources[0]["source_id"] == "faq.json#change-default-address"
    assert all("[kefu:" not in str(s) for s in reply.sources)
    assert "default address" in reply.text


def test_a_short_follow_up_to_an_answer_is_read_with_the_question_it_follows(bot: Assistant):
    """'And to a gift card?' right after a refund-time answer used to get 'Sorry, I didn't quite get
    that'; it is searched together with the question it follows. An order id or a task word in it is a
    new request, not a follow-up."""
    first = bot.respond("how long do refunds take to my credit card?", session_id="s1")
    follow = bot.respond("and to a gift card?", session_id="s1")
    assert "didn't quite get" not in follow.text
    assert "Refunds to a gift card are immediate" in follow.text
    assert follow.sources and follow.sources[0]["source_id"] == first.sources[0]["source_id"]
    task = bot.respond("and cancel my order #W2611340", session_id="s1")
    assert "search_knowledge" not in [c.name for c in task.tool_calls]


def test_a_follow_up_about_something_else_does_not_get_the_same_answer_again(bot: Assistant):
    """'What about exchanges?' after the answer on returns was searched together with the returns
    question, and the returns answer came first again. A passage already quoted that does not mention
    what the follow-up asks about gives way to the next one that does; with none, the follow-up is
    searched on its own, never answered with the passage the customer just read."""
    returns = bot.respond("how do I return an item?", session_id="s1")
    exchanges = bot.respond("what about exchanges?", session_id="s1")
    other = bot.respond("and how about a different product?", session_id="s1")
    assert returns.sources[0]["source_id"] == "faq.json#return-how"
    assert exchanges.sources[0]["source_id"] == "faq.json#exchange-how"
    assert "Exchanges are for delivered orders" in exchanges.text
    assert other.sources[0]["source_id"] == "faq.json#exchange-different-product"
    cancel = bot.respond("can I cancel an order that has already shipped?", session_id="s2")
    after = bot.respond("and what about exchanges?", session_id="s2")
    assert after.sources and after.sources[0]["source_id"] != cancel.sources[0]["source_id"]
    assert "exchange" in after.text.lower()


def test_a_question_about_any_order_is_answered_before_a_login_is_asked(bot: Assistant):
    """'Can I cancel an order that has shipped?' asks how things work; it used to start a cancellation
    and ask for the customer's email. 'Can I cancel my order?' still starts one."""
    general = bot.respond("can I cancel an order that has shipped?", session_id="s1")
    assert "cannot be cancelled" in general.text and general.sources
    assert "verify your identity" not in general.text
    mine = bot.respond("can I cancel my order?", session_id="s2")
    assert "verify your identity" in mine.text


def test_a_guessed_task_the_documents_cannot_answer_does_not_ask_for_a_login(bot: Assistant):
    """'What are your opening hours?' was guessed as account info (0.30): with no strong answer in the
    documents the bot started that task and asked for an email, then asked again for every message,
    'ok thanks bye' included; and 'ok thanks bye' after a person was offered must not hand over."""
    hours, phone, bye = (
        bot.respond(t, session_id="s1")
        for t in ("what are your opening hours?", "is there a phone line?", "ok thanks bye")
    )
    assert "verify your identity" not in hours.text
    assert "connect you with a person" in phone.text
    assert "transfer_to_human_agents" not in [c.name for c in bye.tool_calls]
    assert bye.text.startswith("You're welcome!")


def test_a_goodbye_while_a_login_is_asked_ends_the_task(bot: Assistant):
    asked = bot.respond("I want to return something", session_id="s1")
    assert "verify your identity" in asked.text
    bye = bot.respond("ok thanks bye", session_id="s1")
    assert "verify your identity" not in bye.text and bye.text.startswith("You're welcome!")


def test_a_new_email_or_name_for_the_account_is_answered_not_taken_for_a_login(bot: Assistant):
    """'Please update my email to …' was read as a login with another customer's email and refused as one;
    what can be changed is in the documents (a person changes the email or the name)."""
    *_, update, address = (
        bot.respond(t, session_id="s1")
        for t in (
            "ethan.muller6617@example.com",
            "please update my email to noah.brown7922@example.com",
            "what's my address?",
        )
    )
    assert update.sources and update.sources[0]["source_id"] == "faq.json#change-email-or-name"
    assert "find_user_id_by_email" not in [c.name for c in update.tool_calls]
    assert "668 Spruce Street" in address.text and update.customer_id == "ethan_muller_6097"
    phone = bot.respond("can you change the phone number on my account?", session_id="s2")
    assert "verify your identity" not in phone.text and phone.sources


def test_a_question_about_any_payment_is_answered_from_the_documents(bot: Assistant):
    """'Can I split a payment between two cards?' started a payment change and asked for a login."""
    reply = bot.respond("can I split a payment between two cards?", session_id="s1")
    assert "Payments cannot be split between methods" in reply.text
    assert [c.name for c in reply.tool_calls] == ["search_knowledge"]
