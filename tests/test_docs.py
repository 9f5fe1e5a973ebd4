"""Code in the docs runs, so the docs cannot rot."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_sdk_example_runs(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # it writes ./kefu-data
    [block] = python_blocks(ROOT / "README.md")
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102
    reply = namespace["reply"]
    assert "delivered" in reply.text and reply.customer_id == "noah_brown_6181"
    assert os.path.exists(tmp_path / "kefu-data" / "shop.sqlite")
