"""docs/deploy.md's config is a valid kefu config, and its vLLM command names the shipped adapter."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from kefu import Config
from kefu.agents.generation import builtin_adapter

DOC = Path(__file__).resolve().parents[1] / "docs" / "deploy.md"


def test_the_reference_config_loads_and_shares_one_database():
    [block] = re.findall(
        r"`kefu.yaml`, the same on every replica:\n\n```yaml\n(.*?)```", DOC.read_text(), flags=re.S
    )
    config = Config.load(yaml.safe_load(block))
    assert config.shop_url.startswith("postgresql+psycopg://")
    assert config.sessions_url == config.shop_url  # sessions follow the shop's PostgreSQL
    assert config.knowledge_location.startswith("http://") and config.recsys.redis_url
    assert config.generator.kind == "openai" and config.generator.model == "kefu-writer"


def test_the_vllm_command_serves_the_shipped_adapter_under_the_configured_name():
    text = DOC.read_text()
    adapter = builtin_adapter()
    rank = json.loads((adapter / "adapter_config.json").read_text())["r"]
    assert f"--max-lora-rank {rank}" in text
    assert "--lora-modules kefu-writer=$ADAPTER" in text and "model: kefu-writer" in text
