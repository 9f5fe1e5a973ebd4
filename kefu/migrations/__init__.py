"""Schema migrations (Alembic) shipped in the package: every kefu database upgrades in place.

Two branches, one per database a deployment may keep apart:

- `shop`: the shop's tables, the audit log and the event table (the shop's database);
- `console`: the server's conversations, transcript, ratings, suggestions and idempotency keys (the
  console store, which may be the same database).

`upgrade(engine, "shop")` runs at start (the `Assistant`, `kefu shop init`, the server's store) and by
`kefu db upgrade`; on PostgreSQL it holds an advisory lock, so replicas starting together migrate once.
The first revision of each branch creates only the tables that are missing: a database made by kefu
before migrations existed is adopted as it is. Revisions record themselves in `kefu_schema_version`
(not `alembic_version`, which the shop's own migrations may use).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

from sqlalchemy import Engine, text

Part = Literal["shop", "console"]
VERSION_TABLE = "kefu_schema_version"
_LOCK_KEY = 0x6B656675  # "kefu": pg_advisory_xact_lock key held while migrating


@cache
def _scripts() -> tuple[Any, Any]:
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("kefu.migrations")))
    return cfg, ScriptDirectory.from_config(cfg)


def head(part: Part) -> str:
    """The newest revision of `part`."""
    _, script = _scripts()
    rev = script.get_revision(f"{part}@head")
    assert rev is not None
    return str(rev.revision)


def current(engine: Engine) -> set[str]:
    """The revisions the database is at (one per branch it holds; empty for a database never migrated)."""
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return set(ctx.get_current_heads())


def upgrade(engine: Engine, part: Part, target: str = "head") -> None:
    """Bring `part`'s tables in `engine`'s database to `target` (default: the newest revision)."""
    from alembic.runtime.environment import EnvironmentContext

    cfg, script = _scripts()
    destination = f"{part}@{target}"

    def steps(rev: Any, _context: Any) -> Any:
        return script._upgrade_revs(destination, rev)

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        with EnvironmentContext(cfg, script, fn=steps, destination_rev=destination) as env:
            env.configure(
                connection=conn,
                version_table=VERSION_TABLE,
                render_as_batch=conn.dialect.name == "sqlite",  # ALTERs on SQLite rebuild the table
            )
            with env.begin_transaction():
                env.run_migrations()
