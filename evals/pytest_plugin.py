"""pytest plugin: assert on scenario suites in your own tests.

Installed with kefu (entry point `pytest11`), so in a business team's test suite::

    def test_our_conversations(kefu_scenarios):
        result = kefu_scenarios.run("tests/scenarios/")        # files or folders of scenario YAML
        assert result.violations == 0
        assert result.success_rate >= 0.9, result.explain_failures()

    def test_refunds_are_stable(kefu_scenarios):
        result = kefu_scenarios.run("tests/scenarios/refunds.yaml", repeat=4)
        assert result.pass_hat_k(4) >= 0.8

The assistant under test comes from the `kefu_assistant_factory` fixture: by default kefu's
embedded brain over a fresh demo shop per scenario. Override it in your conftest.py to test your
config, tools or model::

    @pytest.fixture
    def kefu_assistant_factory():
        def make(shop_url, data_dir):
            return Assistant(Config(data_dir=data_dir, shop={"database_url": shop_url},
                                    sessions={"url": "memory://"}, tools={"plugins": ["loyalty"]}))
        return make

`--kefu-repeat N` sets the default number of runs per scenario. The module imports nothing heavy:
pytest loads it in every test session of an environment where kefu is installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from kefu.evals.scenarios import ShopTemplate, SuiteResult

AssistantFactory = Callable[[str, Path], Any]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kefu", "kefu evaluation")
    group.addoption(
        "--kefu-repeat",
        type=int,
        default=1,
        help="kefu_scenarios: runs per scenario when a test does not say (for pass^k).",
    )


class ScenarioRunner:
    """What the `kefu_scenarios` fixture gives a test: `run(...)` returns a `SuiteResult`."""

    def __init__(self, make_assistant: AssistantFactory, template: ShopTemplate, repeat: int = 1) -> None:
        self.make_assistant = make_assistant
        self.template = template
        self.repeat = repeat

    def run(
        self,
        paths: str | Path | Iterable[str | Path] | None = None,
        *,
        ids: Iterable[str] = (),
        tags: Iterable[str] = (),
        repeat: int | None = None,
    ) -> SuiteResult:
        """Run scenarios (default: kefu's demo scenarios), each `repeat` times on a fresh shop.

        The result has `success_rate` (pass^1), `pass_hat_k(k)`, `violations`, `failed()` and
        `explain_failures()` for assertion messages.
        """
        from kefu.evals.scenarios import load_scenarios, run_suite, select_scenarios

        if isinstance(paths, str | Path):
            paths = [paths]
        scenarios = select_scenarios(load_scenarios(paths), ids=ids, tags=tags)
        if not scenarios:
            raise ValueError(f"no scenario found in {paths or 'the demo scenarios'} (ids={ids}, tags={tags})")
        return run_suite(scenarios, self.make_assistant, repeat=repeat or self.repeat, template=self.template)


@pytest.fixture(scope="session")
def kefu_shop_template() -> Iterator[ShopTemplate]:
    """kefu's demo shop, built once per test session; each scenario runs on a copy."""
    from kefu.evals.scenarios import ShopTemplate

    template = ShopTemplate()
    yield template
    template.remove()


@pytest.fixture
def kefu_assistant_factory() -> AssistantFactory:
    """`(shop_url, data_dir) -> Assistant` for the assistant under test; override it in conftest.py."""
    from kefu.evals.scenarios import embedded_assistant

    return embedded_assistant


@pytest.fixture
def kefu_scenarios(
    kefu_assistant_factory: AssistantFactory, kefu_shop_template: ShopTemplate, request: pytest.FixtureRequest
) -> ScenarioRunner:
    """Run scenario files against the assistant under test and assert on the result."""
    return ScenarioRunner(
        kefu_assistant_factory, kefu_shop_template, request.config.getoption("--kefu-repeat", default=1)
    )
