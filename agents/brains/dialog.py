"""The embedded brain's memory of a conversation: what the customer wants and what we know so far.

It travels inside the brain's own AI messages (`additional_kwargs["kefu_dialog"]`), so it is saved
and restored with the conversation by the checkpointer, like any model's reasoning would be. It is the
brain's belief only: who is authenticated, and what was confirmed, are facts the tools keep.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

# Tasks the brain can serve, and whether they need an authenticated customer.
ACCOUNT_TASKS = {
    "order_status",
    "cancel_order",
    "return_items",
    "exchange_items",
    "modify_items",
    "change_order_address",
    "change_order_payment",
    "change_user_address",
    "account_info",
}
OPEN_TASKS = {"product_info", "human_agent", "policy_question"}
ORDER_TASKS = ACCOUNT_TASKS - {"change_user_address", "account_info"}
TASKS = ACCOUNT_TASKS | OPEN_TASKS
WRITE_TASKS = ORDER_TASKS - {"order_status"} | {"change_user_address"}


@dataclass
class Dialog:
    task: str | None = None
    queue: list[str] = field(default_factory=list)
    # identity
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    zip: str | None = None
    tried: list[str] = field(default_factory=list)
    auth_error: str | None = None
    user_id: str | None = None
    user: dict[str, Any] | None = None
    # the order and what to do with it
    order_id: str | None = None
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    missing_orders: list[str] = field(default_factory=list)
    listed_orders: list[str] = field(default_factory=list)
    """The orders of the last list we showed, in its order ("the first one", "the delivered one")."""
    task_texts: list[str] = field(default_factory=list)
    reason: str | None = None
    payment_text: str | None = None
    address: dict[str, str] | None = None
    use_default_address: bool = False
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    product_types: dict[str, str] | None = None
    # conversation bookkeeping
    asked: str | None = None
    awaiting_yes: bool = False
    pending: dict[str, Any] | None = None
    done_writes: list[str] = field(default_factory=list)
    tool_failures: int = 0
    calls_this_turn: int = 0
    handed_off: bool = False
    last_error: str | None = None
    # what the latest customer message was, as understood (reset every turn)
    heard: str | None = None
    confirmed_now: bool = False
    declined_now: bool = False
    other_customer: bool = False
    plugin_args: dict[str, Any] = field(default_factory=dict)
    order_texts: dict[str, str] = field(default_factory=dict)
    """One message asked for different things on different orders ("exchange the lamp in #W1 ... change the
    boots in #W2, charge my visa for that one"): the part of it about each order, for that order's task."""
    replay: str = ""
    """Details to read for the task just started from the queue (its order's part of an earlier message)."""
    offered_variants: dict[str, str] = field(default_factory=dict)
    """Item id → the nearest variant we asked about because it changes options the customer did not name."""
    accepted_variants: dict[str, str] = field(default_factory=dict)
    """Item id → such a variant the customer said yes to."""
    variant_choices: dict[str, list[str]] = field(default_factory=dict)
    """Item id → the variants we listed for the customer to pick from ('the first one')."""
    order_queue: list[str] = field(default_factory=list)
    """More orders named for the same task ("cancel #W1 and #W2"): served one after the other."""
    resume_orders: dict[str, str] = field(default_factory=dict)
    """Queued task → the order it was about when another request interrupted it: it resumes there instead
    of asking which order again."""
    focus_products: list[str] = field(default_factory=list)
    """Products the conversation talked about ('how much is the lamp in silver?' ... 'switch it then')."""
    focus_options: dict[str, str] = field(default_factory=dict)
    """The options asked about with the last product answered ("product" holds its name): a follow-up
    ('and in 6mm?', 'how much is that one?') adds to them."""
    recommended: int = 0
    """Times suggestions were shown in this session (offered unasked at most once)."""
    frustrated: bool = False
    """The customer complained or sounded upset: no upselling for the rest of the session."""
    complaint_now: bool = False
    """The latest message asks for what only a person can do (a formal complaint, compensation)."""
    someone_else_now: bool = False
    """The message asks for another person's data (an email, address or orders of someone named)."""
    upset_now: bool = False
    """The latest customer message sounded upset: the next reply acknowledges it first."""
    negative_turns: int = 0
    """Customer messages in a row that the sentiment model read as negative."""
    misunderstood: int = 0
    """Replies in a row that did not understand the customer ('didn't get that', 'can't help with that')."""
    last_reply: str = ""
    """The bot's latest reply text (the same question asked again means it did not understand the answer)."""
    offered_person: bool = False
    """A hand-off to a person was offered (once per session, unasked)."""
    person_offer_open: bool = False
    """The last reply offered a person: a plain yes now means 'hand me over'."""
    suggest_now: bool = False
    """A request was just resolved: the moment to offer a suggestion, if any."""
    recent: list[str] = field(default_factory=list)
    """The customer's last three messages (for the summary a person gets at a hand-off)."""
    last_text: str = ""
    """The customer's latest message."""
    kb_first_guess: bool = False
    """The task in `kb_first` was only a guess of the classifier: without a strong answer it does not start."""
    kb_first: str | None = None
    """An advice question ("it arrived damaged, what can I do?"): the knowledge base answers it if it has a
    strong match, else this task starts."""
    item_price_answered: bool = False
    """The last reply said what an item of the order cost ('how about the backpack?' asks it again)."""
    suggestions_shown: dict[str, Any] | None = None
    """The last reply suggested products (`recommend_products` arguments): 'something under $100?' asks
    for the same kind of suggestions within that budget."""
    address_locked: str | None = None
    """The order whose address change was just refused (not pending): an address given next is offered
    as the account's default, saying the order keeps its own."""
    cheapest_shown: float | None = None
    """The lowest price among the suggestions just shown ('something cheaper?' goes under it)."""
    refine_suggestions: dict[str, Any] | None = None
    """Those arguments, while the suggestions are asked for again with a budget."""
    kb_question: str = ""
    """The question the last reply answered from the documents ('and to a gift card?' follows up on it)."""
    kb_answered: list[str] = field(default_factory=list)
    """Source ids of the passages quoted for that question and its follow-ups: a follow-up that gets one
    of them again is asking about something else ('what about exchanges?' after the answer on returns)."""
    kb_follow_up: bool = False
    """The knowledge search under way was for a follow-up, searched together with `kb_question`."""
    task_offer: str | None = None
    """The last reply answered how a task works from the documents and offered to do it: a plain yes now
    starts this task."""
    task_offer_text: str = ""
    """The question that the offer answered (its details, if any, are used when the task starts)."""
    asked_anything_else: bool = False
    """The last reply asked whether there is anything else: a plain "no" now closes the conversation."""
    kb_fallback: bool = False
    """The knowledge base was asked because nothing else understood the message."""
    hold: bool = False
    """The reply to a tool result must be said now, before any further step."""
    preface: str = ""
    """Said before the next reply (e.g. 'Done: ...' before moving on to the next request)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Dialog:
        if not data:
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def start(self, task: str) -> None:
        """Begin a new task; identity, known orders and the order in focus stay."""
        self.task = task
        self.task_texts = []
        self.reason = None
        self.payment_text = None
        self.address = None
        self.use_default_address = False
        self.asked = None
        self.awaiting_yes = False
        self.pending = None
        self.last_error = None
        self.plugin_args = {}
        self.offered_variants = {}
        self.accepted_variants = {}
        self.variant_choices = {}

    def drop_requests(self) -> None:
        """Forget every request still queued ("never mind", "ok thanks bye"): nothing of them was done."""
        self.queue.clear()
        self.resume_orders.clear()
        self.order_queue = []
        self.order_texts = {}

    def finish(self) -> None:
        """End the current task; go on with the next order for the same task, or the next request."""
        task = self.task
        self.asked = None
        self.awaiting_yes = False
        self.pending = None
        if self.order_id is not None:
            self.order_texts.pop(self.order_id, None)
        if task is not None and self.order_queue:
            # same request for the next order: the reason and payment the customer gave still hold
            self.order_id = self.order_queue.pop(0)
            self.task_texts = [t for t in self.task_texts if not _names_items(t)]
            self.replay = self.order_texts.get(self.order_id, "")
            return
        self.task = None
        self.task_texts = []
        if not self.queue:
            self.order_texts = {}  # nothing left that an earlier message spoke for
        else:
            address = self.address
            self.start(self.queue.pop(0))
            self.order_id = None  # "...and change the payment on another one": ask which
            if self.order_texts:  # unless the customer said which, and what, in one message
                self.order_id, self.replay = next(iter(self.order_texts.items()))
            elif self.task is not None and self.task in self.resume_orders:  # interrupted: back to its order
                self.order_id = self.resume_orders.pop(self.task)
            if task in ("change_user_address", "change_order_address") and self.task in (
                "change_user_address",
                "change_order_address",
            ):
                self.address = address  # "update my account and my order to the new address"


def _names_items(text: str) -> bool:
    from kefu.agents.nlu.entities import order_ids

    return bool(order_ids(text))
