"""`kefu serve`: the assistant as an HTTP service, with the chat widget, demo page and console.

A Typer command function; the `kefu` CLI mounts it with `app.command("serve")(serve)`. It imports
only Typer at module level, so `kefu --help` stays fast and works without the `server` extra.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

import typer

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="The assistant's YAML config file.")]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", "-d", help="Where the shop and sessions live.")
]


def _key_option(values: list[str], role: str) -> list[dict[str, Any]]:
    keys = []
    for i, value in enumerate(values):
        name, sep, key = value.partition(":")
        if not sep:
            name, key = f"{role}-{i + 1}", value
        keys.append({"key": key, "name": name, "role": role})
    return keys


def serve(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    server_config: Annotated[
        Path | None,
        typer.Option("--server-config", help="YAML of server settings (keys, limits; docs/service.md)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="Build the demo shop if missing, serve /demo, make keys if none are set."
        ),
    ] = False,
    app_key: Annotated[list[str], typer.Option(help="An app key ([NAME:]KEY), repeatable.")] = [],  # noqa: B006
    widget_key: Annotated[list[str], typer.Option(help="A widget key ([NAME:]KEY), repeatable.")] = [],  # noqa: B006
    operator_key: Annotated[
        list[str], typer.Option(help="An operator key (NAME:KEY; NAME is shown to customers), repeatable.")
    ] = [],  # noqa: B006
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve the assistant over HTTP: customer API, OpenAI-compatible endpoint, widget, console, metrics."""
    try:
        import uvicorn

        from kefu.server.app import create_app
        from kefu.server.logs import configure_json_logging
        from kefu.server.settings import ApiKey, ServerSettings
    except ImportError as e:  # pragma: no cover - depends on the install
        typer.echo(
            f"kefu serve needs the server extra: pip install 'kefu[server]' ({e.name} is missing)", err=True
        )
        raise typer.Exit(2) from e
    from pydantic import SecretStr

    from kefu.assistant import Assistant, ensure_demo_shop
    from kefu.config import Config

    cfg = Config.load(config) if config else Config()
    if data_dir is not None:
        cfg = cfg.model_copy(update={"data_dir": data_dir})
    settings = ServerSettings.load(server_config)
    extra = [
        *_key_option(app_key, "app"),
        *_key_option(widget_key, "widget"),
        *_key_option(operator_key, "operator"),
    ]
    updates: dict[str, Any] = {}
    made: dict[str, str] = {}
    if demo:
        from kefu.config import with_demo_generator

        ensure_demo_shop(cfg)
        cfg = with_demo_generator(cfg)
        updates["demo_page"] = True
        have = {k.role for k in settings.api_keys} | {k["role"] for k in extra}
        for role, name in (("widget", "demo-widget"), ("operator", "demo-operator"), ("app", "demo-app")):
            if role not in have:
                made[role] = f"{role[:2]}_{secrets.token_urlsafe(24)}"
                extra.append({"key": made[role], "name": name, "role": role})
        if settings.customer_token_secret is None:
            updates["customer_token_secret"] = SecretStr(secrets.token_urlsafe(32))
    if extra:
        updates["api_keys"] = [*settings.api_keys, *(ApiKey(**k) for k in extra)]
    if updates:
        settings = settings.model_copy(update=updates)

    configure_json_logging(log_level)
    bot = Assistant(cfg, demo_knowledge=demo)  # the demo shop's FAQ and policy, indexed on first use
    app = create_app(bot, settings=settings)
    base = f"http://{host if host not in ('0.0.0.0', '::') else '127.0.0.1'}:{port}"
    typer.echo(f"kefu serving on {base}  (API docs: {base}/docs, metrics: {base}/metrics)")
    if demo:
        typer.echo(f"demo shop page: {base}/demo")
        op = made.get("operator")
        typer.echo(f"operator console: {base}/console" + (f"#key={op}" if op else ""))
        if "app" in made:
            typer.echo(f"app key (for the API and the openai client): {made['app']}")
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=int(settings.drain_timeout_s) or None,
            limit_concurrency=None,
            server_header=False,
        )
    )
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl+C after its graceful shutdown
        pass
    finally:
        bot.close()


def main() -> None:
    """`python -m kefu.server` runs the same command on its own."""
    typer.run(serve)
