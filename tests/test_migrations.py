"""Schema migrations: a database made before migrations existed is adopted in place; the shipped
revisions build exactly the tables the models describe."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, inspect, text

from kefu import Assistant, Config
from kefu.event_log import _Base as EventsBase
from kefu.migrations import VERSION_TABLE, current, head, upgrade
from kefu.tools import load_shop
from kefu.tools.orders import schema as shop_schema


def _metadata(*sources: MetaData) -> MetaData:
    merged = MetaData()
    for source in sources:
        for table in source.tables.values():
            table.to_metadata(merged)
    return merged


def _pre_migration_shop(path: Path) -> str:
    """A shop database as kefu made it before migrations: `create_all`, data, an audit row, events."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    _metadata(shop_schema.Base.metadata, EventsBase.metadata).create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (id, first_name, last_name, email, address1, address2, city, state, "
                "country, zip) VALUES ('c1', 'Ada', 'L', 'ada@example.com', '1 Road', '', 'X', 'Y', 'Z', '1')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO audit_log (at, tool, args, outcome, detail) "
                "VALUES ('2026-01-01 00:00:00', 'cancel_pending_order', '{}', 'done', '')"
            )
        )
    engine.dispose()
    return url


def test_a_pre_migration_shop_is_adopted_in_place(tmp_path: Path):
    url = _pre_migration_shop(tmp_path / "shop.sqlite")
    bot = Assistant(Config(data_dir=tmp_path, shop={"database_url": url}, knowledge={"enabled": False}))
    bot.close()
    engine = create_engine(url)
    assert current(engine) == {head("shop")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT email FROM customers")).scalar() == "ada@example.com"
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 1
    engine.dispose()


def test_a_pre_migration_console_store_gains_the_idempotency_table(tmp_path: Path):
    pytest.importorskip("fastapi", reason="the console store is part of the server extra")
    from kefu.server.store import ConsoleStore, _Base

    url = f"sqlite:///{tmp_path / 'console.sqlite'}"
    engine = create_engine(url)
    old = _metadata(_Base.metadata)
    old.remove(old.tables["kefu_idempotency"])
    old.create_all(engine)  # the four tables the server made before this release
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO kefu_conversations (session_id, status, channel, escalated, turns, last_text, "
                "created_at, updated_at) VALUES ('s1', 'bot', 'api', 0, 3, 'hi', '2026-01-01', '2026-01-01')"
            )
        )
    store = ConsoleStore(url)
    assert store.get("s1")["turns"] == 3
    store.close()
    assert "kefu_idempotency" in inspect(engine).get_table_names()
    assert current(engine) == {head("console")}
    engine.dispose()


def test_the_revisions_build_what_the_models_describe(tmp_path: Path):
    """Autogenerate finds nothing to do on a freshly migrated database: a model change without its
    revision fails here."""
    pytest.importorskip("fastapi", reason="the console store is part of the server extra")
    from kefu.server.store import _Base as ConsoleBase

    engine = create_engine(f"sqlite:///{tmp_path / 'all.sqlite'}")
    upgrade(engine, "shop")
    upgrade(engine, "console")
    models = _metadata(shop_schema.Base.metadata, EventsBase.metadata, ConsoleBase.metadata)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": lambda name, kind, _p: kind != "table" or name != VERSION_TABLE}
        )
        assert compare_metadata(context, models) == []
    engine.dispose()


def test_upgrading_twice_changes_nothing_and_the_shop_loads(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    load_shop(engine)
    before = sorted(inspect(engine).get_table_names())
    upgrade(engine, "shop")
    assert sorted(inspect(engine).get_table_names()) == before
    assert current(engine) == {head("shop")}
    engine.dispose()
