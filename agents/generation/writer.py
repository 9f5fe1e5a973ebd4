"""`ReplyWriter`: the local model writes the reply from a plan, checked for grounding.

`write(plan)` generates greedily; a reply with a fact-like span that is not in the plan (or, with
`require_facts`, one that leaves a fact out) is regenerated once, greedily again but with the draft's
first words given as the reply's opening (`retry_opening`), and if that fails too the template draft
is used. Concurrent `write`
calls from several threads are micro-batched: requests arriving within a few milliseconds share one
`generate` call. `stream(plan)` yields the reply sentence by sentence, each sentence checked before it
is sent.

A single greedy request (a micro-batch of one, or a stream) is decoded with prompt lookup: the reply
restates the plan's draft almost word for word (order ids, item lists, addresses), so the next tokens
are guessed by copying what followed the last few tokens in the prompt, and one forward pass checks
all the guesses. Greedy output stays the model's own (a guess is kept only where it equals the argmax);
the speed-up is measured by `kefu bench generation`. transformers supports it for one sequence only, so
micro-batches of several requests go through `decoding.batched_decode`: each
prompt is prefilled on its own on top of the system prompt's cached keys and values, then all decode
together, so a short plan does not pay for the longest one's padding; greedy micro-batches guess
ahead from their prompts there too, with fewer guesses per request.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from kefu.agents.generation.decoding import PrefixCache, batched_decode, prefix_cache
from kefu.agents.generation.grounding import GroundingResult, check, required_facts
from kefu.agents.generation.plan import ReplyPlan
from kefu.agents.policy_notes import content_words

Mode = Literal["generated", "regenerated", "fallback"]

LOOKUP_TOKENS = 20
"""Prompt-lookup guesses per step. Picked with LOOKUP_NGRAM on 16 training plans (one per outcome
kind), replies written to their end: 10/20/30/40 guesses × 1/2/3-grams all kept the output identical;
20 with 2-grams decoded fastest (3.1× plain fp32 there; 10 with 3-grams, the earlier default, 2.2×)."""
LOOKUP_NGRAM = 2
"""Longest n-gram of the last tokens searched for in the prompt."""
BATCH_LOOKUP_TOKENS = 6
"""Prompt-lookup guesses per step and request in a micro-batch of several. Fewer than alone: every
request's row is as wide as the most guesses in the batch, so guesses cost compute sixteen times over.
Picked on 16 training plans decoded as one batch to their ends: fp32 (outputs identical for every
setting) 38 tok/s plain, 64 with 4 guesses, 76 with 6, 68 with 8; bfloat16 runs were noisier (its
replies change length with the batch's shape) and also best between 4 and 8."""

RETRY_OPENING_WORDS = 6
"""Words of the draft that open a regenerated reply. The usual first-try failure is an opening that
drops the fact it should lead with ("I see your order is pending", no order id) or bends it ("will now
be shipped to"); given the draft's first words the model goes on from them. Picked on the 43 greedy
failures among 360 training plans (every outcome kind): 2/4/6/8/12 words or the whole first sentence
passed 30–31 of 43 in 35–53 s; the sampled retry used before passed 12 of 43 in 185 s (it decoded
without prompt lookup and often ran to the token cap repeating itself: a fallback took 25–30 s)."""

PASSAGE_KEPT = 0.5
"""Share of a knowledge passage's content words that a reply written from it must keep (for `write`;
a turn's answer from the documents is not rewritten at all, see `rewrite`). Policy text has few ids
or amounts for the fact check to hold on to, so a reply that drops what the documents say would
otherwise pass; a rule bent while its words are kept still passes this."""


def passage_kept(reply: str, passage: str) -> float:
    """Share of the passage's content words that the reply says too."""
    words = content_words(passage)
    return len(words & content_words(reply)) / len(words) if words else 1.0


SYSTEM_PROMPT = (
    "You are a friendly customer-service assistant for an online shop. Write the reply to the customer "
    "from the plan below. Use only the facts in the plan; never invent order ids, amounts, dates or "
    "statuses. Keep every fact of the draft."
)


@dataclass
class WrittenReply:
    """A reply the writer produced, and how."""

    text: str
    mode: Mode
    """`generated` (first try passed), `regenerated` (second try passed) or `fallback` (the template)."""
    unsupported: list[str] = field(default_factory=list)
    """Fact-like spans the rejected attempts invented."""
    ms: float = 0.0
    """Wall time to write the reply."""
    tokens: int = 0
    """Tokens generated (all attempts)."""
    missing: list[str] = field(default_factory=list)
    """Facts of the draft that the last rejected attempt left out."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "unsupported": self.unsupported,
            "missing": self.missing,
            "ms": self.ms,
            "tokens": self.tokens,
        }


@dataclass
class _Request:
    plan: ReplyPlan
    retry: bool
    future: Future[tuple[str, int]]


def retry_opening(plan: ReplyPlan) -> str:
    """The draft's first `RETRY_OPENING_WORDS` words, with their own spacing and line breaks."""
    m = re.match(rf"\s*(?:\S+\s+){{0,{RETRY_OPENING_WORDS - 1}}}\S+", plan.draft)
    return m.group(0).strip() if m else ""


def build_messages(plan: ReplyPlan) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": plan.to_text()}]


class ReplyWriter:
    """Writes replies with a local causal LM (a transformers model and its tokenizer)."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        max_new_tokens: int = 320,
        batch_window_ms: float = 8.0,
        max_batch: int = 16,
        vocabulary: Any = None,
        seed: int = 0,
        require_facts: bool = True,
        lookup_tokens: int = LOOKUP_TOKENS,
        lookup_ngram: int = LOOKUP_NGRAM,
        batch_lookup_tokens: int = BATCH_LOOKUP_TOKENS,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.batch_window_s = batch_window_ms / 1000
        self.max_batch = max_batch
        self.vocabulary = vocabulary
        self.seed = seed
        self.require_facts = require_facts
        """Treat a reply that leaves out a fact of the draft like one that invents a fact."""
        self.lookup_tokens = lookup_tokens
        """Prompt-lookup guesses per step for single greedy requests; 0 decodes one token at a time."""
        self.lookup_ngram = lookup_ngram
        """Longest n-gram (of the last tokens) searched for in the prompt to find the guesses."""
        self.batch_lookup_tokens = batch_lookup_tokens
        """Guesses per step and request in a greedy micro-batch of several (`lookup_tokens=0` turns
        prompt lookup off for both)."""
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._model_lock = threading.Lock()
        self._prefix = PrefixCache()
        """Keys and values of the system prompt, computed once and shared by every request."""

    @classmethod
    def load(
        cls,
        base: str | None = None,
        adapter: str | None = None,
        *,
        dtype: str = "auto",
        **kwargs: Any,
    ) -> ReplyWriter:
        from kefu.agents.generation.base_model import load_model

        model, tok = load_model(base, adapter=adapter, dtype=dtype)
        return cls(model, tok, **kwargs)

    # ---- generation -----------------------------------------------------------------------------
    def _encode(self, plans: list[ReplyPlan]) -> Any:
        texts = [
            self.tokenizer.apply_chat_template(build_messages(p), tokenize=False, add_generation_prompt=True)
            for p in plans
        ]
        return self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)

    def _budget(self, plans: list[ReplyPlan]) -> int:
        """New tokens for a batch: the longest draft's length with room to rephrase, at most the cap."""
        longest = max(len(self.tokenizer(p.draft, add_special_tokens=False)["input_ids"]) for p in plans)
        return min(self.max_new_tokens, int(longest * 1.4) + 48)

    def _greedy_kwargs(self, budget: int) -> dict[str, Any]:
        """`generate` arguments for one greedy request (sampled batches go through `batched_decode`)."""
        return {
            "max_new_tokens": budget,
            "pad_token_id": self.tokenizer.pad_token_id,
            "use_cache": True,
            "do_sample": False,
            "temperature": None,
            "top_p": None,
            "top_k": None,
            **self.lookup_kwargs(1),
        }

    def lookup_kwargs(self, batch: int) -> dict[str, Any]:
        """`generate` arguments for prompt-lookup decoding: only for one sequence (transformers' limit)."""
        if batch != 1 or self.lookup_tokens <= 0:
            return {}
        return {"prompt_lookup_num_tokens": self.lookup_tokens, "max_matching_ngram_size": self.lookup_ngram}

    def batch_lookup(self, sample: bool = False) -> int:
        """Prompt-lookup guesses per request and step in `batched_decode`: none for sampled batches or
        with lookup turned off."""
        return 0 if sample or self.lookup_tokens <= 0 else self.batch_lookup_tokens

    def generate_batch(
        self, plans: list[ReplyPlan], *, sample: bool = False, retry: bool = False
    ) -> list[tuple[str, int]]:
        """All `plans` decoded together: (text, tokens generated) each.

        A single greedy request goes through `generate` with prompt lookup (on top of the cached
        system-prompt prefix); several requests, or a sampled batch, through `batched_decode`, which
        prefills each prompt on its own and decodes them as one batch (greedy ones with batched
        prompt lookup). With `retry` each reply starts from its draft's opening (`retry_opening`),
        which is part of the returned text but not of the token count.
        """
        import torch

        openings = [retry_opening(p) if retry else "" for p in plans]
        prompts = [
            self._prompt_ids(p) + (self.tokenizer(o, add_special_tokens=False)["input_ids"] if o else [])
            for p, o in zip(plans, openings, strict=True)
        ]
        budget = self._budget(plans)
        with self._model_lock, torch.inference_mode():
            if len(plans) == 1 and not sample and self.lookup_tokens > 0:
                rows = [self._generate_one(prompts[0], budget)]
            else:
                generator = torch.Generator().manual_seed(self.seed) if sample else None
                rows = batched_decode(
                    self.model,
                    prompts,
                    max_new_tokens=budget,
                    eos_ids=self._eos_ids(),
                    pad_id=self.tokenizer.pad_token_id,
                    prefix=self._prefix,
                    sample=sample,
                    generator=generator,
                    lookup_tokens=self.batch_lookup(sample),
                    lookup_ngram=self.lookup_ngram,
                )
        return [
            ((o + self.tokenizer.decode(row, skip_special_tokens=True)).strip(), len(row))
            for o, row in zip(openings, rows, strict=True)
        ]

    def _prompt_ids(self, plan: ReplyPlan) -> list[int]:
        return [int(t) for t in self._encode([plan])["input_ids"][0]]

    def _eos_ids(self) -> set[int]:
        configured = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        ids = set(configured if isinstance(configured, list) else [configured])
        ids.add(self.tokenizer.eos_token_id)
        return {int(i) for i in ids if i is not None}

    def _generate_one(self, prompt: list[int], budget: int, **extra: Any) -> list[int]:
        """Greedy `generate` for one prompt, with prompt lookup unless turned off. Call it holding the
        model lock.

        Without lookup the system-prompt prefix comes from the shared cache, so the first token waits
        only for the plan's own tokens. With lookup it does not: transformers 5.24's assisted decoding
        given a prefilled cache changed the greedy output in our check (the same call without lookup
        did not), so lookup prefills the whole prompt.
        """
        import torch

        kwargs = {**self._greedy_kwargs(budget), **extra}
        if self.lookup_tokens <= 0:
            n, shared = self._prefix.prefix_for(self.model, [prompt])
            if n:
                kwargs["cache"] = prefix_cache(self.model, shared)
        ids = torch.tensor([prompt])
        out = self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **kwargs)
        eos = self._eos_ids()
        row = [int(t) for t in out[0, len(prompt) :]]
        return [t for t in row if t not in eos and t != self.tokenizer.pad_token_id]

    def _check(self, text: str, plan: ReplyPlan, *, complete: bool = True) -> GroundingResult:
        """Grounded (no fact outside the plan) and, with `complete` and `require_facts`, complete (every
        fact of the draft stated, and an answer from the documents keeps what they say)."""
        required = (
            required_facts(plan.draft, vocabulary=self.vocabulary)
            if complete and self.require_facts
            else None
        )
        result = check(text, plan.to_text(), vocabulary=self.vocabulary, required=required)
        if required is not None and plan.passages and not plan.unsure:
            passage = plan.passages[0]
            if passage_kept(text, passage.get("text", "")) < PASSAGE_KEPT:
                result.missing.append(f"what {passage.get('source_id') or 'the document'} says")
        return result

    # ---- micro-batching -------------------------------------------------------------------------
    def _submit(self, plan: ReplyPlan, retry: bool) -> tuple[str, int]:
        if self._worker is None:
            with self._model_lock:
                if self._worker is None:
                    self._worker = threading.Thread(target=self._serve, name="kefu-writer", daemon=True)
                    self._worker.start()
        fut: Future[tuple[str, int]] = Future()
        self._queue.put(_Request(plan, retry, fut))
        return fut.result()

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            batch = [first]
            deadline = time.perf_counter() + self.batch_window_s
            while len(batch) < self.max_batch:
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                try:
                    batch.append(self._queue.get(timeout=left))
                except queue.Empty:
                    break
            for retry in (False, True):
                group = [r for r in batch if r.retry is retry]
                if not group:
                    continue
                try:
                    outs = self.generate_batch([r.plan for r in group], retry=retry)
                except Exception as e:  # the callers decide; the worker keeps serving
                    for r in group:
                        r.future.set_exception(e)
                    continue
                for r, o in zip(group, outs, strict=True):
                    r.future.set_result(o)

    # ---- the public calls -----------------------------------------------------------------------
    def write(self, plan: ReplyPlan) -> WrittenReply:
        """The checked reply: generated, else regenerated once from the draft's opening, else the
        template draft."""
        started = time.perf_counter()
        text, n = self._submit(plan, False)
        result = self._check(text, plan)
        if text and result.ok:
            return WrittenReply(text, "generated", [], _ms(started), n)
        return self._regenerate(plan, [s.text for s in result.unsupported], started, n)

    def _regenerate(self, plan: ReplyPlan, invented: list[str], started: float, tokens: int) -> WrittenReply:
        """The second try after a first one failed the check (`invented`: what that one made up)."""
        text, n = self._submit(plan, True)
        result = self._check(text, plan)
        if text and result.ok:
            return WrittenReply(text, "regenerated", invented, _ms(started), tokens + n)
        invented = invented + [s.text for s in result.unsupported]
        return WrittenReply(plan.draft, "fallback", invented, _ms(started), tokens + n, result.missing)

    def rewrite(
        self,
        draft: str,
        *,
        customer: str = "",
        tool_calls: list[Any] = (),  # type: ignore[assignment]
        sources: list[dict[str, Any]] = (),  # type: ignore[assignment]
        recommendations: list[dict[str, Any]] = (),  # type: ignore[assignment]
    ) -> tuple[str, dict[str, Any]]:
        """A turn's template reply rewritten from its plan: (text, how it was written) for `Reply`.

        A confirmation request stays the template: the customer says yes to exactly that wording. So does
        an answer from the shop's documents: it quotes the passage with its source, and the model bent
        the rule while keeping its words ("Items can be returned once the order is delivered" became "To
        ensure your order is delivered, we ask that you double-check the order id…"); and an unsure
        knowledge answer, whose "not sure, the closest I found" and offer of a person must reach the
        customer as they are; and the other replies `keeps_wording` names (a question whose yes picks a
        variant, a policy note).
        """
        from kefu.agents.generation.plan import plan_from_turn
        from kefu.agents.replies import keeps_wording

        plan = plan_from_turn(
            draft, customer=customer, tool_calls=tool_calls, sources=sources, recommendations=recommendations
        )
        if plan.confirmation:
            return draft, {"mode": "template", "reason": "confirmation request"}
        if plan.unsure:
            return draft, {"mode": "template", "reason": "unsure knowledge answer"}
        if plan.passages:
            return draft, {"mode": "template", "reason": "answer from the documents"}
        kept = keeps_wording(draft)
        if kept:
            return draft, {"mode": "template", "reason": kept}
        written = self.write(plan)
        return written.text, {"intent": plan.intent, **written.as_dict()}

    def write_many(self, plans: list[ReplyPlan]) -> list[WrittenReply]:
        """`write` for many plans at once, in batches of `max_batch`."""
        out: list[WrittenReply] = []
        for i in range(0, len(plans), self.max_batch):
            chunk = plans[i : i + self.max_batch]
            started = time.perf_counter()
            first = self.generate_batch(chunk)
            results: list[WrittenReply | None] = [None] * len(chunk)
            retry = []
            for j, (text, n) in enumerate(first):
                g = self._check(text, chunk[j])
                if text and g.ok:
                    results[j] = WrittenReply(text, "generated", [], 0.0, n)
                else:
                    retry.append((j, [s.text for s in g.unsupported], n))
            if retry:
                second = self.generate_batch([chunk[j] for j, _, _ in retry], retry=True)
                for (j, invented, n1), (text, n2) in zip(retry, second, strict=True):
                    g = self._check(text, chunk[j])
                    if text and g.ok:
                        results[j] = WrittenReply(text, "regenerated", invented, 0.0, n1 + n2)
                    else:
                        invented += [s.text for s in g.unsupported]
                        results[j] = WrittenReply(chunk[j].draft, "fallback", invented, 0.0, n1 + n2)
            ms = _ms(started)
            for r in results:
                assert r is not None
                r.ms = ms
                out.append(r)
        return out

    def stream(self, plan: ReplyPlan) -> StreamedReply:
        """Iterate to receive the reply in pieces; `.result` holds the `WrittenReply` afterwards."""
        return StreamedReply(self, plan)


_SENTENCE_END = re.compile(r"(?<=[.!?:])[ \t]+|(?<=\n)")


class StreamedReply:
    """Pieces of a reply as the model writes them, each sentence grounding-checked before it is sent.

    Streaming checks grounding only (a sentence cannot state every fact). If the first sentence
    already fails, the second try (`write`'s: from the draft's opening, else the template) is sent
    whole. If a later sentence fails, generation stops and the
    template draft follows what was sent, so no unsupported fact ever reaches the caller; the mode is
    then `fallback`.
    """

    def __init__(self, writer: ReplyWriter, plan: ReplyPlan) -> None:
        self.writer = writer
        self.plan = plan
        self.result: WrittenReply | None = None
        self.first_piece_ms: float | None = None

    def __iter__(self) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        w = self.writer
        started = time.perf_counter()
        prompt = w._prompt_ids(self.plan)
        streamer = TextIteratorStreamer(w.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=120)
        stop = threading.Event()

        from transformers import StoppingCriteria, StoppingCriteriaList

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                import torch

                return torch.full((input_ids.shape[0],), stop.is_set(), dtype=torch.bool)

        errors: list[BaseException] = []

        def run() -> None:
            import torch

            try:
                with w._model_lock, torch.inference_mode():
                    w._generate_one(
                        prompt,
                        w._budget([self.plan]),
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([_Stop()]),
                    )
            except BaseException as e:  # surface it to the caller instead of a streamer timeout
                errors.append(e)
                streamer.end()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        sent: list[str] = []
        buffer = ""
        failed: GroundingResult | None = None
        pieces = 0
        for piece in streamer:
            pieces += 1
            buffer += piece
            parts = _SENTENCE_END.split(buffer)
            done, buffer = parts[:-1], parts[-1]
            for sentence in done:
                if not sentence.strip():
                    continue
                g = w._check(sentence, self.plan, complete=False)
                if not g.ok:
                    failed = g
                    break
                out = sentence if sentence.endswith("\n") else sentence + " "
                if self.first_piece_ms is None:
                    self.first_piece_ms = _ms(started)
                sent.append(out)
                yield out
            if failed:
                stop.set()
                break
        if not failed and buffer.strip():
            g = w._check(buffer, self.plan, complete=False)
            if g.ok:
                sent.append(buffer)
                yield buffer
            else:
                failed = g
        if stop.is_set():  # we broke out early: drain until the model stops
            for _ in streamer:
                pass
        thread.join()
        if errors:
            raise errors[0]
        if failed is None:
            self.result = WrittenReply("".join(sent).strip(), "generated", [], _ms(started), pieces)
            return
        invented = [s.text for s in failed.unsupported]
        if not sent:  # the first sentence failed: the second try, sent whole
            again = w._regenerate(self.plan, invented, started, pieces)
            self.result = again
            yield again.text
            return
        tail = "\n" + self.plan.draft
        yield tail
        self.result = WrittenReply("".join(sent) + tail, "fallback", invented, _ms(started), pieces)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
