"""What an evaluation suite is: something with a name that, given a context, returns a report.

Built-in suites and the ones business teams ship (entry-point group `kefu.eval_suites`) use the same
small types: a `Suite` returns a `SuiteReport` holding metrics (each says which direction is better,
so `kefu eval compare` knows a regression), tables, figures (data; the HTML report draws them) and
cases (one per conversation or item, with its transcript). A suite that does not apply here raises
`Skip` with the reason, and the run goes on.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

if TYPE_CHECKING:
    from kefu.evals.config import EvalConfig
    from kefu.evals.shop_state import ShopTemplate

Better = Literal["higher", "lower"] | None
Status = Literal["ok", "skipped", "error"]


class Skip(Exception):  # noqa: N818 - reads as `raise Skip("no endpoint configured")`
    """Raised by a suite that does not apply here; the message says why (shown in every report)."""


@dataclass
class Metric:
    """One number a suite measured."""

    value: float
    better: Better = "higher"
    """Which direction is an improvement (None: informational, never a regression)."""
    unit: str = ""
    """"ms", "s"...; "count" for whole numbers; "" for rates and scores (fractions in 0..1)."""
    description: str = ""
    headline: bool = False
    """Shown in the summary tables (summary.md, the top of report.html)."""

    def formatted(self) -> str:
        return format_value(self.value, self.unit)


def format_value(value: float, unit: str = "") -> str:
    """0.934 → "0.934"; 12.34 ms → "12.3 ms"; 3 count → "3"."""
    if value != value:
        return "–"
    if unit == "count":
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    if unit:
        return f"{value:.1f} {unit}" if abs(value) < 1000 else f"{value:.0f} {unit}"
    return f"{value:.3f}"


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Figure:
    """A plot, as data: `kind` is heatmap, histogram, lines or bars (see `kefu.evals.svg_charts`)."""

    kind: Literal["heatmap", "histogram", "lines", "bars"]
    title: str
    data: dict[str, Any]


@dataclass
class Case:
    """One item a suite judged: a conversation, a task, a question."""

    id: str
    passed: bool
    detail: str = ""
    """Why it failed (or a short note)."""
    transcript: list[dict[str, Any]] = field(default_factory=list)
    """Turns as {customer, reply, tool_calls, ...} (see `TurnRecord.as_dict`)."""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class SuiteReport:
    """Everything one suite found; what results.json, report.html and summary.md are made from."""

    name: str
    status: Status = "ok"
    reason: str = ""
    """Why it was skipped or failed."""
    description: str = ""
    metrics: dict[str, Metric] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Sentences for the reader: what was measured on what, which parts were left out and why."""
    seconds: float = 0.0
    artifacts: list[str] = field(default_factory=list)
    """Files the suite wrote in the run folder (relative paths)."""

    def metric(
        self,
        name: str,
        value: float,
        *,
        better: Better = "higher",
        unit: str = "",
        description: str = "",
        headline: bool = False,
    ) -> None:
        self.metrics[name] = Metric(float(value), better, unit, description, headline)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SuiteReport:
        return cls(
            name=data["name"],
            status=data.get("status", "ok"),
            reason=data.get("reason", ""),
            description=data.get("description", ""),
            metrics={k: Metric(**v) for k, v in data.get("metrics", {}).items()},
            tables=[Table(**t) for t in data.get("tables", [])],
            figures=[Figure(**f) for f in data.get("figures", [])],
            cases=[Case(**c) for c in data.get("cases", [])],
            notes=list(data.get("notes", [])),
            seconds=float(data.get("seconds", 0.0)),
            artifacts=list(data.get("artifacts", [])),
        )


class ProgressTask(Protocol):
    def advance(self, n: int = 1) -> None: ...


class _NoProgress:
    def advance(self, n: int = 1) -> None:
        return None


ProgressFactory = Callable[[str, int | None], contextlib.AbstractContextManager[ProgressTask]]


@contextlib.contextmanager
def _no_progress(description: str, total: int | None) -> Iterator[ProgressTask]:
    yield _NoProgress()


def default_datasets_dir() -> Path | None:
    """`$KEFU_DATASETS`, else `shared/datasets` beside the repository (or the working directory)."""
    env = os.environ.get("KEFU_DATASETS")
    if env:
        return Path(env) if Path(env).is_dir() else None
    here = Path(__file__).resolve()
    for parent in [*here.parents, Path.cwd()]:
        candidate = parent.parent / "shared" / "datasets"
        if candidate.is_dir():
            return candidate
    return None


@dataclass
class EvalContext:
    """What a suite gets: the run's config, where to write, the data, and shared resources."""

    config: EvalConfig
    run_dir: Path
    """The run folder; a suite may write files there (list them in `SuiteReport.artifacts`)."""
    datasets_dir: Path | None = None
    """The shared datasets folder, when there is one."""
    repeat: int = 1
    """How many times conversation suites run each conversation (for pass^k)."""
    progress: ProgressFactory = _no_progress
    """`with ctx.progress("scenarios", total) as bar: bar.advance()` — a rich bar in the CLI."""
    log: Callable[[str], None] = lambda message: None
    _template: ShopTemplate | None = None

    def options(self, suite: str) -> dict[str, Any]:
        """This suite's section of the config's `options` mapping."""
        return dict(self.config.options.get(suite, {}))

    def dataset(self, name: str) -> Path:
        """`datasets_dir / name`, or `Skip` saying that it is missing."""
        if self.datasets_dir is None:
            raise Skip(
                f"needs ../shared/datasets/{name}, and no datasets folder was found "
                "(set `datasets:` in the evals config or $KEFU_DATASETS)"
            )
        path = self.datasets_dir / name
        if not path.exists():
            raise Skip(f"needs {path}, which does not exist")
        return path

    def shop_template(self) -> ShopTemplate:
        """The demo shop, built once per run and copied for each conversation."""
        if self._template is None:
            from kefu.evals.shop_state import ShopTemplate

            self._template = ShopTemplate()
        return self._template

    def make_assistant(self, shop_url: str, data_dir: Path) -> Any:
        """The assistant under test over `shop_url`: the config's `assistant` section, throwaway sessions."""
        from kefu.assistant import Assistant
        from kefu.config import Config

        settings = {**self.config.assistant}
        settings.update(data_dir=data_dir, shop={"database_url": shop_url}, sessions={"url": "memory://"})
        return Assistant(Config(**settings))

    @contextlib.contextmanager
    def assistant(self) -> Iterator[Any]:
        """The assistant under test over a fresh copy of the demo shop, closed and removed afterwards."""
        import shutil
        import tempfile

        workdir = Path(tempfile.mkdtemp(prefix="kefu-eval-"))
        try:
            bot = self.make_assistant(self.shop_template().fresh(workdir), workdir)
            try:
                yield bot
            finally:
                bot.close()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def close(self) -> None:
        if self._template is not None:
            self._template.remove()
            self._template = None


class Suite:
    """Base class of evaluation suites. Set `name` (and `description`), implement `run`.

    `default = False` keeps a suite out of a plain `kefu eval` (it runs when named).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    default: ClassVar[bool] = True

    def run(self, ctx: EvalContext) -> SuiteReport:
        raise NotImplementedError

    def report(self) -> SuiteReport:
        """An empty report carrying this suite's name and description."""
        return SuiteReport(name=self.name, description=self.description)
