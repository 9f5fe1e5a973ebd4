"""`kefu db upgrade` on the embedded defaults: every database file made, at the newest revisions."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefu.cli import app
from kefu.migrations import head


def test_kefu_db_upgrade(tmp_path: Path):
    pytest.importorskip("fastapi", reason="the console store is part of the server extra")
    result = CliRunner().invoke(app, ["db", "upgrade", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ("shop.sqlite", "console.sqlite", "sessions.sqlite"):
        assert (tmp_path / name).exists()
    assert head("shop") in result.output and head("console") in result.output
