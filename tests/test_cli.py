"""The `kefu` command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from kefu._version import __version__
from kefu.cli import app

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.stdout


def test_shop_init_builds_the_demo_shop(tmp_path: Path):
    result = runner.invoke(app, ["shop", "init", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.stdout
    assert (tmp_path / "shop.sqlite").exists()


def test_chat_in_the_terminal(tmp_path: Path):
    out = subprocess.run(
        [sys.executable, "-m", "kefu", "chat", "--demo", "--data-dir", str(tmp_path)],
        input="where is my order #W7678072\nnoah.brown7922@example.com\nquit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "delivered" in out.stdout and "get_order_details" in out.stdout
