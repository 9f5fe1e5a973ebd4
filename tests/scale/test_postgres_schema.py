"""`kefu db upgrade` and `kefu shop init` against PostgreSQL: an empty database gets every kefu table
at the newest revision, then the demo shop; URLs are printed without their password."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import create_engine, inspect, text
from typer.testing import CliRunner

from kefu.cli import app
from kefu.migrations import current, head
from kefu.server.local_engines import Engine, create_database


def test_db_upgrade_then_shop_init_on_an_empty_database(pg_server: Engine, tmp_path: Path):
    url = create_database(pg_server.url, "kefu_cli_init")
    with_password = url.replace("kefu@", "kefu:s3cret-pw@")  # trust authentication ignores it
    config = tmp_path / "kefu.yaml"
    config.write_text(
        yaml.safe_dump({"shop": {"database_url": with_password}, "knowledge": {"enabled": False}})
    )
    runner = CliRunner()
    upgraded = runner.invoke(app, ["db", "upgrade", "-c", str(config), "-d", str(tmp_path)])
    assert upgraded.exit_code == 0, upgraded.output
    engine = create_engine(url)
    assert current(engine) == {head("shop"), head("console")}  # the console store shares the database
    tables = set(inspect(engine).get_table_names())
    assert {"customers", "audit_log", "events", "kefu_idempotency", "checkpoints"} <= tables
    assert runner.invoke(app, ["db", "upgrade", "-c", str(config), "-d", str(tmp_path)]).exit_code == 0

    loaded = runner.invoke(app, ["shop", "init", "-c", str(config), "-d", str(tmp_path)])
    assert loaded.exit_code == 0, loaded.output
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM orders")).scalar() == 1000
    engine.dispose()
    assert "s3cret-pw" not in upgraded.output + loaded.output and "***" in loaded.output
