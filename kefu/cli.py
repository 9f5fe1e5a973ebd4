"""The `kefu` command: chat in the terminal, build the demo shop, benchmark, evaluate."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from kefu._version import __version__

app = typer.Typer(
    help="kefu (客服): customer-service assistants, offline by default.",
    no_args_is_help=True,
    add_completion=False,
)
shop_app = typer.Typer(help="The shop database.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks that write measured numbers to a file.", no_args_is_help=True)
kb_app = typer.Typer(
    help="The knowledge base: policies and FAQ the assistant answers from.", no_args_is_help=True
)
recsys_app = typer.Typer(
    help="The recommender: fit, tune, evaluate, and try it on a customer.", no_args_is_help=True
)
app.add_typer(shop_app, name="shop")
app.add_typer(bench_app, name="bench")
app.add_typer(recsys_app, name="recsys")
app.add_typer(kb_app, name="kb")
train_app = typer.Typer(
    help="Train kefu's models (safety heads, generator, intent and sentiment) on local data.",
    no_args_is_help=True,
)
app.add_typer(train_app, name="train")
_PASS = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}
console = Console()

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file.")]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", "-d", help="Where the shop and sessions live.")
]


def _version(value: bool) -> None:
    if value:
        console.print(f"kefu {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """kefu (客服): customer-service assistants, offline by default."""


def _config(config: Path | None, data_dir: Path | None):  # type: ignore[no-untyped-def]
    from kefu.config import Config

    cfg = Config.load(config) if config else Config()
    if data_dir is not None:
        cfg = cfg.model_copy(update={"data_dir": data_dir})
    return cfg


@shop_app.command("init")
def shop_init(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    keep: Annotated[bool, typer.Option(help="Keep an existing shop instead of resetting it.")] = False,
) -> None:
    """Build (or reset) the demo shop: τ-bench's retail users, orders and products."""
    from kefu.assistant import ensure_demo_shop

    cfg = _config(config, data_dir)
    built = ensure_demo_shop(cfg, reset=not keep)
    where = _safe_url(cfg.shop_url)
    console.print(f"[green]demo shop {'built' if built else 'kept'}[/] at {where}")
    if cfg.knowledge.enabled:
        from kefu.tools.knowledge import KnowledgeBase

        with KnowledgeBase.demo(cfg.knowledge_location, encoder=cfg.knowledge.encoder) as kb:
            console.print(f"[green]knowledge base ready[/] at {cfg.knowledge_location} ({len(kb)} passages)")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


db_app = typer.Typer(help="The databases' schema (migrations shipped in the package).", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    server_config: Annotated[
        Path | None, typer.Option("--server-config", help="Server settings (for `store_url`).")
    ] = None,
) -> None:
    """Create or upgrade every kefu table in place: the shop's database, the sessions, the console store.

    Safe to run on every deploy and from several replicas at once; `kefu serve` also does it at start."""
    from sqlalchemy import create_engine

    from kefu.agents import open_checkpointer
    from kefu.migrations import current, upgrade

    cfg = _config(config, data_dir)
    targets = [("shop", cfg.shop_url)]
    try:
        from kefu.server.settings import ServerSettings
        from kefu.server.store import default_store_url

        targets.append(("console", ServerSettings.load(server_config).store_url or default_store_url(cfg)))
    except ImportError:  # no server extra: no console store to upgrade
        pass
    for part, url in targets:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        try:
            upgrade(engine, part)  # type: ignore[arg-type]
            console.print(f"[green]{part}[/] at {', '.join(sorted(current(engine)))}: {_safe_url(url)}")
        finally:
            engine.dispose()
    saver = open_checkpointer(cfg.sessions_url)  # LangGraph's own tables
    conn = getattr(saver, "conn", None)
    if conn is not None:
        conn.close()
    console.print(f"[green]sessions[/] ready: {_safe_url(cfg.sessions_url)}")


@app.command()
def chat(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    demo: Annotated[bool, typer.Option("--demo", help="Build the demo shop first if there is none.")] = False,
    session: Annotated[str | None, typer.Option(help="Resume this session id.")] = None,
) -> None:
    """Chat with the assistant in the terminal (type 'quit' to leave)."""
    from kefu.assistant import Assistant, ensure_demo_shop

    cfg = _config(config, data_dir)
    if demo:
        from kefu.config import with_demo_generator

        ensure_demo_shop(cfg)
        cfg = with_demo_generator(cfg)
    bot = Assistant(cfg, demo_knowledge=demo)
    session_id = session or f"cli-{uuid.uuid4().hex[:8]}"
    console.print(
        f"[bold]kefu {__version__}[/] — session [cyan]{session_id}[/] (resume with --session "
        f"{session_id}). Type 'quit' to leave."
    )
    console.print(
        "Try: [italic]hi, I want to return something[/] — demo customer: "
        "[italic]noah.brown7922@example.com[/]"
    )
    while True:
        try:
            text = console.input("[bold green]you>[/] ")
        except (EOFError, KeyboardInterrupt):
            break
        if text.strip().lower() in ("quit", "exit", ":q"):
            break
        reply = bot.respond(text, session_id=session_id)
        for call in reply.tool_calls:
            status = "[red]✗[/]" if call.error else "[green]✓[/]"
            console.print(
                f"  [dim]{status} {call.name}({', '.join(f'{k}={v!r}' for k, v in call.args.items())})[/]"
            )
        console.print(f"[bold blue]kefu>[/] {reply.text}")
        if reply.handoff:
            console.print("[yellow](handed off to a person)[/]")
    bot.close()


@bench_app.command("turns")
def bench_turns(
    out: Annotated[Path, typer.Option(help="Markdown file to write (a section is replaced).")] = Path(
        "docs/benchmarks.md"
    ),
    repeats: Annotated[int, typer.Option(help="Times the fixed script is run.")] = 5,
) -> None:
    """Per-turn latency of the embedded brain on a fixed script (p50/p95), and the framework's share."""
    from kefu.bench import run_turn_benchmark

    section = run_turn_benchmark(repeats=repeats)
    _write_section(out, "Per-turn latency of the embedded brain", section)
    console.print(section)
    console.print(f"[green]written to {out}[/]")


@bench_app.command("scenarios")
def bench_scenarios(
    out: Annotated[Path, typer.Option(help="Markdown file to write (a section is replaced).")] = Path(
        "docs/benchmarks.md"
    ),
    path: Annotated[
        list[str] | None, typer.Option(help="Scenario files or folders (default: the shipped ones).")
    ] = None,
) -> None:
    """Run scripted demo-shop conversations and report success and policy violations."""
    from kefu.bench import run_scenario_benchmark

    section = run_scenario_benchmark(path)
    title = "Scripted conversations" + (f" ({', '.join(path)})" if path else "")
    rerun = "`.venv/bin/kefu bench scenarios" + "".join(f" --path {p}" for p in path or []) + "`"
    _write_section(out, title, f"{section}\n\nRerun: {rerun}")
    console.print(section)


@bench_app.command("nlu")
def bench_nlu(
    out: Annotated[Path, typer.Option(help="Markdown file to write (a section is replaced).")] = Path(
        "docs/benchmarks.md"
    ),
) -> None:
    """Held-out accuracy and latency of the shop's intent classifier."""
    from kefu.bench import run_nlu_benchmark

    section = run_nlu_benchmark()
    _write_section(out, "Shop intent classifier", section + "\n\nRerun: `.venv/bin/kefu bench nlu`")
    console.print(section)


@kb_app.command("ingest")
def kb_ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Files or folders: Markdown, text, HTML, CSV/JSON FAQ.")
    ],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Index documents (unchanged files are skipped, changed ones re-indexed); a running assistant sees
    the change at its next question."""
    from kefu.tools.knowledge import KnowledgeBase

    cfg = _config(config, data_dir)
    with KnowledgeBase(cfg.knowledge_location, encoder=cfg.knowledge.encoder) as kb:
        report = kb.ingest(paths, progress=True)
    console.print(report)
    if not report.ok:
        raise typer.Exit(1)


@kb_app.command("search")
def kb_search(query: str, config: ConfigOpt = None, data_dir: DataDirOpt = None, k: int = 3) -> None:
    """Search the knowledge base as the assistant would."""
    from kefu.tools.knowledge import KnowledgeBase

    cfg = _config(config, data_dir)
    with KnowledgeBase(cfg.knowledge_location, encoder=cfg.knowledge.encoder) as kb:
        results = kb.search(query, k=k)
    if not results:
        console.print("[yellow]not found[/] (below the score threshold)")
    for r in results:
        console.print(f"[bold]{r.score:.3f}[/] {r.passage.id}\n  {r.snippet}")


@kb_app.command("tune")
def kb_tune(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="Where to save the adapter (default: DATA_DIR/knowledge-encoder).")
    ] = None,
    steps: Annotated[int, typer.Option(help="Training steps (batches of 32 FAQ entries).")] = 120,
    seed: int = 0,
) -> None:
    """Tune the knowledge base's encoder on its own FAQ (questions, sample questions, answers), then embed the
    index again with it; every later opener of this knowledge base uses the tuned encoder."""
    from rich.progress import Progress

    from kefu.tools.knowledge import KnowledgeBase
    from kefu.tools.knowledge.tuning import faq_groups, tune_encoder

    cfg = _config(config, data_dir)
    with KnowledgeBase(cfg.knowledge_location) as kb:
        groups = faq_groups(kb.passages())
    target = out or cfg.data_dir / "knowledge-encoder"
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("tuning", total=steps)
        try:
            report = tune_encoder(
                groups, target, steps=steps, seed=seed, progress=lambda n, loss: bar.update(task, completed=n)
            )
        except ValueError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
    console.print(
        f"[green]adapter saved[/] at {report.adapter} ({report.entries} FAQ entries, {report.steps} steps, "
        f"loss {report.first_loss:.3f} -> {report.last_loss:.3f}, {report.seconds:.0f} s)"
    )
    with KnowledgeBase(cfg.knowledge_location, encoder=report.adapter) as kb:
        count = kb.reembed()
    console.print(f"[green]knowledge base embedded again[/] with it ({count} records)")


@bench_app.command("service", context_settings=_PASS)
def bench_service(ctx: typer.Context) -> None:
    """HTTP service throughput and latency at 1/8/32/64 sessions (options: `kefu bench service --help`)."""
    from kefu.server.load_bench import main as service_main

    raise typer.Exit(service_main(ctx.args))


@bench_app.command("deploy", context_settings=_PASS)
def bench_deploy(ctx: typer.Context) -> None:
    """Embedded stack vs PostgreSQL + Chroma server + Redis, 1 and 2 replicas at 32 sessions (`--help`)."""
    from kefu.server.deploy_bench import main as deploy_main

    raise typer.Exit(deploy_main(ctx.args))


def _recsys_cli(command: str, args: list[str]) -> None:
    from kefu.recsys.cli import main as recsys_main

    raise typer.Exit(recsys_main([command, *args]))


@recsys_app.command("eval", context_settings=_PASS)
def recsys_eval(ctx: typer.Context) -> None:
    """Benchmark on UCI Online Retail and MovieLens (options: see `kefu recsys eval --help`)."""
    _recsys_cli("eval", ctx.args)


@recsys_app.command("tune", context_settings=_PASS)
def recsys_tune(ctx: typer.Context) -> None:
    """Search hyper-parameters on a validation split (options: `kefu recsys tune --help`)."""
    _recsys_cli("tune", ctx.args)


@recsys_app.command("fit", context_settings=_PASS)
def recsys_fit(ctx: typer.Context) -> None:
    """Fit on an event file and save a model directory (options: `kefu recsys fit --help`)."""
    _recsys_cli("fit", ctx.args)


@recsys_app.command("recommend")
def recsys_recommend(
    customer: Annotated[str, typer.Argument(help="Customer id, e.g. noah_brown_6181.")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    n: Annotated[int, typer.Option(help="How many suggestions.")] = 5,
) -> None:
    """Suggestions for one customer of the shop, with the reason for each."""
    from sqlalchemy import create_engine

    from kefu.assistant import ensure_demo_shop
    from kefu.tools.orders import OrderStore
    from kefu.tools.recommend import ShopRecommender

    cfg = _config(config, data_dir)
    ensure_demo_shop(cfg)
    from kefu.event_log import EventLog

    engine = create_engine(cfg.shop_url)
    recommender = ShopRecommender(
        OrderStore(engine), EventLog(engine), exclude_categories=cfg.recsys.exclude_categories
    )
    for entry in recommender.personal(customer, n):
        console.print(f"{entry['name']} [dim]({entry['product_id']})[/] — {entry['reason']}")


@train_app.command("safety", context_settings=_PASS)
def train_safety(ctx: typer.Context) -> None:
    """Fit the safety heads on the safety datasets' train splits (options: `kefu train safety --help`)."""
    from kefu.safety.cli import main as safety_main

    raise typer.Exit(safety_main(["train", *ctx.args]))


@train_app.command("generator", context_settings=_PASS)
def train_generator(ctx: typer.Context) -> None:
    """LoRA fine-tuning of the reply writer (SmolLM2-135M); writes the adapter (options: --help)."""
    from kefu.agents.generation.cli import main as generation_main

    raise typer.Exit(generation_main(["train", *ctx.args]))


@train_app.command("intent", context_settings=_PASS)
def train_intent(ctx: typer.Context) -> None:
    """Intent model from a labelled CSV/JSON file: --data FILE [--out DIR] [--method frozen|finetune]."""
    from kefu.agents.nlu.cli import main as nlu_main

    raise typer.Exit(nlu_main(["intent", *ctx.args]))


@train_app.command("sentiment", context_settings=_PASS)
def train_sentiment(ctx: typer.Context) -> None:
    """Refit the shipped sentiment head (UCI sentences + kefu's messages; options: --help)."""
    from kefu.agents.nlu.cli import main as nlu_main

    raise typer.Exit(nlu_main(["sentiment", *ctx.args]))


@bench_app.command("nlu-public", context_settings=_PASS)
def bench_nlu_public(ctx: typer.Context) -> None:
    """BANKING77, CLINC150, sentiment and latency → docs/benchmarks_nlu.md (options: --help)."""
    from kefu.agents.nlu.cli import main as nlu_main

    raise typer.Exit(nlu_main(["bench", *ctx.args]))


@bench_app.command("generation", context_settings=_PASS)
def bench_generation(ctx: typer.Context) -> None:
    """Reply writer speed per precision → docs/benchmarks_generation.md (options: --help)."""
    from kefu.agents.generation.cli import main as generation_main

    raise typer.Exit(generation_main(["bench", *ctx.args]))


def _write_section(path: Path, title: str, body: str) -> None:
    """Replace (or append) the `## title` section of a Markdown file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    header = f"## {title}"
    start = text.find(header)
    new = f"{header}\n\n{body.strip()}\n"
    if start < 0:
        text = text.rstrip() + "\n\n" + new
    else:
        end = text.find("\n## ", start + len(header))
        text = text[:start] + new + ("\n" + text[end + 1 :] if end >= 0 else "")
    path.write_text(text, encoding="utf-8")


from kefu.evals.cli import app as eval_app  # noqa: E402  (imports only Typer)
from kefu.server.cli import serve as serve_command  # noqa: E402  (imports only Typer)

app.command("serve")(serve_command)
app.add_typer(eval_app, name="eval")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
