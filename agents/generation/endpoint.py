"""The reply writer over an OpenAI-compatible endpoint (vLLM, Ollama...): same plan, same grounding check."""

from __future__ import annotations

import os
from typing import Any

from kefu.agents.generation.plan import ReplyPlan
from kefu.agents.generation.writer import ReplyWriter, build_messages


class EndpointWriter(ReplyWriter):
    """`ReplyWriter` whose model is a chat-completions endpoint; regenerate and fallback work the same."""

    def __init__(
        self, model: str, base_url: str, *, api_key_env: str = "OPENAI_API_KEY", **kwargs: Any
    ) -> None:
        super().__init__(None, None, **kwargs)
        self.endpoint_model = model
        self.base_url = base_url.rstrip("/")
        self.api_key = os.environ.get(api_key_env, "not-needed")

    def generate_batch(
        self, plans: list[ReplyPlan], *, sample: bool = False, retry: bool = False
    ) -> list[tuple[str, int]]:
        """One request per plan. A retry is sampled: chat completions have no portable way to give
        the reply's opening, as the local writer's retry does."""
        import httpx

        out = []
        for plan in plans:
            resp = httpx.post(
                f"{self.base_url}/chat/completions",
                headers={"Authorization": f"Bearer {self.api_key}"},
                json={
                    "model": self.endpoint_model,
                    "messages": build_messages(plan),
                    "max_tokens": self.max_new_tokens,
                    "temperature": 0.7 if sample or retry else 0.0,
                },
                timeout=60,
            )
            resp.raise_for_status()
            body = resp.json()
            text = body["choices"][0]["message"]["content"] or ""
            out.append((text.strip(), int(body.get("usage", {}).get("completion_tokens", 0))))
        return out

    def stream(self, plan: ReplyPlan) -> Any:  # the endpoint answers whole; send it as one piece
        return iter([self.write(plan).text])
