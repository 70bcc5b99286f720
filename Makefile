# The two commands a newcomer needs are `make report` and `make test`; both bootstrap what is missing.
SHELL := /bin/bash
VENV := .venv/bin
PYTEST_ARGS ?=

.PHONY: bootstrap report test test-browser test-containers test-heavy lint stack-up stack-down bench clean

bootstrap:
	@bash scripts/bootstrap.sh

# --exit-zero: a failed or inconclusive gate is the job's result, not a make error; CI reads launchgate run's 0/1/3.
report: bootstrap
	@$(VENV)/launchgate run --target reference --exit-zero

test: bootstrap
	@bash scripts/test.sh $(PYTEST_ARGS)

# Parts of `make test`, to run alone.
test-browser: bootstrap
	@$(VENV)/pytest tests e2e -m browser -p no:cacheprovider $(PYTEST_ARGS)

test-containers: bootstrap
	@bash scripts/test-containers.sh

test-heavy: bootstrap
	@$(VENV)/pytest tests -m heavy -p no:cacheprovider $(PYTEST_ARGS)

lint: bootstrap
	@$(VENV)/ruff check .

stack-up: bootstrap
	@$(VENV)/launchgate stack up

stack-down:
	@$(VENV)/launchgate stack down

bench: bootstrap
	@for b in bench/*.py; do echo "== $$b"; $(VENV)/python $$b || exit 1; done

clean:
	@-$(VENV)/launchgate stack down 2>/dev/null
	@-$(VENV)/python -m reference371os.provision.engine stop 2>/dev/null
	rm -rf .launchgate .reference371os reports/*/ reports/latest .coverage .coverage.*
