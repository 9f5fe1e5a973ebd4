"""τ-bench retail tasks against kefu: a simulated customer, the assistant under test, τ-bench's reward.

τ-bench (Yao et al. 2024, MIT; ../shared/datasets/tau_bench_retail) gives each task an instruction
for a simulated customer ("You are Yusuf Rossi in 19122. You received your order #W2378156 and wish
to exchange..."), the gold tool calls and the strings the agent must say. kefu's demo shop is the
same data, so a task runs as it does there:

1. a fresh shop; the assistant greets; a chat model plays the customer from the instruction, one
   message at a time, until it writes ###STOP### (or the conversation is handed off, or runs out
   of turns);
2. reward 1 when the final database equals the one the gold write actions produce (replayed on a
   fresh shop) and every required output string appears in some reply (case-insensitive, commas
   ignored), else 0 — τ-bench's reward. Policy violations (`kefu.evals.policy_checks`) are counted
   on the side.

Any LangChain chat model can play the customer: an OpenAI-compatible endpoint in practice,
`kefu.ScriptedChatModel` in tests.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kefu.evals.policy_checks import TurnRecord, policy_violations, turn_record
from kefu.evals.shop_state import WRITE_TOOLS, ShopTemplate, expected_state, snapshot

STOP = "###STOP###"
GREETING = "Hi! How can I help you today?"
"""The agent's first message, as in τ-bench."""

CUSTOMER_PROMPT = """You are a customer chatting with an online shop's customer-service agent.

Instruction: {instruction}

Rules:
- Write one message at a time, as the customer, in plain text.
- Do not give away the whole instruction at once; give only what the current step needs.
- Do not make up information the instruction does not give (an order id, an email...): say you do not
  remember or do not have it.
- When the goal of the instruction is reached, or cannot be reached, write {stop} alone as your message.
- Do not repeat the instruction word for word; say things in your own words.
- Keep to the personality the instruction describes."""
"""The simulated customer's system prompt, after τ-bench's user simulator."""


@dataclass(frozen=True)
class TauTask:
    """One τ-bench task: who the customer is, what they want, and what must come of it."""

    index: int
    split: str
    user_id: str
    instruction: str
    actions: list[dict[str, Any]]
    """Gold tool calls in order, each {name, kwargs}; only the writes matter for the reward."""
    outputs: list[str] = field(default_factory=list)
    """Strings the agent must say (e.g. a price)."""
    annotator: str = ""

    @property
    def id(self) -> str:
        return f"{self.split}-{self.index}"

    @property
    def writes(self) -> list[dict[str, Any]]:
        """The gold write actions as {name, args}."""
        return [{"name": a["name"], "args": a["kwargs"]} for a in self.actions if a["name"] in WRITE_TOOLS]


def load_tau_tasks(
    source: str | Path, split: str = "test", indices: Iterable[int] | str | None = None
) -> list[TauTask]:
    """Tasks from τ-bench's `tasks_<split>.json` (a file, or the tau_bench_retail folder).

    `indices`: task indices to keep, as numbers or a string like "0-9,12" (None or "all": every task).
    """
    path = Path(source)
    if path.is_dir():
        path = path / f"tasks_{split}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no τ-bench task file at {path}")
    rows = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(rows, list):
        raise ValueError(f"{path}: a τ-bench task file holds a list of tasks")
    tasks = []
    for n, row in enumerate(rows):
        try:
            tasks.append(
                TauTask(
                    index=int(row.get("task_index", n)),
                    split=split,
                    user_id=str(row["user_id"]),
                    instruction=str(row["instruction"]),
                    actions=[
                        {"name": a["name"], "kwargs": dict(a.get("kwargs", {}))} for a in row["actions"]
                    ],
                    outputs=[str(o) for o in row.get("outputs", [])],
                    annotator=str(row.get("annotator", "")),
                )
            )
        except (KeyError, TypeError) as e:
            raise ValueError(f"{path}: task {n} lacks {e}") from e
    keep = parse_indices(indices)
    return tasks if keep is None else [t for t in tasks if t.index in keep]


def parse_indices(indices: Iterable[int] | str | None) -> set[int] | None:
    """ "0-4,9" → {0, 1, 2, 3, 4, 9}; None or "all" → None (everything)."""
    if indices is None or indices == "all":
        return None
    if isinstance(indices, str):
        out: set[int] = set()
        for part in indices.replace(" ", "").split(","):
            if not part:
                continue
            lo, _, hi = part.partition("-")
            out.update(range(int(lo), int(hi or lo) + 1))
        return out
    return {int(i) for i in indices}


class SimulatedCustomer:
    """A chat model playing the customer of one task (it sees the agent's messages as the other side)."""

    def __init__(self, model: Any, instruction: str) -> None:
        from langchain_core.messages import SystemMessage

        self.model = model
        self.messages: list[Any] = [SystemMessage(CUSTOMER_PROMPT.format(instruction=instruction, stop=STOP))]

    def reply(self, agent_message: str) -> str:
        from langchain_core.messages import AIMessage, HumanMessage

        self.messages.append(HumanMessage(agent_message))
        answer = self.model.invoke(self.messages)
        text = answer.content if isinstance(answer.content, str) else str(answer.text)
        self.messages.append(AIMessage(text))
        return text.strip()


@dataclass
class TauResult:
    task: TauTask
    trial: int
    reward: float
    state_ok: bool
    missing_outputs: list[str]
    violations: list[str]
    transcript: list[TurnRecord]
    writes: list[dict[str, Any]]
    stop_reason: str
    """"customer stopped", "handed off", "turn limit" or "error"."""
    seconds: float = 0.0
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.reward == 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task.id,
            "user_id": self.task.user_id,
            "instruction": self.task.instruction,
            "trial": self.trial,
            "reward": self.reward,
            "state_ok": self.state_ok,
            "missing_outputs": self.missing_outputs,
            "violations": self.violations,
            "writes": self.writes,
            "expected_writes": self.task.writes,
            "stop_reason": self.stop_reason,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "transcript": [t.as_dict() for t in self.transcript],
        }


MakeAssistant = Callable[[str, Path], Any]
MakeCustomerModel = Callable[[TauTask, int], Any]
"""(task, trial) → a LangChain chat model that will play that task's customer."""


def run_tau_task(
    task: TauTask,
    make_assistant: MakeAssistant,
    make_customer_model: MakeCustomerModel,
    template: ShopTemplate,
    *,
    trial: int = 0,
    max_turns: int = 30,
) -> TauResult:
    """Play one task on a fresh shop and score it like τ-bench."""
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix=f"kefu-tau-{task.id}-"))
    transcript: list[TurnRecord] = []
    customer_id: str | None = None
    error: str | None = None
    stop_reason = "turn limit"
    try:
        url = template.fresh(workdir)
        bot = make_assistant(url, workdir)
        try:
            customer = SimulatedCustomer(make_customer_model(task, trial), task.instruction)
            agent_message = GREETING
            for _ in range(max_turns):
                text = customer.reply(agent_message)
                if STOP in text:
                    stop_reason = "customer stopped"
                    break
                reply = bot.respond(text, session_id=f"tau-{task.id}-{trial}")
                transcript.append(turn_record(text, reply))
                customer_id = reply.customer_id or customer_id
                if reply.handoff:
                    stop_reason = "handed off"
                    break
                agent_message = reply.text
        except Exception as e:  # noqa: BLE001 - a failing model or endpoint scores 0, the run goes on
            error, stop_reason = f"{type(e).__name__}: {e}", "error"
        finally:
            bot.close()
        final = snapshot(url)
        state_ok = final == expected_state(template, workdir, task.writes)
        replies = [t.reply.lower().replace(",", "") for t in transcript]
        missing = [o for o in task.outputs if not any(o.lower() in r for r in replies)]
        violations = policy_violations(transcript, final, customer_id)
        return TauResult(
            task,
            trial,
            1.0 if state_ok and not missing and error is None else 0.0,
            state_ok,
            missing,
            violations,
            transcript,
            [w for t in transcript for w in t.writes],
            stop_reason,
            time.perf_counter() - started,
            error,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_tau_tasks(
    tasks: Sequence[TauTask],
    make_assistant: MakeAssistant,
    make_customer_model: MakeCustomerModel,
    *,
    repeat: int = 1,
    template: ShopTemplate | None = None,
    max_turns: int = 30,
    concurrency: int = 1,
    on_result: Callable[[TauResult], None] | None = None,
) -> list[TauResult]:
    """Every task `repeat` times (for pass^k), each on a fresh shop; up to `concurrency` at once."""
    own_template = template is None
    shop = template or ShopTemplate()
    runs = [(t, trial) for trial in range(repeat) for t in tasks]

    def one(run: tuple[TauTask, int]) -> TauResult:
        result = run_tau_task(
            run[0], make_assistant, make_customer_model, shop, trial=run[1], max_turns=max_turns
        )
        if on_result is not None:
            on_result(result)
        return result

    try:
        if concurrency <= 1:
            return [one(r) for r in runs]
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            return list(pool.map(one, runs))
    finally:
        if own_template:
            shop.remove()


def outcomes(results: Iterable[TauResult]) -> dict[str, list[bool]]:
    """Task id → pass/fail of each run (for `kefu.evals.pass_k`)."""
    out: dict[str, list[bool]] = {}
    for r in results:
        out.setdefault(r.task.id, []).append(r.passed)
    return out
