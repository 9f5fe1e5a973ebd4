"""The embedded brain: a LangChain chat model that needs no LLM.

It reads the conversation like any chat model and answers with one tool call or one reply. Inside,
it is natural-language understanding (intent classifier, entity extraction, matching against the
shop's data) plus declarative flows: for each task, the facts to collect, the tool to call, and the
confirmation step. Its memory of the conversation rides in its own messages (see `dialog`).

Because it is a chat model, `create_agent` runs it exactly like a hosted LLM, and the same tools,
policy checks and confirmation gate apply to both.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field

from kefu.agents import replies as say
from kefu.agents.brains.dialog import ACCOUNT_TASKS, ORDER_TASKS, TASKS, WRITE_TASKS, Dialog
from kefu.agents.brains.flows import FLOW_PHRASES, ORDER_PURPOSE, ORDER_STATUS_FOR, Step, call, reply
from kefu.agents.confirmation import is_explicit_yes
from kefu.agents.nlu import catalog_match as cm
from kefu.agents.nlu import entities as ent
from kefu.agents.nlu.intents import IntentClassifier, load_examples
from kefu.agents.nlu.sentiment import is_upset, read_sentiment
from kefu.agents.policy_notes import best_section, content_words
from kefu.tools.plugins import ToolSpec

STATE_KEY = "kefu_dialog"
_CHANGE_OF_MIND = re.compile(
    r"\b(actually|instead|rather|never ?mind|forget (it|that|about)|scratch that|changed my mind)\b", re.I
)
# "Never mind" with no new request: the customer drops what we were doing.
_ABANDON = re.compile(
    r"\b(never ?mind|forget (it|that|about (it|that))|scratch that|changed my mind|don'?t bother|"
    r"stop (that|this|it)|not anymore|no longer (want|need) (it|to|that))\b",
    re.I,
)
# A greeting in front of a request: the request is what the message is about.
_GREETING = re.compile(
    r"^\s*(hi|hello|hey|hiya|howdy|greetings|good (morning|afternoon|evening|day))( there| team| all)?\b[\s,.!:;-]*",
    re.I,
)
_PRONOUN = re.compile(r"\b(it|its|that|this|that one|this one|them|they)\b", re.I)
# A question about something else ("which orders do I have?") does not answer "which items?".
_QUESTION = re.compile(
    r"^\s*(which|what|where|when|why|how|who|can|could|do|does|did|is|are|will|would|have|has)\b|\?\s*$", re.I
)
# While a write waits for its yes, only words that name another request move away from it.
_WHERE_ORDER = r"\bwhere\b[^.?!]*\b(order|package|parcel)\b"
_TASK_WORDS = {
    "cancel_order": re.compile(r"\bcancel", re.I),
    "return_items": re.compile(r"\b(return|send (it |them )?back)", re.I),
    "exchange_items": re.compile(r"\b(exchange|swap)", re.I),
    "modify_items": re.compile(r"\b(modify|swap|change (the )?(size|color|colour|item))", re.I),
    "change_order_address": re.compile(r"\baddress|\bship (it )?to\b", re.I),
    "change_user_address": re.compile(r"\baddress|\bmoved\b", re.I),
    "change_order_payment": re.compile(r"\b(pay with|payment method|charge (it|my))", re.I),
    "order_status": re.compile(rf"\b(status|track|where is|arrive)|{_WHERE_ORDER}", re.I),
}
_NEVER = re.compile(r"(?!)")
_OTHER_ORDER = re.compile(r"\b(other|another|different|second|previous|older|newer) order\b", re.I)
_ASKS_SUGGESTION = re.compile(
    r"\b(recommend\w*|suggest\w*|what (else )?(should|could|would) i (buy|get)|anything (else )?(like|similar)|"
    r"similar (to|products?|items?)|you might have|ideas? for a gift|gift ideas?|"
    r"looking for (a |an |some )?(gift|present)|(gift|present)\b.*\bany ideas?)\b",
    re.I,
)
_SOMETHING = re.compile(
    r"\b(something|anything|things?|ideas?|options|what (else )?(can|could) i (buy|get))\b", re.I
)
"""'Anything under $50?': a budget with no product named asks for suggestions."""
_WHOLE_ORDER_TASKS = ("cancel_order", "change_order_address", "change_order_payment")
_ORDERS_TOO = re.compile(
    r"\b(also|too|as well|and)\b.*\b(pending |open )?orders?\b|\borders?\b.*\b(too|as well)\b", re.I
)
_ALL_ORDERS = re.compile(
    r"(?<!of )\bmy (pending|open) orders\b|\b(all|every|each|both)\b[\w ]{0,20}\borders?\b|"
    r"\b(all|both|each) of (them|those|these|the orders)\b|\b(all|both) (three|four|five|two)\b|"
    r"^\W*(yes\W+)?(all|both)\W*$",
    re.I,
)
# "Can I cancel an order that has shipped?": how things work, asked about any order, not about theirs
_ABOUT_ANY_ORDER = re.compile(
    r"^\s*(can|could|may|do|does|is|are|what if|how)\b.*\b(an order|an item|a product|a purchase|orders|items|"
    r"something|anything|a payment|payments)\b.*\?\s*$",
    re.I,
)
# "Something I bought on sale": any purchase, not one of theirs in particular
_ANY_OF_MINE = re.compile(
    r"\b(something|anything|an item|a product|items|products|things) (that |which )?i (bought|ordered|got)\b",
    re.I,
)
_FIRST_PERSON = re.compile(r"\b(i|me|my|mine|myself|i'?m|i'?ve|i'?d)\b", re.I)
_MINE = re.compile(r"\b(my|mine|i'?ve|i have|i bought|i ordered|i got)\b", re.I)
_HELP_WITH_ORDER = re.compile(
    r"\b(help|problem|issue|question|trouble|something wrong)\b[\w ]{0,15}\b(with|about|regarding|on)\s+"
    r"(my|an|the|one of my)\s+(order|purchase|package|delivery)\b|"
    r"\b(looking for|find|locate|trace)\s+(my|an|one of my)\s+(order|package|parcel|delivery)\b",
    re.I,
)
_ITEM_PRICE = re.compile(
    r"\b(what did i pay|how much did i pay|how much (was|were|did) (the|my)\b|what was the price|"
    r"(price|cost) of (the|my)\b|paid for (the|my)\b)",
    re.I,
)
"""A question about what an item of the order cost ('what did I pay for the kettle?')."""
_TO_DEFAULT_ADDRESS = re.compile(r"\bits address\b|\bto (my|the) (default|usual|home) (one|address)\b", re.I)
_SIGNS_OFF = re.compile(
    r"\b(thanks|thank you|thx|bye|goodbye|that'?s all|i'?m (good|fine|ok)|no need)\b", re.I
)
"""'Ok thanks bye' after a person was offered: not a yes to the offer."""
_KB_FOLLOW_UP = re.compile(r"\s*(and|what about|how about|same for|also for|and for|and if|what if)\b", re.I)
_GOES_WELL_WITH = re.compile(
    r"\b(go(es)? (well |nicely )?with|to go with|pair(s|ed)? (well )?with|accessor(y|ies))\b", re.I
)
"""'What would go well with it?': suggestions for the product just shown, even unasked for by name."""
_GOES_WITH = re.compile(
    rf"{_GOES_WELL_WITH.pattern}|\b(what else|anything else|something else|else (would|do|could|can) you|"
    r"match(es)?|for (it|them|that|this)|also need|as well)\b",
    re.I,
)
"""Looser: 'what else would you recommend for hiking?' once a suggestion was asked for."""
_SIMILAR = re.compile(r"\b(similar|like (the|my|a|an)|alternatives?|instead of|other than)\b", re.I)
_WANTS_HUMAN = re.compile(
    r"\b((talk|speak|chat) (to|with) (a |an |your )?(real |actual |live )?(human|person|manager|supervisor|agent|"
    r"representative|rep|someone|somebody)|(get|give|transfer|connect|put) me (through )?(to |with )?(a |an )?"
    r"(real |live )?(human|person|manager|supervisor|agent|representative|someone|somebody)|human agent|real person|"
    r"live agent|escalate)\b",
    re.I,
)
# Requests no tool can serve and a person must: a formal complaint, compensation.
_BEYOND_US = re.compile(
    r"\b((file|make|lodge|submit|register) (a |an )?(formal |official )?complaint|compensat(e|ion))\b", re.I
)
# A charge the customer disputes: only a person can look into payments and reverse one.
_BILLING = re.compile(
    r"\b((charged|billed) (me )?(twice|double|two times|too much|the wrong amount)|double[- ]?(charged|billed)|"
    r"overcharged|unauthori[sz]ed (charge|payment|transaction)|charge i (don'?t|do not) recogni[sz]e)\b",
    re.I,
)
_DEFECT = re.compile(
    r"\b(broke|broken|stopped working|(doesn'?t|does not|won'?t|isn'?t|not) work(ing)?|defective|faulty|"
    r"damaged|cracked|leak(s|ing)|dead on arrival|fell apart|fell off|came (off|apart|loose)|snapped|torn|"
    r"ripped|shattered|dented|(doesn'?t|does not|won'?t|will not) (turn|switch|power|charge) ?(on)?)\b",
    re.I,
)
_JUST_ASKING = re.compile(
    r"\bjust (asking|wondering|curious|checking)\b|\bnot (exchanging|returning|changing|swapping)\b|"
    r"\b(don'?t|do not) want to (exchange|return|change|swap)\b.*\b(yet|now)\b",
    re.I,
)
_SWAP_OWNED = re.compile(
    r"\bi (bought|ordered|got|received)\b.*\b(instead|too (small|big|large|short|long|tight|loose|narrow|wide)|"
    r"wrong (size|colou?r))\b",
    re.I | re.S,
)
_CHANGES_IDENTITY = re.compile(
    r"\b(change|update|correct|fix|edit|replace)\b.{0,40}\b(my|the|account'?s?) ?(e-?mail( address)?|"
    r"(user ?)?name|phone( number)?|mobile( number)?|password)\b(?! (is|was)\b)",
    re.I,
)
"""'Update my email to …', 'change the phone number on my account': details the assistant cannot change."""
_SAME_ONE = re.compile(
    r"\b(same (one|item|thing|model|kind|exact one)|(an? )?identical( one)?|exact same|"
    r"(a |another )?(new|replacement|fresh) one|replace it with (a new|the same))\b",
    re.I,
)
"""'Exchange it for the same one': a new item of the very same option (a broken one replaced)."""
_GET_INSTEAD = re.compile(r"\b(get|have|make it|switch|swap|change)\b.*\binstead\b(?! of)", re.I | re.S)
"""'Can I get the helmet in size L instead?' from a signed-in customer who has looked at no product: a
change to what they ordered, not a question about the catalogue."""
_ASKS_PRICE = re.compile(r"\b(how much|price|prices|cost|costs|pricing)\b", re.I)
_ASKS_STOCK = re.compile(r"\b(in stock|available|availability|do you (have|sell|carry|stock))\b", re.I)
_ONE_OF = re.compile(r"\bone of (them|those|these|the|my)\b", re.I)
_CHANGE_ITEM = re.compile(r"\b(swap|switch|change|exchange|replace|make (it|them)|instead)\b", re.I)
_REMOVE_ITEM = re.compile(
    r"\b(remove|take (off|out)|drop|delete)\b[^.?!]*\bfrom (my|the|this|that) order\b|"
    r"\bdon'?t want (the|one of the)\b[^.?!]*\b(in|from) (my|the|this) order\b",
    re.I,
)
_PERSONAL = r"(e-?mail( address)?|address|phone( number)?|account|orders?|payment (methods?|details)|card)"
_NOT_A_PERSON = (
    r"(my|me|mine|yours|ours|the|this|that|it|an?|your|order|delivery|shipping|returns?|refunds?|exchanges?|items?|products?|"
    r"support|help|customer service|you|us|our|today|now|yesterday)"
)
_SOMEONE_ELSE = re.compile(
    rf"\b{_PERSONAL} (of|for) (?!{_NOT_A_PERSON}\b)[a-z]+( [a-z]+)?\s*\??\s*$|"
    rf"(?<!my )\b(?!{_NOT_A_PERSON}\b)[a-z]+'s {_PERSONAL}\b",  # (not "my wife's order": maybe theirs)
    re.I,
)


def _asks_for_someone_else(text: str) -> bool:
    """'What is the email of james li?', 'show me Sarah's orders': another person's data."""
    return bool(_SOMEONE_ELSE.search(text)) and not ent.order_ids(text)


_REMEDY = re.compile(
    r"\b(return|refund|money back|exchange|swap|replace(ment)?|send (it|them) back|new one)\b", re.I
)
# "It never arrived" about an order the shop shows as delivered.
_NOT_ARRIVED = re.compile(
    r"\b(never|not|hasn'?t|didn'?t|haven'?t|have not|has not|did not|yet to)\b[^.?!]{0,25}?"
    r"\b(arriv\w*|receiv\w*|come|came|deliver\w*|show(ed|n)? up|got it|get it|got my|get my)\b|"
    r"\b(missing|lost|stolen) (package|parcel|order|delivery|item)s?\b|"
    r"\b(package|parcel|order|delivery)s? (is |was |got |has been )?(missing|lost|stolen)\b",
    re.I,
)
_ITEM_CLAUSES = re.compile(r"[,;.!?]|\bbut\b|\bthough\b|\bexcept\b", re.I)
_BACKSTORY = re.compile(
    r"\s*(hi|hello|hey|so|well)?\W*(i|we)('ve| have)? (just |recently )?(got|received|bought|ordered|purchased)\b",
    re.I,
)
"""A clause telling what they bought ('I got my laptop and phone last week'), not what to act on."""
_KEEP = re.compile(
    r"\b(keep|keeping|kept|is fine|are fine|is ok|are ok|is okay|happy with|love|loves|not the|"
    r"don'?t (want|need) to (return|exchange|change)|no need to|leave)\b",
    re.I,
)
_ALSO_ORDER = re.compile(
    r"\b(and|also|plus)\b.{0,30}\b(on|for|of|to) (my|the|an?) (pending |open |recent )?order\b", re.I
)
_STRONG_SWITCH = re.compile(
    r"\b(cancel|return|exchange|swap|refund|track|change|modify|update|switch)\b", re.I
)
_SHOPPING = re.compile(
    r"\b(buy|purchase|shopping for|looking for|in the market for|thinking of getting)\b|"
    r"\bi(?: want| need|'d like| would like|'m after| am after) (a|an|some) (new )?\w+",
    re.I,
)
_BUY_MORE = re.compile(r"\b(buy|purchase)\s+(another|a second|one more|more|a new)\b", re.I)
_PUTS_OFF = re.compile(
    r"\b(think (about|it over)|let me think|sleep on it|(decide|check|come back) later|maybe later|not now)\b",
    re.I,
)
_SHIPMENT = re.compile(
    r"\b(orders?|packages?|parcels?|deliver(y|ies)|shipments?|items?|purchases?|stuff)\b", re.I
)
_CHEAPER = re.compile(
    r"\b(cheaper|less expensive|more affordable|lower price[ds]?|too (expensive|pricey))\b", re.I
)
_OPTION_WORDS = {
    "color": {"color", "colors", "colour", "colours"},
    "size": {"size", "sizes"},
    "material": {"material", "materials"},
}
"""Options customers ask about by name whichever product it is ('what sizes?')."""
_ADDRESS_TASKS = ("change_order_address", "change_user_address")
_ITEM_TASKS = ("return_items", "exchange_items", "modify_items")
_SHIP_ELSEWHERE = re.compile(r"\b(ship|send|deliver|mail)\b.{0,20}\bto\b|\baddress\b", re.I)
_TASK_FAMILIES = ({"change_order_address", "change_user_address"}, {"exchange_items", "modify_items"})
_ASKS_WHERE_ORDER = re.compile(_WHERE_ORDER, re.I)
# Sentence ends ("? " and "! " as well as ". ") split too: "Can I send one of them back? my email is …"
# read as one clause was all identity details, and the return went unheard.
_CLAUSES = re.compile(r"\s*(?:\band also\b|\balso\b|\bplus\b|;|[.?!]+\s|\band then\b|\band\b|,)\s*", re.I)
MAX_CALLS_PER_TURN = 16
_ids = itertools.count(1)


@lru_cache(maxsize=8)
def _classifier(plugin_examples: tuple[tuple[str, tuple[str, ...]], ...]) -> IntentClassifier:
    """Shop intents plus plugin intents; fitted once per process for each set of plugins."""
    examples = load_examples()
    for name, phrases in plugin_examples:
        examples[f"plugin:{name}"] = list(phrases)
    return IntentClassifier().fit(examples)


class EmbeddedBrain(BaseChatModel):
    """NLU + declarative flows as a chat model. `plugins` are the specs of enabled kefu plugin tools."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    plugins: list[ToolSpec] = Field(default_factory=list)
    tool_names: frozenset[str] = frozenset()
    """Tools the agent gave us (set by bind_tools); a flow whose tool is missing is not offered."""
    switch_confidence: float = 0.45

    @property
    def _llm_type(self) -> str:
        return "kefu-embedded"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> EmbeddedBrain:
        names = frozenset(
            getattr(t, "name", None) or (t.get("name") if isinstance(t, dict) else "") for t in tools
        )
        return self.model_copy(update={"tool_names": names})

    @property
    def classifier(self) -> IntentClassifier:
        key = tuple(sorted((p.name, p.examples) for p in self.plugins if p.examples))
        return _classifier(key)

    # ---- the chat-model contract --------------------------------------------------------------
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        dialog, new = _restore(messages)
        calls = {tc["id"]: tc for m in messages if isinstance(m, AIMessage) for tc in m.tool_calls}
        immediate: str | None = None
        for m in new:
            if isinstance(m, HumanMessage):
                self._hear(dialog, m.text if hasattr(m, "text") else str(m.content))
                immediate = None
            elif isinstance(m, ToolMessage):
                tc: dict[str, Any] = dict(calls.get(m.tool_call_id) or {})
                text = m.content if isinstance(m.content, str) else json.dumps(m.content)
                immediate = (
                    self._observe(dialog, tc.get("name", m.name or ""), tc.get("args", {}), text) or immediate
                )
        more_to_do = dialog.task is not None or (dialog.suggest_now and self._may_suggest(dialog))
        if immediate and not dialog.hold and more_to_do and not dialog.awaiting_yes and not dialog.handed_off:
            done = immediate.removesuffix(say.anything_else()).strip()  # there is something else
            dialog.preface = (dialog.preface + "\n" + done).strip()  # more to do: said with the next reply
            immediate = None
        dialog.hold = False
        step = reply(immediate) if immediate else self._decide(dialog)
        if step.tool is None and dialog.preface:
            step = reply(f"{dialog.preface}\n\n{step.text}".strip())
            dialog.preface = ""
        if step.tool is None and step.text is not None:
            step = _offer_person_if_stuck(dialog, step)
        if step.tool is not None:
            dialog.calls_this_turn += 1
            message = AIMessage(
                content="",
                tool_calls=[{"name": step.tool, "args": step.args, "id": f"kefu_{next(_ids)}"}],
                additional_kwargs={STATE_KEY: dialog.to_json()},
            )
        else:
            text = (step.text or "").rstrip()
            dialog.asked_anything_else = text.endswith(
                (say.anything_else(), say.what_else(), "How can I help you today?")
            )
            message = AIMessage(content=step.text, additional_kwargs={STATE_KEY: dialog.to_json()})
        return ChatResult(generations=[ChatGeneration(message=message)])

    # ---- understanding a customer message ----------------------------------------------------
    def _hear(self, d: Dialog, text: str) -> None:
        d.calls_this_turn = 0
        d.last_text = text
        after_price, d.item_price_answered = d.item_price_answered, False
        shown, d.suggestions_shown = d.suggestions_shown, None
        d.recent = [*d.recent[-2:], text[:200]]
        offer_open, d.person_offer_open = d.person_offer_open, False
        task_offer, d.task_offer = d.task_offer, None
        locked, d.address_locked = d.address_locked, None
        d.confirmed_now = d.declined_now = d.other_customer = d.complaint_now = False
        d.last_error = None
        pred = self.classifier.predict(text)
        request = _GREETING.sub("", text, count=1)
        if pred.intent == "greet" and request != text and len(request.split()) >= 3:
            after = self.classifier.predict(request)  # "hey, can you tell me about your warranty?"
            if after.intent in TASKS or after.intent.startswith("plugin:"):
                pred = after  # (not "hello, how are you?", which stays a greeting)
        intent = pred.intent if pred.confidence >= 0.2 else "unknown"
        d.heard = intent
        if _mostly_other_script(text):
            d.heard = "other_language"  # "你好，我的订单在哪里？": say which language we read, don't guess
            return

        if (
            intent == "goodbye"
            and pred.confidence >= 0.8
            and d.task is not None
            and not d.awaiting_yes
            and not _has_details(text)
            and not ent.order_ids(text)
        ):
            # "ok thanks bye" while we wait for a login or a detail: the customer is leaving; nothing was
            # changed, so the task is dropped and we say goodbye instead of asking again
            d.drop_requests()
            d.finish()
            return
        was_awaiting = d.awaiting_yes
        if d.awaiting_yes:
            d.awaiting_yes = False
            if is_explicit_yes(text):
                d.confirmed_now = True
                return
            if intent in ("deny", "goodbye") and not _has_details(text):
                d.declined_now = True
                return
            # anything else: new details (handled below) or a new request; the write is asked again

        if task_offer and d.task is None and not was_awaiting and _starts_with_yes(text):
            # "how do I return an item?" was answered from the documents with an offer to do it: "yes"
            d.start(task_offer)
            self._take_details(d, d.task_offer_text)
            self._hear_identity(d, text)  # "yes, my email is ..."
            oids = ent.order_ids(text)
            if oids:
                d.order_id = oids[0]  # "yes, order #W1"
            if _has_details(text):
                self._take_details(d, text)
            return

        if d.task is None and _CHANGES_IDENTITY.search(text) and "search_knowledge" in self.tool_names:
            # "update my email to ethan.new@…": what can be changed is in the documents (not the email or
            # name: a person does that); the new email is not a login, nor another customer's
            d.start("policy_question")
            d.task_texts.append(text)
            return
        own = d.user["name"]["first_name"].lower() if d.user else None
        if _asks_for_someone_else(text) and not (own and own in text.lower()):
            d.someone_else_now = True  # "what is the email of james li?": not theirs to see
            return
        self._hear_identity(d, text)
        mood = read_sentiment(text)
        # Acknowledged out loud only when clearly upset (a mild "never mind" reads negative too).
        d.upset_now = (
            mood.upset
            and (
                is_upset(text)
                # not "asdfgh"; not a cancellation reason, asked for or corrected ("no wait, the reason is
                # that I ordered it by mistake" at the confirmation)
                or (
                    mood.score <= UPSET_SCORE
                    and len(text.split()) >= 3
                    and d.asked != "reason"
                    and not ent.cancel_reason(text)
                    # "what did I pay for the kettle?" reads negative to the model; a plain question
                    # about an order's details is not anger
                    and not _ITEM_PRICE.search(text)
                    and not _order_details_asked(text)
                )
            )
            and not _ABANDON.search(text)
        )
        if mood.upset:
            d.frustrated = True
        d.negative_turns = d.negative_turns + 1 if mood.label == "negative" else 0
        goes_with = _GOES_WELL_WITH.search(text)
        asks_with = (
            d.task is None
            and goes_with is not None
            and not ent.order_ids(text)
            # "accessories" alone is a question about the catalogue, not about a product shown or named
            and (bool(d.focus_products) or not goes_with.group(0).lower().startswith("accessor"))
        )
        if (
            shown is not None
            and d.task is None
            and d.cheapest_shown is not None
            and ent.price_cap(text) is None
            and _CHEAPER.search(text)
        ):
            # "something cheaper?" right after suggestions: the same kind, under the cheapest one shown
            # (was the greeting); `_recommend` sets the limit
            d.start("recommend")
            d.task_texts.append(text)
            d.refine_suggestions = shown
            return
        budget = (
            ent.price_cap(text) is not None
            and d.task is None
            and not ent.order_ids(text)
            # "exchange the kettle for something under $150" is an exchange
            and not any(p.search(text) for t, p in _TASK_WORDS.items() if t != "order_status")
        )
        if budget and shown is not None and not _ASKS_SUGGESTION.search(text):
            # "something under $100?" right after suggestions: the same suggestions, within the budget
            d.start("recommend")
            d.task_texts.append(text)
            d.refine_suggestions = shown
            return
        asks_in_budget = (
            budget and bool(_SOMETHING.search(text)) and not cm.match_products(text, d.product_types or {})
        )
        if (
            _ASKS_SUGGESTION.search(text) or asks_with or asks_in_budget
        ) and "recommend_products" in self.tool_names:
            d.start("recommend")
            d.task_texts.append(text)
            return

        requested = self._requests(text, intent, pred.confidence)
        if (
            d.task is None
            and _SHOPPING.search(text)
            # "another backpack like the one I got" is a purchase too; "a new one, mine broke" is not
            and (not _MINE.search(text) or (_BUY_MORE.search(text) and not _DEFECT.search(text)))
            and not ent.order_ids(text)
            and (
                intent in ("affirm", "deny", "greet", "unknown", "inform", "out_of_scope", "chat")
                or (
                    bool(requested)
                    and requested[0] in ORDER_TASKS
                    and (pred.confidence < 0.35 or _BUY_MORE.search(text))
                )
            )
        ):
            # "I want a smart thermostat that works with alexa" read as a yes (0.60), "I want to buy a
            # laptop" as a return (0.21): a wish to buy is a question about the catalogue
            requested = ["product_info"]
        if (
            d.task is None
            and d.focus_products
            and requested
            in ([], ["policy_question"], ["account_info"])  # ("what colours?" read as the latter)
            and (
                (_PRONOUN.search(text) and (_ASKS_PRICE.search(text) or _ASKS_STOCK.search(text)))
                or _price_ask(text) is not None
                or (len(text.split()) <= 3 and _ASKS_PRICE.search(text) and not _FIRST_PERSON.search(text))
                or (len(text.split()) <= 8 and self._names_options_of(d, d.focus_products[-1], text))
                or (len(text.split()) <= 8 and self._option_keys_asked(d, d.focus_products[-1], text))
                or (len(text.split()) <= 6 and self._option_word_missing(d, d.focus_products[-1], text))
            )
            and not ent.order_ids(text)
        ):
            # "how much does it cost?", "which one is cheapest?", "how much?", "and in 6mm?" right after the
            # yoga mat was shown
            requested = ["product_info"]
        follow_up, d.kb_question = (d.kb_question if d.task is None and _KB_FOLLOW_UP.match(text) else ""), ""
        if (
            follow_up
            and len(text.split()) <= 8
            and not ent.order_ids(text)
            and not ent.emails(text)
            and not (requested and _TASK_WORDS.get(requested[0], _NEVER).search(text))
        ):
            # "how long do refunds take to my card?" answered from the documents, then "and to a gift card?":
            # the same question about something else, searched with the question it follows
            requested = ["policy_question"]
            d.kb_question = follow_up  # (a chain of follow-ups stays on the question that began it)
            d.kb_follow_up = True
            text = f"{follow_up} {text}"
        if requested and requested[0] in _DETAIL_WRITES and _asks_about_a_detail(text):
            requested = ["order_status"]  # "where is #W1 being shipped to?" asks, it does not change
        if (
            requested
            and (
                requested[0] in ("return_items", "exchange_items")
                or (requested[0] == "product_info" and _MINE.search(text))
            )
            and _DEFECT.search(text)
            and not _REMEDY.search(text)
            and d.task is None
        ):
            # "my coffee maker is leaking", "the coffee maker I got is leaking": offer return or exchange,
            # not pick one (nor describe the product)
            requested = ["order_status"]
        if (
            requested
            and requested[0] not in _ITEM_TASKS
            and pred.confidence < 0.35
            and d.task is None
            and _DEFECT.search(text)
            and _MINE.search(text)
        ):
            # "I need a new one, mine broke" read as an address change (0.23): what was said to fix it
            remedy = _REMEDY.search(text)
            requested = [
                "order_status"
                if remedy is None
                else "return_items"
                if re.match(r"return|refund|money|send", remedy.group(0), re.I)
                else "exchange_items"
            ]
        if (
            requested
            and requested[0] in _ITEM_TASKS
            and _JUST_ASKING.search(text)
            and _ASKS_PRICE.search(text)
        ):
            # "how much would the same boots be in size 11? just asking, not exchanging anything yet"
            requested = ["product_info"]
        if (
            len(requested) == 1
            and requested[0] in ACCOUNT_TASKS
            and d.task is None
            and (
                _ADVICE.search(text)
                or (_HOW_TO.search(text) and not _has_details(text))
                or (
                    _ABOUT_ANY_ORDER.search(text)
                    and not _MINE.search(_ANY_OF_MINE.sub(" ", text))
                    and not _has_details(text)
                )
                or (pred.confidence < WEAK_TASK and _QUESTION.search(text))
            )
            and not ent.order_ids(text)
            and "search_knowledge" in self.tool_names
        ):
            # An advice question, or a question the classifier only guesses is a task ("is my personal
            # data safe?" read as order status at 0.24): the shop's documents may answer it; else the
            # task starts.
            d.kb_first = requested[0]
            # only a guess ("what are your opening hours?" as account info at 0.30), with no word of the
            # task and nothing of theirs: if the documents have no strong answer, say so rather than start
            # the task and ask for a login
            d.kb_first_guess = (
                pred.confidence < WEAK_TASK
                and not _TASK_WORDS.get(d.kb_first, _NEVER).search(text)
                # about themselves ("a rundown of all my orders", "what card did I pay with?"): the task
                and not _FIRST_PERSON.search(text)
                and d.user is None  # (logged in, starting the task asks nothing of them)
            )
            requested = ["policy_question"]
        takes_offer = (
            offer_open
            and _starts_with_yes(text)
            and not d.awaiting_yes
            and not _SIGNS_OFF.search(text)
            # "ok then the luggage in softshell 3-piece" to "pick other options, or I can connect you with
            # a person": the "ok" goes with what follows, for the task in hand
            and (d.task is None or len(text.split()) <= 5)
        )
        if _WANTS_HUMAN.search(text) or takes_offer:
            requested = ["human_agent"]  # asked for a person: that wins over anything else in the message
            d.asked = None
            if d.task != "human_agent":
                d.queue.clear()
                d.order_texts = {}
                d.start("human_agent")  # also over a write waiting for its yes (it is dropped, not done)
        elif (
            (_BEYOND_US.search(text) and not _STRONG_SWITCH.search(text)) or _BILLING.search(text)
        ) and d.task is None:
            d.complaint_now = True  # a formal complaint, compensation: only a person can do that
            return
        if (
            self._wants_item_change(d, text)
            and (
                not requested
                or requested[0] in ("change_order_payment", "order_status", "return_items", "product_info")
            )
            and d.task in (None, "order_status", "product_info", "change_order_payment")
        ):
            requested = ["exchange_items"]  # the order's status decides exchange vs modify
        if (
            requested in (["product_info"], [])
            and d.task is None
            and (
                _SWAP_OWNED.search(text)
                or (d.user is not None and not d.focus_products and _GET_INSTEAD.search(text))
            )
        ):
            # "I bought a backpack but it's too small, can I get a medium instead?"; signed in, "can I get
            # the helmet in size L instead?"
            requested = ["exchange_items"]
        if (
            requested == ["change_user_address"]
            and d.order_id is not None
            and _TO_DEFAULT_ADDRESS.search(text)
        ):
            # "change its address to my default one": the account's address is the default; an order's is
            # what can change to it
            requested = ["change_order_address"]
        if requested == ["change_user_address"] and _ALSO_ORDER.search(text):
            requested.append("change_order_address")
        if (
            was_awaiting
            and d.task == "change_user_address"
            and _ORDERS_TOO.search(text)
            and "change_order_address" not in d.queue
        ):
            # "also update my pending orders to it" at the account address's confirmation: the orders
            # follow once that is done (with the same address), and the confirmation is asked again
            d.queue.append("change_order_address")
            d.preface = say.orders_follow()
            requested = []
        if requested == ["human_agent"] and pred.confidence < 0.5 and not _WANTS_HUMAN.search(text):
            # "can I get a discount code?" guessed as a hand-off at 0.25: a transfer ends the bot's part, so
            # only a clear ask makes one; otherwise it is a question we may not answer (a person is offered)
            requested, d.heard = [], "out_of_scope"
        if requested == ["account_info"] and ent.order_ids(text):
            requested = ["order_status"]  # "what's in order #W1?": that order, not the account
        shown = d.orders.get(d.order_id or "")
        if (
            d.task is None
            and shown is not None
            and not _CHANGE_WORDS.search(text)
            and _asks_item_price(text, after_price)
            and cm.match_items(text, shown["items"])
        ):
            requested = ["order_status"]  # "what did I pay for the kettle?", then "how about the backpack?"
            d.item_price_answered = after_price  # (read again when the order task answers it)
        if d.task is None and _SPENT_IN_ALL.search(text) and not ent.order_ids(text):
            requested = ["account_info"]  # "how much have I spent so far?": every order, summed
        if not requested and d.task is None and _HELP_WITH_ORDER.search(text):
            requested = ["order_status"]  # "I need help with my order": find it first, then what about it
        if (
            not requested
            and d.task is None
            and _NOT_ARRIVED.search(text)
            and _SHIPMENT.search(text)  # (not "sorry, I didn't get it")
            and not _ABOUT_ANY_ORDER.search(text)
        ):
            # "my order never came. <email>": find it (a delivered one is then said to be missing); it was
            # read as the login alone, or as a complaint with nothing to look up
            requested = ["order_status"]
        if not requested and d.task is None and ent.address(text):
            requested = ["change_order_address" if ent.order_ids(text) else "change_user_address"]
            if locked is not None and requested == ["change_user_address"]:
                # the new address right after "order #W1 is processed, its address can't change": the
                # order stays as it is; the account's default can take it, said so before the yes (it was
                # offered as a plain change of the default address)
                d.preface = f"{d.preface}\n{say.only_default_address_left(locked)}".strip()
        ships_elsewhere = (
            not requested
            and d.task in WRITE_TASKS
            and d.task not in _ADDRESS_TASKS
            and d.asked != "address"
            and bool(ent.address(text))
            and bool(_SHIP_ELSEWHERE.search(text))
        )
        if ships_elsewhere:
            # "also, can you ship it to 12 Oak Street, …" while we ask which card pays: a second request (the
            # classifier is unsure of a message that is mostly an address), not a reply to the question,
            # which stayed asked however often the address came
            requested = ["change_order_address"]
        if requested:
            first, rest = requested[0], requested[1:]
            fills_question = d.asked is not None and _answers(
                d.asked, text, d.orders.get(d.order_id or ""), intent=first
            )
            if d.task is None:
                d.start(first)
                d.queue.extend(t for t in rest if t not in d.queue)
            elif first != d.task and first in d.queue and _STRONG_SWITCH.search(text):
                d.queue.remove(first)  # the customer turns to the other thing they asked for
                d.queue.insert(0, d.task)
                if d.order_id is not None:
                    d.resume_orders[d.task] = d.order_id
                order_id = d.order_id
                d.start(first)
                d.order_id = order_id
            elif (
                first != d.task
                and (pred.confidence >= self.switch_confidence or ships_elsewhere)
                and not fills_question
                and not (d.pending and _starts_with_yes(text))
                and not (was_awaiting and not _TASK_WORDS.get(first, _NEVER).search(text))
            ):
                if {first, d.task} <= {"exchange_items", "modify_items"}:
                    pass  # the same wish; the order's status decides which one it is
                else:
                    old = d.task
                    d.start(first)
                    # (an address given mid-task says "instead" of the address, not of the task in hand)
                    dropped = _ABANDON if ships_elsewhere else _CHANGE_OF_MIND
                    if not dropped.search(text) and old in WRITE_TASKS and old not in d.queue:
                        d.queue.append(old)
                        if d.order_id is not None:
                            d.resume_orders[old] = d.order_id
                    d.queue.extend(t for t in rest if t not in d.queue and t != old)
            elif rest and d.task == first:
                d.queue.extend(t for t in rest if t not in d.queue)
            if d.task in d.queue:
                d.queue.remove(d.task)
        elif d.task is not None and _abandons(text):
            d.drop_requests()
            d.declined_now = True  # nothing was changed: say so and ask what else
            return

        oids = ent.order_ids(text)
        if not oids and _OTHER_ORDER.search(text):
            d.order_id = None  # "my other order": not the one we just talked about
        elif (
            not oids and d.order_id in d.orders and d.user is not None and d.asked not in ("items", "options")
        ):
            # "what about the dumbbells, can I cancel those?" after the umbrella's order: the dumbbells'
            focus = d.orders[d.order_id or ""]
            if not cm.match_items(text, focus["items"]):
                others = [
                    o for oid, o in d.orders.items() if oid != d.order_id and cm.match_items(text, o["items"])
                ]
                if others:
                    d.order_id = others[0]["order_id"] if len(others) == 1 else None
        if oids and oids[0] != d.order_id:
            d.order_id = oids[0]
            d.asked = None if d.asked == "order" else d.asked
        details = text
        if len(set(oids)) > 1 and d.task in WRITE_TASKS:
            parts = _parts_by_order(text, oids)
            if len(parts) > 1:  # each order has its own sentences: each order's task reads only its part
                d.order_texts = parts
                details = parts.get(d.order_id or "", text)
        if len(oids) > 1 and d.task in WRITE_TASKS:
            d.order_queue = [o for o in oids[1:] if o != d.order_id]
        if d.task is not None:
            self._take_details(d, details)

    def _take_details(self, d: Dialog, text: str) -> None:
        """What a message says for the task in hand: items (kept as text), reason, payment, address."""
        assert d.task is not None
        d.task_texts.append(text)
        reason = ent.cancel_reason(text)
        if reason:
            d.reason = reason
        if ent.payment_hint(_strip_storage_cards(text)):
            d.payment_text = _strip_storage_cards(text)
        address = ent.address(text)
        if address:
            d.address = address
        elif d.address is not None and d.asked != "auth" and d.user is not None:
            # a correction to the address given before ("it's 90026, not 90062"); a zip code given to log
            # in ("fatima muller, 60644") is not one
            d.address = _amend_address(d.address, text)
        if ent.says_default_address(text):
            d.use_default_address = True
        if d.task.startswith("plugin:") and d.asked and d.asked.startswith("param:"):
            d.plugin_args[d.asked.removeprefix("param:")] = text.strip()

    def _requests(self, text: str, intent: str, confidence: float) -> list[str]:
        """The tasks a message asks for, in order of mention: usually one, sometimes two ('cancel one order
        and change the payment on another'). Long chatty messages are read clause by clause."""
        whole = intent if (intent in TASKS or intent.startswith("plugin:")) else None
        clauses = [c for c in _CLAUSES.split(text) if c and len(c.split()) >= 3]
        if len(clauses) < 2:
            return [whole] if whole else []
        by_clause: list[tuple[str, float]] = []
        for clause in clauses:
            p = self.classifier.predict(clause)
            if (p.intent in TASKS or p.intent.startswith("plugin:")) and p.confidence >= 0.5:
                by_clause.append((p.intent, p.confidence))
        found: list[str] = []
        strong = [t for t, c in by_clause if t not in ("policy_question", "product_info")]
        same_kind = any({whole, t} <= family for family in _TASK_FAMILIES for t in strong)
        if whole and whole not in strong and not same_kind and (confidence >= 0.45 or not strong):
            strong.insert(0, whole)  # (a clause's "change my address" says which address; the whole doesn't)
        for t in strong:
            if t not in found:
                found.append(t)
        if not found and by_clause:
            found.append(by_clause[0][0])
        # more than one task only when each has its own clause with a request verb (or asks where the
        # order is: "change my address and tell me where my order is")
        verbs = [c for c in clauses if _STRONG_SWITCH.search(c) or _ASKS_WHERE_ORDER.search(c)]
        return found if len(verbs) >= len(found) else found[:1]

    def _wants_item_change(self, d: Dialog, text: str) -> bool:
        """'Rubber instead of urethane', 'switch it to the silver one': option talk about the order in focus."""
        order = d.orders.get(d.order_id or "")
        if order is None:
            return False
        for item in order["items"]:
            current = {str(v).lower() for v in item["options"].values()}
            rejected = [m.group(3).lower() for m in cm._REJECTED.finditer(text)]
            if any(r == v or r.startswith(v + " ") for v in current for r in rejected):
                return True
            product = d.products.get(item["product_id"])
            if (
                product is not None
                and any(
                    all(str(item["options"].get(k)) != m.value for k in m.keys)
                    for m in cm.option_mentions(text, product["variants"].values())
                )
                and re.search(r"\b(switch|change|swap|make it|instead|rather|exchange|get)\b", text, re.I)
            ):
                return True
        return False

    def _hear_identity(self, d: Dialog, text: str) -> None:
        emails = ent.emails(text)
        zips = ent.zip_codes(text) if not ent.address(text) else []
        # a zip code next to two words is a name and zip, asked for or not ("daiki kovacs, zip is 43196")
        name = ent.person_name(text, expecting=d.asked == "auth" or bool(zips))
        if d.user_id is None:
            if emails:
                d.email = emails[0]
            if zips:
                d.zip = zips[0]
            if name:
                d.first_name, d.last_name = name
            return
        user = d.user or {}
        other_email = any(e != str(user.get("email", "")).lower() for e in emails)
        known = user.get("name", {})
        other_name = name is not None and (
            name[0].lower() != str(known.get("first_name", "")).lower()
            or name[1].lower() != str(known.get("last_name", "")).lower()
        )
        if other_email or other_name:
            d.other_customer = True
            d.email = emails[0] if other_email else None

    # ---- reading tool results ----------------------------------------------------------------
    def _observe(self, d: Dialog, tool: str, args: dict[str, Any], content: str) -> str | None:
        error = content.startswith("Error:")
        if "TOOL_FAILED" in content:
            d.tool_failures += 1
            d.order_queue = []
            d.finish()  # don't retry in this turn; the customer can ask again
            return say.tool_failed(offer_human=True)
        if tool in ("find_user_id_by_email", "find_user_id_by_name_zip"):
            key = json.dumps([tool, args], sort_keys=True)
            if key not in d.tried:
                d.tried.append(key)
            if error:
                d.auth_error = (
                    "other"
                    if "another customer" in content
                    else ("email" if tool == "find_user_id_by_email" else "name and zip code")
                )
            else:
                d.user_id, d.auth_error = content.strip(), None
                if d.asked == "auth":
                    d.asked = None
            return None
        if tool == "get_user_details" and not error:
            d.user = json.loads(content)
            return None
        if tool == "get_order_details":
            oid = str(args.get("order_id", ""))
            if error:
                if oid not in d.missing_orders:
                    d.missing_orders.append(oid)
                if d.order_id == oid:
                    d.order_id = None
                    d.last_error = f"order_not_found:{oid}"
            else:
                d.orders[oid] = json.loads(content)
            return None
        if tool == "list_all_product_types" and not error:
            d.product_types = json.loads(content)
            return None
        if tool == "get_product_details" and not error:
            product = json.loads(content)
            d.products[product["product_id"]] = product
            return None
        if tool == "recommend_products":
            d.suggest_now = False
            found = [] if error else json.loads(content).get("recommendations", [])
            if found:
                d.recommended += 1
            kind = args.get("kind", "personal")
            cap = args.get("max_price")
            if d.task == "recommend":
                d.finish()
            d.hold = True  # say it now, whatever task is open
            if kind == "alternatives":
                d.asked = "options"
            if not error:
                d.suggestions_shown = {
                    k: v for k, v in args.items() if k in ("kind", "product_id", "item_id")
                }
                prices = [p for f in found if (p := f.get("price_from", f.get("price"))) is not None]
                d.cheapest_shown = min(prices) if prices else None
            if not found:
                if cap is not None:
                    return say.nothing_within(float(cap))
                return say.no_suggestions() if kind != "personal" or d.task is None else None
            return say.suggestions(found, kind, max_price=cap)
        if tool == "search_knowledge":
            result = {} if error else json.loads(content)
            found = result.get("passages", [])
            task, d.kb_first = d.kb_first, None
            sure = bool(found) and result.get("confident", True)
            follow_up, d.kb_follow_up = d.kb_follow_up, False
            if follow_up and found and _answered_already(found[0], d.kb_answered, d.last_text):
                # "what about exchanges?" after the answer on returns: searched together with that
                # question, the same passage comes first again, which the customer has read and which
                # does not mention exchanges. The next passage that does is the answer; with none,
                # the follow-up is searched on its own.
                found = [p for p in found[1:] if _mentions_asked(p, d.last_text)]
                if not found:
                    d.kb_question = ""
                    d.task_texts = [d.last_text]
                    return None
                sure = bool(found[0].get("confident", True))
                result = {**result, "confident": sure}
            if task == "product_info" and not sure:
                # no product named and no sure answer in the documents: what we sell
                d.finish()
                return say.product_unknown(d.product_types or {})
            guess, d.kb_first_guess = d.kb_first_guess, False
            if (
                task not in (None, "product_info")
                and not (found and found[0].get("score", 0.0) >= KB_FIRST_SCORE)
                and not guess
            ):
                # no strong answer in the documents: do what the message asked, with its details
                d.start(task)
                self._take_details(d, d.last_text)
                return None
            d.finish()
            d.hold = True
            if not found:
                d.kb_question = ""
            elif not d.kb_question:
                d.kb_question = str(args.get("query", ""))  # what "and for X?" follows up on
            if found:
                d.kb_answered = [*(d.kb_answered if follow_up else []), str(found[0].get("source_id", ""))]
            fallback, d.kb_fallback = d.kb_fallback, False
            if task in ACCOUNT_TASKS and found and sure:
                # a strong answer to how a task works: say it, and offer to do it ("yes" starts it)
                d.task_offer, d.task_offer_text = task, d.last_text
                return say.knowledge_answer_with_offer(found[0], FLOW_PHRASES.get(task, "help with that"))
            if found and not result.get("confident", True):
                _open_person_offer(d)  # a plain "yes" now hands over
                return say.knowledge_unsure(found[0])
            if found:
                return say.knowledge_answer(found[0])
            return say.out_of_scope() if fallback else say.knowledge_not_found()
        if tool == "transfer_to_human_agents":
            d.handed_off = True
            d.finish()
            return say.handed_off()
        if tool.startswith("plugin:") or (d.task or "").removeprefix("plugin:") == tool:
            if content.startswith("{") and '"confirmation_required"' in content:
                info = json.loads(content)
                d.pending, d.awaiting_yes = {"tool": info["action"], "args": info["args"]}, True
                return say.confirm(info["summary"])
            d.finish()
            return (
                (f"I couldn't do that: {content.removeprefix('Error: ')}" if error else content)
                + "\n"
                + say.anything_else()
            )
        if content.startswith("{") and '"confirmation_required"' in content:
            info = json.loads(content)
            d.pending = {"tool": info["action"], "args": info["args"]}
            d.awaiting_yes = True
            return say.confirm(info["summary"])
        if tool in _WRITES:
            d.awaiting_yes, d.pending = False, None
            if error:
                d.finish()
                return say.write_refused(content.removeprefix("Error: "))
            result = json.loads(content)
            d.done_writes.append(tool)
            d.suggest_now = tool not in ("cancel_pending_order", "return_delivered_order_items")
            if "order_id" in result:
                d.orders[result["order_id"]] = result
            elif d.user is not None and "address" in result:
                d.user["address"] = result["address"]
            d.finish()
            return say.write_done(tool, result)
        return None

    # ---- deciding the next step --------------------------------------------------------------
    def _decide(self, d: Dialog) -> Step:
        if d.replay and d.task is not None:
            replay, d.replay = d.replay, ""
            self._take_details(d, replay)
        if d.confirmed_now and d.pending:
            d.confirmed_now = False
            return call(d.pending["tool"], d.pending["args"])
        if d.declined_now:
            d.declined_now = False
            d.finish()
            return reply(say.confirmation_declined())
        if d.calls_this_turn >= MAX_CALLS_PER_TURN:
            return reply(say.tool_failed(offer_human=True))
        if d.handed_off:
            return reply(say.handed_off())
        if d.someone_else_now:
            d.someone_else_now = False
            return reply(say.someone_elses_data())
        if d.complaint_now:
            d.complaint_now = False
            _open_person_offer(d)
            return reply(say.billing_issue() if _BILLING.search(d.last_text) else say.beyond_us())
        if d.suggest_now and d.task is None and self._may_suggest(d):
            d.suggest_now = False
            return call("recommend_products", {"kind": "personal", "n": 3})
        d.suggest_now = False
        task = d.task
        if task is None:
            return self._no_task(d)
        if task == "recommend":
            return self._recommend(d)
        if task == "human_agent":
            return call("transfer_to_human_agents", {"summary": _summary(d)})
        if task == "policy_question":
            if "search_knowledge" in self.tool_names:
                return call("search_knowledge", {"query": d.task_texts[-1] if d.task_texts else "", "k": 3})
            found = best_section(" ".join(d.task_texts))
            d.finish()
            return reply(say.policy(*found) if found else say.out_of_scope())
        if task == "product_info":
            return self._product_info(d)
        plugin = self._plugin(task)
        needs_account = task in ACCOUNT_TASKS or (
            plugin is not None and any(s != "public" for s in plugin.scopes)
        )
        if needs_account:
            step = self._authenticate(d, FLOW_PHRASES.get(task, "with that"))
            if step is not None:
                return step
        if plugin is not None:
            return self._plugin_flow(d, plugin)
        assert d.user is not None
        if task == "account_info":
            asked = [a for a in map(_account_details_asked, d.task_texts) if a]
            if asked:  # "what's my gift card balance?": that, not the whole account again
                d.finish()
                return reply(say.account_details(d.user, asked[-1]))
            for oid in d.user["orders"][:10]:
                if oid not in d.orders and oid not in d.missing_orders:
                    return call("get_order_details", {"order_id": oid})
            d.finish()
            listed = [d.orders[o] for o in d.user["orders"] if o in d.orders]
            if any(_SPENT_IN_ALL.search(t) for t in [*d.task_texts, d.last_text]):
                return reply(say.total_spent(listed))  # "how much have I spent in total?"
            d.listed_orders = [o["order_id"] for o in listed]
            return reply(say.account(d.user, listed))
        if task == "change_user_address":
            return self._user_address(d)
        if task in ORDER_TASKS:
            return self._order_task(d)
        d.finish()
        return reply(say.didnt_understand())

    def _no_task(self, d: Dialog) -> Step:
        if d.user_id is None and (d.email or (d.first_name and d.last_name and d.zip)):
            step = self._authenticate(d, "")
            if step is not None:
                return step
        if d.other_customer:
            return reply(say.auth_other_customer())
        if d.user_id is not None and d.user is None:
            return call("get_user_details", {"user_id": d.user_id})
        heard = d.heard
        # an order id on its own shows that order (not a "yes" to "anything else?" with an order in focus)
        names_order = d.order_id is not None and d.order_id in ent.order_ids(d.last_text)
        if names_order and heard in ("inform", "affirm", "unknown", "greet") and d.user is not None:
            d.start("order_status")  # an order id on its own: show that order
            d.task_texts.append(d.last_text)  # (or what it asks of it: "#W1, which card did I use?")
            return self._order_task(d)
        if names_order and heard in ("inform", "affirm", "unknown"):
            d.start("order_status")
            d.task_texts.append(d.last_text)
            return self._decide(d)
        if heard == "other_language":
            _open_person_offer(d)  # a plain "yes" now hands over
            return reply(say.english_only())
        if heard in ("out_of_scope", "unknown", "inform", "greet") and _DEFECT.search(d.last_text):
            # "my gaming mouse stopped working", "hi! one thing I ordered is broken": find the order (after
            # the login), then the remedies
            d.start("order_status")
            d.task_texts.append(d.last_text)
            return self._order_task(d) if d.user is not None else self._decide(d)
        if heard == "greet" or heard is None:
            return reply(say.greet())
        if heard == "goodbye":
            return reply(say.goodbye())
        if d.upset_now and heard in ("out_of_scope", "unknown", "deny", "inform"):
            return self._complaint(d)
        if (
            heard in ("inform", "unknown", "out_of_scope")
            and _QUESTION.search(d.last_text)
            and "list_all_product_types" in self.tool_names
        ):
            # "is the laptop available with 32GB ram and i9?" (read as inform, 0.46): a question that names
            # a product by its name (not "what's your phone number?", only near "Smartphone")
            if d.product_types is None:
                return call("list_all_product_types", {})
            if any(cm.product_score(n, d.last_text) >= 2.0 for n in d.product_types):
                d.start("product_info")
                d.task_texts.append(d.last_text)
                return self._product_info(d)
        if heard in ("out_of_scope", "unknown") and "search_knowledge" in self.tool_names and d.last_text:
            # not a request we know: the business's own documents may still answer it
            d.start("policy_question")
            d.task_texts.append(d.last_text)
            d.kb_fallback = True
            return call("search_knowledge", {"query": d.last_text, "k": 3})
        if heard == "out_of_scope":
            return reply(say.out_of_scope())
        if d.user is not None and heard in ("inform", "affirm") and d.calls_this_turn > 0:
            first = d.user["name"]["first_name"]  # (the lookups of this turn just verified them)
            return reply(f"Thanks, {first}, I've verified your account. How can I help you today?")
        if heard in ("affirm", "deny", "inform", "unknown") and _PUTS_OFF.search(d.last_text):
            return reply(say.take_your_time())  # "ok, I'll think about it" after an answer
        if heard == "affirm":
            return reply(say.what_else())  # "yes" to "anything else?"
        if heard == "deny":
            # "no" to "anything else?" ends the conversation politely instead of asking again
            return reply(say.nothing_else() if d.asked_anything_else else say.anything_else())
        return reply(say.didnt_understand())

    def _authenticate(self, d: Dialog, phrase: str) -> Step | None:
        if d.other_customer:
            if d.email:  # let the tool refuse in code, not just us
                key = json.dumps(["find_user_id_by_email", {"email": d.email}], sort_keys=True)
                if key not in d.tried:
                    return call("find_user_id_by_email", {"email": d.email})
            d.other_customer = False
            return reply(say.auth_other_customer())
        if d.auth_error == "other":
            d.auth_error = None
            return reply(say.auth_other_customer())
        if d.user_id is None:
            if d.email:
                args = {"email": d.email}
                if json.dumps(["find_user_id_by_email", args], sort_keys=True) not in d.tried:
                    return call("find_user_id_by_email", args)
            if d.first_name and d.last_name and d.zip:
                args = {"first_name": d.first_name, "last_name": d.last_name, "zip": d.zip}
                if json.dumps(["find_user_id_by_name_zip", args], sort_keys=True) not in d.tried:
                    return call("find_user_id_by_name_zip", args)
            d.asked = "auth"
            if d.auth_error:
                by, d.auth_error = d.auth_error, None
                return reply(say.auth_failed(by))
            return reply(say.ask_auth(phrase or "with that"))
        if d.user is None:
            return call("get_user_details", {"user_id": d.user_id})
        return None

    # ---- flows -------------------------------------------------------------------------------
    def _order_task(self, d: Dialog) -> Step:
        assert d.user is not None and d.task is not None
        if d.last_error and d.last_error.startswith("order_not_found:"):
            oid = d.last_error.split(":", 1)[1]
            d.last_error = None
            d.asked = "order"
            return reply(say.order_not_found(oid))
        if d.order_id is None:
            for oid in d.user["orders"][:10]:
                if oid not in d.orders and oid not in d.missing_orders:
                    return call("get_order_details", {"order_id": oid})
            known = [d.orders[o] for o in d.user["orders"] if o in d.orders]
            listed = [d.orders[o] for o in d.listed_orders if o in d.orders]
            pointed = _order_pointed_at(d.task_texts[-1] if d.task_texts else "", listed)
            named_status = (
                _orders_with_status(_STATUS_ORDER.findall(d.task_texts[-1]), known)
                if not listed and d.task == "order_status" and d.task_texts
                else []
            )
            if pointed is None and len(named_status) == 1:
                pointed = named_status[0]["order_id"]  # "my delivered order", and only one is
            if pointed is None and d.task_texts and _RECENCY.search(d.task_texts[-1]) and len(known) > 1:
                # "the most recent one": orders carry no dates here; say so rather than list them again
                d.preface = f"{d.preface}\n{say.no_order_dates()}".strip()
            if pointed is not None:
                d.order_id = pointed  # "the first one", "the delivered one" in the list we showed
                return self._order_task(d)
            wanted = ORDER_STATUS_FOR.get(d.task)
            fitting = [o for o in known if wanted is None or o["status"] in wanted]
            text = " ".join(d.task_texts)
            by_item = _most_items_named(text, fitting)
            # "cancel the puzzle order" when the puzzle's order has shipped: that order, and why not
            elsewhere = _most_items_named(text, [o for o in known if o not in fitting])
            candidates = by_item or fitting
            named_missing = any(o in d.missing_orders for t in d.task_texts for o in ent.order_ids(t))
            if d.task == "order_status" and not by_item:
                if len(known) == 1:
                    d.order_id = known[0]["order_id"]
                else:
                    shown = named_status or known  # "where are my pending orders?": those
                    d.asked = "order"
                    d.listed_orders = [o["order_id"] for o in shown]
                    return reply(say.orders_overview(shown))
            elif named_missing:
                d.asked = "order"  # they named an order we could not find: never guess another one
                d.listed_orders = [o["order_id"] for o in candidates or known]
                return reply(say.ask_order(candidates or known, ORDER_PURPOSE[d.task]))
            elif not by_item and len(elsewhere) == 1:
                d.order_id = elsewhere[0]["order_id"]  # wrong status: said below, never another order
            elif not fitting and len(known) == 1:
                d.order_id = known[0]["order_id"]  # the only order cannot be acted on: said below, and why
            elif not fitting and known and wanted and d.task in say.ONLY_FOR:
                text = say.no_order_fits(known, d.task, wanted)
                d.finish()  # "cancel the pending one" with none pending: say so, do not offer the others
                return reply(text)
            elif len(candidates) == 1:
                d.order_id = candidates[0]["order_id"]
            elif (
                d.task in _WHOLE_ORDER_TASKS
                and fitting
                and any(_ALL_ORDERS.search(t) for t in [*d.task_texts, d.last_text])
            ):
                # "change the address on all my pending orders", or "all of them" to the list: one after
                # the other, each confirmed on its own
                d.order_id = fitting[0]["order_id"]
                d.order_queue = [o["order_id"] for o in fitting[1:]]
                d.preface = f"{d.preface}\n{say.one_at_a_time([o['order_id'] for o in fitting])}".strip()
            else:
                d.asked = "order"
                d.listed_orders = [o["order_id"] for o in candidates or known]
                return reply(say.ask_order(candidates or known, ORDER_PURPOSE[d.task]))
        oid = d.order_id
        if oid not in d.orders:
            return call("get_order_details", {"order_id": oid})
        order = d.orders[oid]
        task = d.task
        if task == "order_status" and d.task_texts and _changes_an_item(order, d.task_texts[-1]):
            # "aarav@… here. For order #W1 swap the gaming mouse to wireless": read as details only (an
            # email and an order id), it showed the order; it asks to change an item of it
            d.task = task = "exchange_items"  # the order's status decides exchange vs modify
            self._take_details(d, d.task_texts.pop())  # its payment ("pay with gift card"), too
        if task == "order_status":
            last = d.task_texts[-1] if d.task_texts else ""
            priced = cm.match_items(last, order["items"])
            if priced and _asks_item_price(last, d.item_price_answered):
                d.finish()
                d.item_price_answered = True
                return reply(say.item_prices(order, [order["items"][n] for n in priced]))
            asked = [a for a in map(_order_details_asked, d.task_texts) if a]
            answer = say.order_details(order, asked[-1], d.user) if asked else None
            missing = order["status"] == "delivered" and any(_NOT_ARRIVED.search(t) for t in d.task_texts)
            broken = (
                self._items(d, order)
                if order["status"] == "delivered" and any(_DEFECT.search(t) for t in d.task_texts)
                else []
            )
            if (
                not broken
                and not answer
                and not missing
                and order["status"] == "delivered"
                and len(order["items"]) > 1
                and any(_DEFECT.search(t) for t in d.task_texts)
                and d.asked != "items"
            ):
                # "one of the things I ordered arrived broken": which one, before the remedies
                d.asked = "items"
                return reply(say.which_item_broke(order))
            if broken and not answer and not missing:
                # "my kettle broke after two days": what we can do about it, not the order again
                d.finish()
                d.focus_products = [*d.focus_products[-2:], *dict.fromkeys(i["name"] for i in broken)]
                return reply(say.defective_items(order, broken))
            d.finish()
            if missing:
                _open_person_offer(d)  # "it never arrived" but delivered: a person checks with the carrier
                return reply(f"{answer or say.order_status(order)}\n{say.delivered_not_received()}")
            return reply(answer or say.order_status(order))
        status = order["status"]
        if task == "exchange_items" and status == "pending":
            d.task = task = "modify_items"
        elif task == "modify_items" and status == "delivered":
            d.task = task = "exchange_items"
        if status not in (ORDER_STATUS_FOR[task] or ()):
            removing = status == "pending" and any(_REMOVE_ITEM.search(t) for t in d.task_texts)
            d.finish()
            refused = say.cannot_remove_item(order) if removing else say.wrong_status(order, task)
            if task == "change_order_address":
                d.address_locked = str(order["order_id"])  # an address given next is not for the account
            if d.task is not None and _TASK_WORDS.get(d.task, _NEVER).search(d.last_text):
                # "cancel my pending order and change my address to …": the other request in the same
                # message goes on now, with what the message said for it, after saying why not
                d.preface = f"{d.preface}\n{refused}".strip()
                d.replay = d.replay or d.last_text
                return self._decide(d)
            return reply(refused)
        if task == "cancel_order":
            if d.reason is None and d.asked != "reason":
                to_cancel = self._items(d, order) if len({i["item_id"] for i in order["items"]}) > 1 else []
                if (
                    to_cancel
                    and len(to_cancel) < len(order["items"])
                    and not ent.mentions_all(" ".join(d.task_texts))
                ):
                    d.preface = f"{d.preface}\n{say.cancels_whole_order(order, to_cancel)}".strip()
            if d.reason is None:
                d.asked = "reason"
                return reply(say.ask_reason())
            return call("cancel_pending_order", {"order_id": oid, "reason": d.reason})
        if task == "change_order_address":
            address = dict(d.user["address"]) if d.use_default_address else d.address
            if address is None:
                d.asked = "address"
                return reply(say.ask_address(f"for order {oid}"))
            if _same_address(address, order.get("address") or {}):
                d.finish()  # nothing to change: say so instead of asking to confirm a no-op
                if d.task == "change_order_address":  # the next order of "all my orders" goes on
                    d.preface = f"{d.preface}\n{say.already_ships_there(order, last=False)}".strip()
                    return self._order_task(d)
                return reply(say.already_ships_there(order))
            return call("modify_pending_order_address", {"order_id": oid, **address})
        if task == "change_order_payment":
            current = order["payment_history"][0]["payment_method_id"] if order["payment_history"] else None
            others = [pm for pid, pm in d.user["payment_methods"].items() if pid != current]
            if not others:
                # only one method saved, the one the order was paid with: nothing to switch to (it asked
                # "which payment method …?" over an empty list)
                d.finish()
                paid_with = d.user["payment_methods"].get(current or "")
                return reply(say.no_other_payment(order, paid_with))
            pm_id = self._payment(d, order, others)
            if pm_id is None:
                question = _which_payment(d, others, f"pay for order {oid} instead")
                d.asked = "payment"
                return reply(question)
            return call("modify_pending_order_payment", {"order_id": oid, "payment_method_id": pm_id})
        # items: return, exchange, modify
        if (
            len(order["items"]) == 1
            and d.product_types is None
            and "list_all_product_types" in self.tool_names
        ):
            return call("list_all_product_types", {})  # to tell "my kettle" from the order's one item
        items = self._items(d, order)
        if not items:
            if d.product_types is None and "list_all_product_types" in self.tool_names:
                return call("list_all_product_types", {})  # to tell "my headphones" (not in it) apart
            d.asked = "items"
            verb = {"return_items": "return", "exchange_items": "exchange", "modify_items": "change"}[task]
            have = {i["name"] for i in order["items"]}
            named = [
                n for n in cm.match_products(" ".join(d.task_texts), d.product_types or {}) if n not in have
            ]
            if named:  # "return my headphones" and the order has none
                return reply(f"{say.not_in_order(named, order)}\n{say.ask_items(order, verb)}")
            return reply(say.ask_items(order, verb))
        if task == "return_items":
            methods = list(d.user["payment_methods"].values())
            original = order["payment_history"][0]["payment_method_id"] if order["payment_history"] else None
            allowed = [pm for pm in methods if pm["id"] == original or pm["source"] == "gift_card"]
            pm_id = self._payment(d, order, allowed)
            if pm_id is None and len(allowed) == 1:
                pm_id = allowed[0]["id"]
                if d.payment_text and ent.payment_hint(d.payment_text):  # they named one they don't have
                    d.preface = f"{d.preface}\n{say.refund_method_unavailable(allowed[0])}".strip()
            if pm_id is None:
                question = _which_payment(d, allowed, "receive the refund (the original one, or a gift card)")
                d.asked = "payment"
                return reply(question)
            return call(
                "return_delivered_order_items",
                {"order_id": oid, "item_ids": [i["item_id"] for i in items], "payment_method_id": pm_id},
            )
        new_ids = []
        for item in items:
            product = d.products.get(item["product_id"])
            if product is None:
                return call("get_product_details", {"product_id": item["product_id"]})
            choices = d.variant_choices.get(item["item_id"], [])
            if choices and d.asked == "options":
                # we listed variants to pick from: "the second one" picks it; a plain "yes" picks none
                picked_choice = _ordinal_items(d.last_text, len(choices))
                if len(picked_choice) == 1:
                    del d.variant_choices[item["item_id"]]
                    new_ids.append(choices[picked_choice[0]])
                    continue
                if _starts_with_yes(d.last_text) and not cm.option_mentions(
                    d.last_text, product["variants"].values()
                ):
                    return reply(say.which_variant(item, product, choices))
            mentions = _mentions_for(item, product, _segments_for(item, items, d.task_texts))
            if not mentions and task == "exchange_items" and any(_SAME_ONE.search(t) for t in d.task_texts):
                # "it broke, exchange it for the same one": a new one of the very same option, if in stock
                if product["variants"].get(item["item_id"], {}).get("available"):
                    new_ids.append(item["item_id"])
                    continue
                d.asked = "options"
                return reply(f"{say.same_one_unavailable(item)} {say.ask_options(item, product)}")
            if not mentions:
                owned = []
                if d.asked == "options" and d.task_texts:  # they answered our question with what they have
                    said = cm.option_mentions(d.task_texts[-1], product["variants"].values())
                    owned = [m for m in said if all(str(item["options"].get(k)) == m.value for k in m.keys)]
                d.asked = "options"
                return reply(say.ask_options(item, product, already=owned))
            choice = cm.choose_variant(item["options"], item["item_id"], product["variants"], mentions)
            if choice.item_id is None:
                d.asked = "options"
                if choice.candidates:
                    d.variant_choices[item["item_id"]] = list(choice.candidates[: say.VARIANTS_LISTED])
                    return reply(say.ask_variant_pick(item, product, choice.candidates))
                if choice.unavailable:
                    if (
                        "recommend_products" in self.tool_names
                        and choice.unavailable_ids
                        and d.preface == ""
                        and not d.frustrated
                    ):
                        d.preface = say.variant_unavailable(item, offer=False)
                        return call(
                            "recommend_products",
                            {
                                "kind": "alternatives",
                                "n": 3,
                                "item_id": choice.unavailable_ids[0],
                                "product_id": item["product_id"],
                            },
                        )
                    return reply(say.variant_unavailable(item))
                return reply(say.no_such_variant(item, product))
            asked_keys = {k for m in mentions for k in m.keys}
            variant = product["variants"][choice.item_id]
            also = [
                k
                for k, v in item["options"].items()
                if k not in asked_keys and str(variant["options"].get(k)) != str(v)
            ]
            if also and choice.item_id in choices:
                also = []  # picked from the list we showed, every option in view ("the white one")
            if also and d.accepted_variants.get(item["item_id"]) != choice.item_id:
                # the exact combination is not sold and the nearest one changes something they did not ask
                # to change: ask before it goes into a confirmation (a modification can be made only once)
                offered = d.offered_variants.get(item["item_id"])
                if d.asked == "options" and offered == choice.item_id and _starts_with_yes(d.last_text):
                    d.accepted_variants[item["item_id"]] = choice.item_id
                else:
                    d.asked = "options"
                    d.offered_variants[item["item_id"]] = choice.item_id
                    return reply(say.nearest_variant(item, variant, also))
            new_ids.append(choice.item_id)
        methods = list(d.user["payment_methods"].values())
        new_prices = [
            d.products[item["product_id"]]["variants"][new_id]["price"]
            for item, new_id in zip(items, new_ids, strict=True)
        ]
        to_pay = round(sum(new_prices) - sum(float(item["price"]) for item in items), 2)
        # a gift card that cannot cover the difference is no choice at all: the store refuses it, and the
        # bot used to pass that on as "I couldn't do that" and drop the options the customer had picked
        usable = [pm for pm in methods if not _short_gift_card(pm, to_pay)]
        if not usable:
            d.asked = "options"
            return reply(say.difference_exceeds_balance(to_pay, methods))
        pm_id = self._payment(d, order, methods)
        short = next((pm for pm in methods if pm["id"] == pm_id and _short_gift_card(pm, to_pay)), None)
        if short is not None:
            pm_id = None
            d.preface = f"{d.preface}\n{say.gift_card_short(to_pay, short)}".strip()
            d.payment_text = None
        if pm_id is None and len(methods) == 1:
            pm_id = methods[0]["id"]
        if pm_id is None:
            question = _which_payment(d, usable, "pay or receive the price difference")
            first_time, d.asked = d.asked != "payment", "payment"
            chosen = []  # what each item becomes, said the first time the price difference is asked about
            for item, new_id in zip(items, new_ids, strict=True) if first_time else ():
                variant = d.products[item["product_id"]]["variants"][new_id]
                chosen.append(say.new_variant(item, variant))
            return reply("\n".join([*chosen, question]))
        tool = "exchange_delivered_order_items" if task == "exchange_items" else "modify_pending_order_items"
        return call(
            tool,
            {
                "order_id": oid,
                "item_ids": [i["item_id"] for i in items],
                "new_item_ids": new_ids,
                "payment_method_id": pm_id,
            },
        )

    def _items(self, d: Dialog, order: dict[str, Any]) -> list[dict[str, Any]]:
        """The order's items the customer wants to act on, from everything they said for this task.
        Items named in a clause that keeps them ('the lamp is fine', 'keeping the tablet') are left out."""
        text = " ".join(d.task_texts)
        if ent.mentions_all(text):
            return list(order["items"])
        picked: list[int] = []
        kept: set[int] = set()
        for t in d.task_texts:
            clauses = [(c, cm.match_items(c, order["items"])) for c in _ITEM_CLAUSES.split(t)]
            if any(hits and not _BACKSTORY.match(c) for c, hits in clauses):
                # "I got my laptop and phone last week but the phone is the wrong colour": the phone
                clauses = [(c, hits) for c, hits in clauses if not _BACKSTORY.match(c)]
            for clause, hits in clauses:
                if _KEEP.search(clause):
                    kept.update(hits)
                    continue
                for n in hits:
                    if n not in picked:
                        picked.append(n)
        picked = [n for n in picked if n not in kept]
        if (
            len(picked) > 1
            and _ONE_OF.search(text)
            and len({order["items"][n]["item_id"] for n in picked}) == 1
        ):
            picked = picked[:1]  # "I bought two identical kettles, can I send one of them back?"
        if not picked and d.task_texts:  # "the first one", "the last two"
            picked = _ordinal_items(d.task_texts[-1], len(order["items"]))
        if not picked and len(order["items"]) == 1:
            only = order["items"][0]["name"]
            if any(n != only for n in cm.match_products(text, d.product_types or {})):
                return []  # "exchange the kettle" and the one item is a watch: not the watch
            return list(order["items"])
        if not picked and d.focus_products:  # "switch it to the silver one" after asking about the lamp
            picked = [n for n, i in enumerate(order["items"]) if i["name"] in d.focus_products[-1:]]
        return [order["items"][n] for n in picked]

    def _payment(self, d: Dialog, order: dict[str, Any], allowed: list[dict[str, Any]]) -> str | None:
        if not d.payment_text:
            return None
        hint = ent.payment_hint(d.payment_text)
        if hint is None:
            return None
        ids = {pm["id"] for pm in allowed}
        if hint.explicit_id:
            return hint.explicit_id if hint.explicit_id in ids else None
        if hint.original and order.get("payment_history"):
            original = order["payment_history"][0]["payment_method_id"]
            if original in ids and hint.source in (None, _source(original)):
                return str(original)
        fits = _fitting_methods(hint, allowed)
        return str(fits[0]["id"]) if len(fits) == 1 else None

    def _user_address(self, d: Dialog) -> Step:
        assert d.user is not None
        if d.address is None:
            d.asked = "address"
            return reply(say.ask_address("for your account"))
        return call("modify_user_address", {"user_id": d.user["user_id"], **d.address})

    def _product_info(self, d: Dialog) -> Step:
        if d.product_types is None:
            return call("list_all_product_types", {})
        text = " ".join(d.task_texts[-2:])
        names = cm.match_products(text, d.product_types)
        last = d.task_texts[-1] if d.task_texts else ""
        if (
            not names
            and d.focus_products
            and (
                _PRONOUN.search(last)
                or _price_ask(last) is not None
                or self._names_options_of(d, d.focus_products[-1], last)
                or (len(last.split()) <= 3 and _ASKS_PRICE.search(last) and not _FIRST_PERSON.search(last))
                or (len(last.split()) <= 8 and self._option_keys_asked(d, d.focus_products[-1], last))
                or (len(last.split()) <= 6 and self._option_word_missing(d, d.focus_products[-1], last))
            )
        ):
            # "is it available in 16GB?", "are the waterproof ones in stock in size 10?", "how much?" after
            # asking about a product: that product, with the options asked about then
            names = [d.focus_products[-1]]
            follows_up = True
        else:
            follows_up = False
        if not names and d.upset_now:
            d.finish()  # a complaint the classifier took for a product question: no catalogue listing
            return self._complaint(d)
        if not names and d.order_id in d.orders and d.user is not None:
            d.start("order_status")  # "how much did I pay?" about the order we just showed
            d.task_texts.append(d.last_text)
            return self._order_task(d)
        if not names and "search_knowledge" in self.tool_names and _QUESTION.search(text):
            # No product named: "do you sell my data?" is a question for the documents; the catalogue
            # is listed only if they have no sure answer (the documents hold no product list).
            d.kb_first = "product_info"
            return call("search_knowledge", {"query": d.task_texts[-1], "k": 3})
        if not names:
            d.finish()
            return reply(say.product_unknown(d.product_types))
        pid = d.product_types[names[0]]
        d.focus_products = [*d.focus_products[-2:], names[0]]
        product = d.products.get(pid)
        if product is None:
            return call("get_product_details", {"product_id": pid})
        mentions = cm.option_mentions(last, product["variants"].values())
        wanted = {m.keys[0]: m.value for m in mentions}
        if follows_up and d.focus_options.get("product") == names[0]:
            # "in stock in green?" then "and in 6mm?": green and 6mm; "how much is that one?": the same
            wanted = {k: v for k, v in d.focus_options.items() if k != "product"} | wanted
        d.focus_options = {"product": names[0], **wanted}
        d.finish()
        asks: Literal["stock", "price"] | None = (
            "price" if _ASKS_PRICE.search(last) else "stock" if _ASKS_STOCK.search(last) else None
        )
        missing = self._option_word_missing(d, names[0], last) if not mentions else None
        if missing is not None:  # "and colours?" of hiking boots: there are none; say what there is
            return reply(say.no_such_option(product, missing))
        keys = [k for k in self._option_keys_asked(d, names[0], last) if k not in wanted]
        if keys and asks is None and _price_ask(last) is None:  # "what colours?": those, of what fits
            return reply(say.option_values(product, keys, wanted))
        return reply(say.product(product, wanted or None, _price_ask(last), asks))

    @staticmethod
    def _option_word_missing(d: Dialog, name: str, text: str) -> str | None:
        """'And colours?', 'what sizes?' about a product that has no such option (hiking boots have no
        colour, a kettle no size): the word asked, so the answer can say so (it read as a yes, or went
        to the documents)."""
        product = _fetched_product(d, name)
        if product is None:
            return None
        said = set(re.findall(r"[a-z]+", text.lower()))
        keys = " ".join(k for v in product["variants"].values() for k in v["options"])
        for word, forms in _OPTION_WORDS.items():
            if said & forms and word not in keys:
                return word
        return None

    @staticmethod
    def _option_keys_asked(d: Dialog, name: str, text: str) -> list[str]:
        """Options of the product `name` that `text` asks about by name ('what colours?', 'which sizes
        are there?'), its details already fetched."""
        product = _fetched_product(d, name)
        if product is None:
            return []
        said = set(re.findall(r"[a-z]+", text.lower().replace("colour", "color")))
        keys = {k for v in product["variants"].values() for k in v["options"]}
        return sorted(k for k in keys if said & {(w := k.split()[-1]), f"{w}s", f"{w}es"})

    @staticmethod
    def _names_options_of(d: Dialog, name: str, text: str) -> bool:
        """Does `text` name option values of the product `name` (its details already fetched)?"""
        product = _fetched_product(d, name)
        return product is not None and bool(cm.option_mentions(text, product["variants"].values()))

    def _complaint(self, d: Dialog) -> Step:
        """An upset message with nothing to act on: acknowledge it and offer a person (a yes hands over)."""
        _open_person_offer(d)
        return reply(say.complaint())

    def _may_suggest(self, d: Dialog) -> bool:
        """Offer suggestions unasked only once per session, never to an upset customer, never after a
        cancellation or a return (the customer is unhappy with something), and only if we can."""
        return (
            "recommend_products" in self.tool_names
            and d.recommended == 0
            and not d.frustrated
            and not d.handed_off
        )

    def _recommend(self, d: Dialog) -> Step:
        """The customer asked for suggestions: similar to a product they name, else personal."""
        if d.product_types is None:
            return call("list_all_product_types", {})
        text = " ".join(d.task_texts[-1:])
        cap = ent.price_cap(text)
        again, d.refine_suggestions = d.refine_suggestions, None
        if cap is None and again is not None and d.cheapest_shown is not None and _CHEAPER.search(text):
            cap = float(math.floor(d.cheapest_shown - 0.01))  # "something cheaper?" than $180.02: under $180
        budget: dict[str, Any] = {} if cap is None else {"max_price": cap}
        if again is not None:  # "anything cheaper, under $150?": what was just suggested, within it
            return call("recommend_products", {**again, "n": 3, **budget})
        names = cm.match_products(text, d.product_types)
        if names and cap is not None and not _ASKS_SUGGESTION.search(text):
            # "any hiking boots under $250?" (the product list was not loaded when it was heard): the
            # product's own options within that price
            d.start("product_info")
            d.task_texts.append(text)
            return self._product_info(d)
        if names and (_SIMILAR.search(text) or _GOES_WELL_WITH.search(text)):
            # "something similar to the yoga mat", "what goes well with hiking boots?"
            return call(
                "recommend_products",
                {"kind": "similar", "product_id": d.product_types[names[0]], "n": 3, **budget},
            )
        if not names and d.focus_products and _GOES_WITH.search(text):
            # "what else would you recommend for hiking?" right after the hiking boots: things bought
            # with them, not the customer's general picks
            pid = d.product_types.get(d.focus_products[-1])
            if pid is not None:
                return call("recommend_products", {"kind": "similar", "product_id": pid, "n": 3, **budget})
        return call("recommend_products", {"kind": "personal", "n": 3, **budget})

    def _plugin(self, task: str) -> ToolSpec | None:
        if not task.startswith("plugin:"):
            return None
        name = task.removeprefix("plugin:")
        return next((p for p in self.plugins if p.name == name), None)

    def _plugin_flow(self, d: Dialog, spec: ToolSpec) -> Step:
        args: dict[str, Any] = {}
        for param, doc in spec.params.items():
            if param in d.plugin_args:
                args[param] = d.plugin_args[param]
            elif param == "order_id" and d.order_id:
                args[param] = d.order_id
            else:
                d.asked = f"param:{param}"
                return reply(
                    f"Could you tell me {doc.rstrip('.').lower() if doc else param.replace('_', ' ')}?"
                )
        return call(spec.name, args)


_WRITES = {
    "cancel_pending_order",
    "exchange_delivered_order_items",
    "modify_pending_order_address",
    "modify_pending_order_items",
    "modify_pending_order_payment",
    "modify_user_address",
    "return_delivered_order_items",
}


def _restore(messages: list[BaseMessage]) -> tuple[Dialog, list[BaseMessage]]:
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        if isinstance(m, AIMessage) and STATE_KEY in m.additional_kwargs:
            return Dialog.from_json(m.additional_kwargs[STATE_KEY]), messages[i + 1 :]
    return Dialog(), [m for m in messages if isinstance(m, HumanMessage | ToolMessage)]


def _strip_storage_cards(text: str) -> str:
    """'SD card' and 'CF card' are camera options, not payment cards."""
    import re

    return re.sub(r"\b(sd|cf)\s+cards?\b", " ", text, flags=re.I)


def _source(pm_id: str) -> str:
    return (
        "gift_card"
        if pm_id.startswith("gift_card")
        else "paypal"
        if pm_id.startswith("paypal")
        else "credit_card"
    )


_SENTENCES = re.compile(r"(?<=[.;!?])\s+")


def _parts_by_order(text: str, order_ids: list[str]) -> dict[str, str]:
    """Each order's part of a message: the sentences from its first mention up to the next order's (what
    comes before the first mention goes with the first order)."""
    parts: dict[str, list[str]] = {o: [] for o in order_ids}
    current = order_ids[0]
    for sentence in _SENTENCES.split(text):
        named = [o for o in ent.order_ids(sentence) if o in parts]
        if named:
            current = named[0]
        parts[current].append(sentence)
    return {o: " ".join(p) for o, p in parts.items() if p}


# "What can I do?": advice the shop's documents may give before any account task starts.
_ADVICE = re.compile(r"\b(what (can|should|do) i do|what are my options|what happens if|what now)\b", re.I)
_HOW_TO = re.compile(
    r"\b(how (do|can|could|would|should) (i|we|you)|how does (it|one)|what('s| is) the (process|procedure|way))\b"
    r"|\bhow to\b",
    re.I,
)
"""A question about how a task works ("how do I return an item?"): the documents answer it first (with an
offer to do it) when they match strongly and the message carries no details of its own."""
KB_FIRST_SCORE = 0.4
"""Knowledge-base score from which an advice question is answered from the documents (fused scores; the
confident threshold is 0.29): a clear match only, else the account task the message also asks for."""
WEAK_TASK = 0.5
"""Intent confidence under which a question is tried on the knowledge base before its guessed task."""

# Writes whose names sound like questions about an order: its address, its payment, its items.
_DETAIL_WRITES = {"change_order_address", "change_order_payment", "modify_items", "change_user_address"}
_WH_QUESTION = re.compile(r"^\s*(what|which|where|when|how|who|whose|is|are|was|were|does|did)\b", re.I)
_WANTS_CHANGE = re.compile(
    r"\b(change|update|switch|modify|edit|correct|fix|new|different|another|instead|wrong|cancel|return|"
    r"exchange|swap|replace|can i|could i|may i|i want|i'?d like|i need|please|let me)\b",
    re.I,
)


def _asks_about_a_detail(text: str) -> bool:
    """A plain question about an order ('what card did I use for #W1?', 'how many items are in my order?'),
    not a request to change it."""
    return bool(_WH_QUESTION.search(text)) and not _WANTS_CHANGE.search(text)


# The things asked about an order ("what was the total and which card did I use?"): answered alone, not
# with the whole order again.
_ORDER_DETAILS = {
    "status": re.compile(
        r"\bstatus\b|\bwhere('?s| is) (my|the|this|that) (order|package|parcel|stuff|delivery)\b", re.I
    ),
    "payment": re.compile(
        r"\b(which|what) (credit )?(card|payment( method)?)\b|\b(pay|paid) (with|by|using)\b|\bcard did i use\b",
        re.I,
    ),
    "total": re.compile(r"\bhow much\b|\btotal\b|\bwhat did (it|that|the order) cost\b", re.I),
    "tracking": re.compile(r"\btracking\b", re.I),
    "arrival": re.compile(
        r"\b(when|what day|how (long|soon))\b.*\b(arrive|get here|be here|deliver(ed|y)?|come|receive|get it|"
        r"ship(ped)?)\b|\beta\b",
        re.I,
    ),
    "address": re.compile(
        r"\baddress\b|\bwhere\b.*\b(ship(ped|ping)?|sen[dt]|deliver(ed|ing)?|going)\b", re.I
    ),
    "placed": re.compile(
        r"\bwhen did i (place|make|put in|submit|buy|order|purchase)\b|\b(order|purchase) date\b"
        r"|\bwhat (day|date) did i (order|buy|place|purchase|make)\b"
        r"|\bwhen was (it|this|that|the order|my order) (placed|made|ordered|bought)\b",
        re.I,
    ),
}
_CHANGE_WORDS = re.compile(
    r"\b(change|update|switch|modify|edit|correct|fix|cancel|return|exchange|swap|replace|instead|different)\b",
    re.I,
)


_RECENCY = re.compile(
    r"\b(most recent|latest|newest|oldest|earliest|last (one |order )?(i|we) (placed|made|ordered|bought)|"
    r"first (one |order )?(i|we) (placed|made|ordered))\b",
    re.I,
)
"""'My most recent order': the shop's orders have no dates to tell it by."""
_SPENT_IN_ALL = re.compile(
    r"\bhow much\b.*\b(spent|spend|paid)\b.*\b(in total|total|altogether|overall|so far|all (of )?my orders|"
    r"with you)\b|\b(total|altogether)\b.*\b(spent|spend)\b",
    re.I,
)
"""'How much did I spend in total on all my orders?': the sum over the account's orders."""
# What is asked about the account ("what's my gift card balance?", "which cards do I have saved?"): answered
# alone; the whole account (address, payment methods, every order) only when nothing narrower is asked.
_ACCOUNT_DETAILS = {
    "payment": re.compile(
        r"\bpayment (methods?|options)\b|\b(cards|payment)\b.*\b(saved|on file|have|stored)\b|"
        r"\b(saved|stored) (cards|payment)\b|\bhow (can|could) i pay\b",
        re.I,
    ),
    "balance": re.compile(
        r"\bbalance\b|\bgift ?card\b.*\b(left|how much)\b|\bhow much\b.*\bgift ?card\b", re.I
    ),
    "address": re.compile(r"\baddress\b", re.I),
}


def _account_details_asked(text: str) -> list[str]:
    """'What's my gift card balance?' → ['balance']: one or two things asked about the account; none
    for 'show me my account' or a message that also asks about orders."""
    if not _QUESTION.search(text) or _CHANGE_WORDS.search(text) or re.search(r"\borders?\b", text, re.I):
        return []
    return _details_named(_ACCOUNT_DETAILS, text, most=2)


def _changes_an_item(order: dict[str, Any], text: str) -> bool:
    """'Swap the gaming mouse to wireless' about an order in hand: a change verb and one of its items named,
    not a question about the order ('did the mouse ship?')."""
    if order.get("status") not in ("pending", "delivered") or not _CHANGE_ITEM.search(text):
        return False
    return any(cm.product_score(item["name"], text) >= 2.0 for item in order.get("items", []))


def _order_details_asked(text: str) -> list[str]:
    """'What card did I pay with?' → ['payment']; 'the total and which card?' → ['payment', 'total']: a
    question about one to three details of an order (none for 'where is my order?', which asks for all of
    it, or for a request to change something)."""
    if not _QUESTION.search(text) or _CHANGE_WORDS.search(text):
        return []
    details = _details_named(_ORDER_DETAILS, text, most=3)
    # the status alone ("what's the status of #W1?") is the whole order; with another detail ("…and where
    # is it being shipped?") it is one line of the answer (it was dropped, and only the address said)
    return [] if details == ["status"] else details


def _details_named(patterns: dict[str, re.Pattern[str]], text: str, *, most: int) -> list[str]:
    """The details whose pattern `text` matches, in the order asked; none past `most` (then the
    question is about the whole thing)."""
    found = {name: m.start() for name, pattern in patterns.items() if (m := pattern.search(text))}
    return sorted(found, key=found.__getitem__) if len(found) <= most else []


def _abandons(text: str) -> bool:
    """'Never mind', 'forget it': the customer drops the task. Not 'scratch that, keep it black but make it
    the 1000ml one', where 'scratch that' corrects a detail and the rest of the message says how."""
    if not _ABANDON.search(text) or _has_details(text):
        return False
    rest = _ABANDON.sub(" ", text)
    return len(rest.split()) <= 5 and not _GOES_ON.search(rest)


_GOES_ON = re.compile(r"\b(but|instead|rather|keep|make it|like|want|change|switch|size|colou?r)\b", re.I)


def _has_details(text: str) -> bool:
    return bool(ent.order_ids(text) or ent.payment_hint(text) or ent.address(text) or ent.cancel_reason(text))


def _answers(
    asked: str, text: str, order: dict[str, Any] | None = None, *, intent: str | None = None
) -> bool:
    """Does the message answer what we asked (so a stray intent guess does not derail the task)?

    For "which items?" or "which options?" a short reply counts unless it is a change of mind, or a
    question about something other than the products, that names none of the order's items: "which orders
    do I have?" or "never mind, where is my order?" moves on; "what sizes are there?" stays (the options
    are listed again)."""
    if asked == "auth":
        return bool(ent.emails(text) or ent.zip_codes(text))
    if asked == "order":  # an order id, or one of the list we showed: "the first one", "the pending one"
        return bool(ent.order_ids(text) or _ORDER_ORDINAL.search(text) or _STATUS_ORDER.search(text))
    if asked == "reason":
        return ent.cancel_reason(text) is not None
    if asked == "payment":
        return ent.payment_hint(text) is not None
    if asked == "address":
        return ent.address(text) is not None or ent.says_default_address(text)
    if asked not in ("items", "options"):
        return False
    if order is not None and (ent.mentions_all(text) or cm.match_items(text, order["items"])):
        return True
    about_products = intent in ("product_info", "policy_question")
    return (
        len(text.split()) <= 12
        and (about_products or not _QUESTION.search(text))
        and not _CHANGE_OF_MIND.search(text)
    )


def _mentions_for(item: dict[str, Any], product: dict[str, Any], texts: list[str]) -> list[cm.OptionMention]:
    """Options the customer asked for, latest message winning per option, values they already have
    dropped when they also named another (\"my black shoes, in white\" means white)."""
    by_key: dict[tuple[str, ...], list[cm.OptionMention]] = {}
    for t in texts:
        found = cm.option_mentions(t, product["variants"].values())
        for key, value in item["options"].items():  # "in black, same storage": the storage stays
            if _keeps_option(key).search(t) and not any(key in m.keys for m in found):
                found.append(cm.OptionMention((key,), str(value)))
        step = _size_step(t, item, product)
        if step is not None and not any(step.keys == m.keys for m in found):
            found.append(step)  # "a bigger one": the next size up, as if named
        fresh: dict[tuple[str, ...], list[cm.OptionMention]] = {}
        for m in found:
            fresh.setdefault(m.keys, []).append(m)
        by_key.update(fresh)
    chosen: list[cm.OptionMention] = []
    for keys, ms in by_key.items():
        changing = [m for m in ms if any(str(item["options"].get(k)) != m.value for k in keys)]
        chosen.extend(changing or ms[:1])
    if all(all(str(item["options"].get(k)) == m.value for k in m.keys) for m in chosen):
        return []  # only what they already have: no wish expressed yet
    return chosen


@lru_cache(maxsize=256)
def _keeps_option(key: str) -> re.Pattern[str]:
    """'same storage', 'keep the size', 'the color stays the same': this option must not change."""
    k = re.escape(key).replace(r"\ ", r"\s+")
    return re.compile(
        rf"\b(same|keep(ing)?( the| my)?|current|original)\s+{k}\b|\b{k}\s+(stays|should stay|the same|unchanged)\b",
        re.I,
    )


_SIZE_WORDS = {  # comparative → (direction, the option keys it speaks of, in order of preference)
    re.compile(r"\b(bigger|larger|a size up|one size up|size up)\b", re.I): (
        1,
        ("size", "frame size", "kit size"),
    ),
    re.compile(r"\b(smaller|a size down|one size down|size down)\b", re.I): (
        -1,
        ("size", "frame size", "kit size"),
    ),
    re.compile(r"\blonger\b", re.I): (1, ("length",)),
    re.compile(r"\bshorter\b", re.I): (-1, ("length",)),
    re.compile(r"\btaller\b", re.I): (1, ("height",)),
}
_SIZE_ORDER = ["xxs", "xs", "s", "small", "m", "medium", "l", "large", "xl", "xxl", "xxxl"]


def _size_rank(value: str) -> float | None:
    v = value.strip().lower()
    if v in _SIZE_ORDER:
        return float(_SIZE_ORDER.index(v))
    number = re.match(r"\d+(\.\d+)?", v)
    return float(number.group()) if number else None


def _size_step(text: str, item: dict[str, Any], product: dict[str, Any]) -> cm.OptionMention | None:
    """'A bigger one' → the item's next size up among the product's sizes (None when it has no size
    option, or is already the largest)."""
    for pattern, (direction, keys) in _SIZE_WORDS.items():
        if not pattern.search(text):
            continue
        key = next((k for k in keys if k in item["options"]), None)
        if key is None:
            return None
        values = {str(v["options"][key]) for v in product["variants"].values() if key in v["options"]}
        ranked = sorted((r, v) for v in values if (r := _size_rank(v)) is not None)
        current = _size_rank(str(item["options"][key]))
        if current is None or len(ranked) < len(values):
            return None  # sizes we cannot order
        beyond = [v for r, v in ranked if (r - current) * direction > 0]
        if not beyond:
            return None
        return cm.OptionMention((key,), beyond[0] if direction > 0 else beyond[-1])
    return None


_AMOUNT = r"\$?\s?(\d[\d,]*(?:\.\d+)?)\s*(?:dollars|usd|bucks)?"
_BELOW = re.compile(
    rf"\b(?:under|below|less than|cheaper than|no more than|up to|max(?:imum)?|within)\s+{_AMOUNT}", re.I
)
_ABOVE = re.compile(rf"\b(?:over|above|more than)\s+{_AMOUNT}", re.I)
_CHEAPEST = re.compile(r"\b(cheapest|least expensive|lowest price|most affordable|cheaper one)\b", re.I)
_PRICIEST = re.compile(r"\b(most expensive|priciest|top of the range|best one money can buy)\b", re.I)


def _price_ask(text: str) -> say.PriceAsk | None:
    """'Under $200', 'over 300 dollars', 'the cheapest': a price condition on a product question."""

    def amount(m: re.Match[str] | None) -> float | None:
        return float(m.group(1).replace(",", "")) if m else None

    below, above = amount(_BELOW.search(text)), amount(_ABOVE.search(text))
    pick = "cheapest" if _CHEAPEST.search(text) else "priciest" if _PRICIEST.search(text) else None
    if below is None and above is None and pick is None:
        return None
    return say.PriceAsk(below=below, above=above, pick=pick)


def _segments_for(item: dict[str, Any], items: list[dict[str, Any]], texts: list[str]) -> list[str]:
    """The parts of each message that speak about `item` when a message names several items:
    'the mouse in white, and the bookshelf in 5 ft' gives the mouse 'in white' only."""
    if len(items) < 2:
        return texts
    out = []
    for text in texts:
        clauses = [c for c in re.split(r",|;|\.|\band\b|\bplus\b", text) if c.strip()]
        owner: str | None = None
        mine = []
        for clause in clauses:
            hits = cm.match_items(clause, items)
            if len(hits) == 1:
                owner = items[hits[0]]["item_id"]
            elif len(hits) > 1:
                owner = None
            if owner is None or owner == item["item_id"]:
                mine.append(clause)
        out.append(" ".join(mine))
    return out


def _same_address(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("address1", "address2", "city", "state", "zip")
    return all(str(a.get(k) or "").strip().lower() == str(b.get(k) or "").strip().lower() for k in keys)


def _amend_address(address: dict[str, str], text: str) -> dict[str, str]:
    """'it's 90026, not 90062', 'Apt 7, not 17': corrections to the address given just before."""
    kept = ent.drop_rejected(text)
    amended = dict(address)
    zips = ent.zip_codes(kept)
    if zips:
        amended["zip"] = zips[0]
    unit = re.search(r"\b(apt|apartment|suite|ste|unit)\.?\s*#?\s*([\w-]+)", kept, re.I)
    if unit:
        word = {"apartment": "Apt", "ste": "Suite"}.get(unit.group(1).lower(), unit.group(1).title())
        amended["address2"] = f"{word} {unit.group(2)}"
    if re.search(r"\bno (apartment|apt|suite|unit)|\bthere'?s no (apartment|apt|suite|unit)", text, re.I):
        amended["address2"] = ""
    return amended


def _fetched_product(d: Dialog, name: str) -> dict[str, Any] | None:
    """The details of the product called `name`, when this conversation has fetched them."""
    return d.products.get((d.product_types or {}).get(name, ""))


def _most_items_named(text: str, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The orders holding the most of the items `text` names: "the laptop and the boots" is the order with
    both, not also another with boots only (it was asked which, from orders holding neither)."""
    counts = [(len(set(cm.match_items(text, o["items"]))), o) for o in orders]
    best = max((n for n, _ in counts), default=0)
    return [o for n, o in counts if n and n == best]


def _which_payment(d: Dialog, methods: list[dict[str, Any]], purpose: str) -> str:
    """Ask which payment method; a bare "yes" to that question gets told to name one (it was asked again
    word for word), and a method named in this message that none of the listed ones fits is said to be
    missing ("the card ending in 5597" when the cards end in 1208 and 6994 got the same list again)."""
    question = say.ask_payment(methods, purpose)
    if d.asked == "payment" and _starts_with_yes(d.last_text) and len(d.last_text.split()) <= 3:
        return f'Please tell me which one, for example "{say.payment_method_name(methods[-1])}". {question}'
    hint = ent.payment_hint(_strip_storage_cards(d.last_text)) if d.last_text else None
    if hint is not None and not hint.original and not _fitting_methods(hint, methods):
        return f"{say.no_such_payment(hint)} {question}"
    return question


def _short_gift_card(pm: dict[str, Any], to_pay: float) -> bool:
    """A gift card whose balance is less than what a change costs (the store refuses to charge it)."""
    return pm.get("source") == "gift_card" and to_pay > 0 and float(pm.get("balance") or 0.0) < to_pay


def _fitting_methods(hint: ent.PaymentHint, methods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The methods a customer's description fits: source, card brand and last four digits, as given."""
    if hint.explicit_id:
        return [pm for pm in methods if pm["id"] == hint.explicit_id]
    return [
        pm
        for pm in methods
        if (hint.source is None or pm["source"] == hint.source)
        and (hint.brand is None or str(pm.get("brand", "")).lower() == hint.brand)
        and (hint.last_four is None or pm.get("last_four") == hint.last_four)
    ]


def _starts_with_yes(text: str) -> bool:
    return bool(re.match(r"\s*(y|yes|yeah|yep|yup|sure|ok|okay|correct|right)\b", text, re.I))


NEGATIVE_TURNS_BEFORE_OFFER = 2
UPSET_SCORE = -0.8
"""Sentiment score (positive minus negative probability) at or below which a reply starts with an apology."""
MISUNDERSTOOD_BEFORE_OFFER = 2


def _offer_person_if_stuck(d: Dialog, step: Step) -> Step:
    """Offer a person, once, when the customer stays upset or the bot keeps failing to understand.

    Sustained negative sentiment (two customer messages in a row) or two 'didn't get that' replies in a row
    are where a bot loses customers; a person can then take over with the whole conversation.
    """
    text = step.text or ""
    if "connect you with a person" in text and not d.handed_off:
        d.person_offer_open = True  # any reply that offers a person: a plain "yes" now hands over
    upset_now, d.upset_now = d.upset_now, False
    if text.startswith("Done"):
        # what they asked for was just done: the mood of the messages before it is settled, not sustained
        # (a "yes" to a confirmation skips the mood reading, so the count would still be theirs)
        d.negative_turns = 0
    # the same question again ("What would you like instead…?" after an answer we could not use) is a
    # miss too: without this a customer could loop on it for ever
    repeated, d.last_reply = text == d.last_reply and d.asked is not None and not d.awaiting_yes, text
    missed = repeated or text.startswith((say.didnt_understand()[:30], say.out_of_scope()[:30]))
    d.misunderstood = d.misunderstood + 1 if missed else 0
    if (
        d.offered_person
        or d.handed_off
        or d.awaiting_yes
        or d.task == "human_agent"
        or "with a person" in text
    ) or (d.negative_turns < NEGATIVE_TURNS_BEFORE_OFFER and d.misunderstood < MISUNDERSTOOD_BEFORE_OFFER):
        return _acknowledged(step) if upset_now and not d.handed_off else step
    upset = d.negative_turns >= NEGATIVE_TURNS_BEFORE_OFFER
    _open_person_offer(d)
    return reply(f"{text}\n\n{say.offer_person(upset=upset)}")


_ORDINALS = {
    "first": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
}
# An ordinal counts only as a pointer into the list: "the first one", "the second and the last one"
# (not "the first time", "my last order").
_ORDINAL = re.compile(
    r"\b(?:the )?(first|1st|second|2nd|third|3rd|fourth|4th|fifth|last)"
    r"(?: (one|item|two|three)\b|(?=\s*(?:$|,|\.|!|\band\b|&)))",
    re.I,
)


def _ordinal_items(text: str, count: int) -> list[int]:
    """Positions in the listed items that 'the first one', 'the second and third', 'the last one' point at."""
    picked: list[int] = []
    for m in _ORDINAL.finditer(text):
        word, tail = m.group(1).lower(), (m.group(2) or "").lower()
        if word == "last":
            n = {"two": 2, "three": 3}.get(tail, 1)
            positions = list(range(max(0, count - n), count))
        elif word == "first" and tail in ("two", "three"):
            positions = list(range(min(count, {"two": 2, "three": 3}[tail])))
        else:
            positions = [_ORDINALS[word]] if _ORDINALS[word] < count else []
        picked += [p for p in positions if p not in picked]
    return picked


# 'The first one', 'the last order': the ordinal words of `_ORDINAL`, pointing into a list of orders.
_ORDER_ORDINAL = re.compile(
    rf"\b(?:the )?({'|'.join([*_ORDINALS, 'last'])})(?: (?:one|order)\b|(?=\s*(?:$|,|\.|!|\?)))",
    re.I,
)
_STATUS_WORD = re.compile(r"\b(pending|processed|delivered|cancel(?:l)?ed|shipped)\b", re.I)


def _order_pointed_at(text: str, listed: list[dict[str, Any]]) -> str | None:
    """The order of the list we showed that 'the first one', 'the last order' or 'the delivered one' means:
    by position, or by a status only one listed order has."""
    if len(listed) < 2:
        return None
    m = _ORDER_ORDINAL.search(text)
    if m:
        word = m.group(1).lower()
        position = len(listed) - 1 if word == "last" else _ORDINALS[word]
        return listed[position]["order_id"] if position < len(listed) else None
    return _order_with_status(text, listed)


def _order_with_status(text: str, orders: list[dict[str, Any]]) -> str | None:
    """The one order of `orders` with the status the text names ('the delivered one' in a list we showed)."""
    fitting = _orders_with_status(_STATUS_WORD.findall(text), orders)
    return str(fitting[0]["order_id"]) if len(fitting) == 1 else None


def _orders_with_status(words: list[str], orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The orders with the one status that `words` name (shipped is processed here); none for several."""
    statuses = {w.lower().replace("canceled", "cancelled").replace("shipped", "processed") for w in words}
    if len(statuses) != 1:
        return []
    status = statuses.pop()
    return [o for o in orders if o["status"] == status]


_STATUS_ORDER = re.compile(r"\b(pending|processed|delivered|cancel(?:l)?ed|shipped) (?:order|one)s?\b", re.I)
"""'My delivered order', 'the pending ones': a status that picks orders, not one asked about ('shipped yet?')."""


def _open_person_offer(d: Dialog) -> None:
    """The reply offers a person: once per session, and a plain yes to it hands the conversation over."""
    d.offered_person = d.person_offer_open = True


def _acknowledged(step: Step) -> Step:
    """The reply to an upset message starts by acknowledging it, unless it already apologises."""
    text = step.text or ""
    if "sorry" in text[:80].lower():
        return step
    return reply(f"{say.apology()} {text}")


def _answered_already(passage: dict[str, Any], answered: list[str], follow_up: str) -> bool:
    """A passage already quoted comes up again for a follow-up that asks about something it does not
    mention ("what about exchanges?" after the answer on returns; "and to a gift card?" after a refund
    answer that covers gift cards is answered by it, so it stays)."""
    return passage.get("source_id") in answered and not _mentions_asked(passage, follow_up)


def _mentions_asked(passage: dict[str, Any], follow_up: str) -> bool:
    """The passage (its FAQ question and text) has every content word the follow-up asks about, after
    its lead-in ("and what about …")."""
    while m := _KB_FOLLOW_UP.match(follow_up):
        follow_up = follow_up[m.end() :]
    asked = {w for w in content_words(follow_up) if len(w) > 2}
    return not asked or asked <= content_words(f"{passage.get('question') or ''} {passage.get('text', '')}")


def _asks_item_price(text: str, after_price: bool) -> bool:
    """'What did I pay for the kettle?', or 'how about the backpack?' right after such an answer."""
    return bool(_ITEM_PRICE.search(text) or (after_price and _KB_FOLLOW_UP.match(text)))


def _mostly_other_script(text: str) -> bool:
    """Most letters outside the Latin script (Chinese, Cyrillic, Arabic…): the models here read English."""
    letters = [c for c in text if c.isalpha()]
    other = sum(1 for c in letters if not unicodedata.name(c, "LATIN").startswith("LATIN"))
    return len(letters) >= 2 and other > len(letters) / 2


def _summary(d: Dialog) -> str:
    """For the person taking over: who, and the customer's last messages (not only the 'yes' to the offer)."""
    said = " | ".join(d.recent[-3:])[:400]
    who = f"Customer {d.user_id}" if d.user_id else "A customer who has not logged in"
    return f"{who} asks for a person. Last messages: {said}"
