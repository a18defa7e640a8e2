# The two commands that matter: `make demo` and `make test`. Both set up
# everything first (`make install`), so they work on a fresh machine.

PYTHON ?= python3.11
UV_VERSION := 0.13.9
TOOLS := var/tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
OVERDUE := $(BIN)/overdue
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install system-packages python-env kafka-jars infra infra-down status \
        test unit integration lint format demo schemas asyncapi clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

install: system-packages python-env kafka-jars ## set up everything: Debian packages, .venv, Kafka's jars

system-packages:
	@bash scripts/install-system.sh

$(UV):
	@$(PYTHON) -m venv $(TOOLS)
	@$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

python-env: $(UV)
	@$(UV) sync --frozen --quiet --compile-bytecode --python $(PYTHON)
	@$(BIN)/python -m compileall -q shared services > /dev/null

kafka-jars: python-env
	@$(OVERDUE) infra fetch

infra: install ## start Kafka, PostgreSQL and the SMTP sink (idempotent)
	@$(OVERDUE) infra up

infra-down: ## stop what `make infra` started
	@$(OVERDUE) infra down

status: ## show what answers where
	@$(OVERDUE) infra status

test: install ## start the stack, run every test, stop the stack
	@$(OVERDUE) infra up
	@status=0; $(BIN)/pytest $(PYTEST_ARGS) || status=$$?; \
	  $(OVERDUE) infra down; exit $$status

unit: python-env ## the tests that need no running service
	@$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: install ## the tests against the real Kafka, PostgreSQL and SMTP
	@$(OVERDUE) infra up
	@status=0; $(BIN)/pytest tests/integration $(PYTEST_ARGS) || status=$$?; \
	  $(OVERDUE) infra down; exit $$status

lint: python-env ## ruff format --check, ruff check, mypy
	@$(BIN)/ruff format --check .
	@$(BIN)/ruff check .
	@$(BIN)/mypy shared services

format: python-env ## rewrite the code in the house format
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

schemas: python-env ## regenerate docs/schemas from the event contracts
	@$(OVERDUE) contracts schemas

asyncapi: python-env ## regenerate docs/asyncapi from the services
	@for svc in ledger scheduler notifier; do $(OVERDUE) $$svc asyncapi; done

demo: install ## start the stack, simulate 120 days of examples/demo/, stop the stack
	@status=0; trap 'status=130' INT TERM; \
	  $(OVERDUE) infra up && $(BIN)/python -m shared.devstack.demo || status=$$?; \
	  $(OVERDUE) infra down; down=$$?; \
	  [ $$status -ne 0 ] || status=$$down; exit $$status

clean: ## stop the stack and delete var/ (jars, databases, outbox) and .venv
	-@$(OVERDUE) infra down 2>/dev/null
	rm -rf var $(VENV)
