# Battery passport ledger: the two README commands are `make run` and `make test`.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
# uv comes from PyPI like everything else; install it into the current Python if it is missing.
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

.DEFAULT_GOAL := help
.PHONY: help install browser postgres run stop test test-fast lint slither format messages artifacts gas clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

.venv/.installed: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv==0.13.9"
	$(UV) sync --frozen
	@touch $@

# Not `npm ci`: js-ipfs has an optional WebRTC add-on whose dependency is a GitHub tarball that cannot be
# fetched here, so the lock omits it and `npm ci` refuses the lock as out of sync. `npm install` installs
# exactly the locked versions and skips that optional add-on.
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

browser: ## Install Debian's Chromium and Korean fonts (fonts-noto-cjk) for the page (only if missing; needs root)
	@bash scripts/install_browser.sh

postgres: ## Install Debian's PostgreSQL 15 server binaries for the `postgres` tests (only if missing; needs root)
	@bash scripts/install_postgres.sh

install: .venv/.installed node_modules/.installed browser ## Install the locked Python/npm dependencies and Chromium (if missing)

run: install ## Start the local chain, deploy the ledger and serve the stack (Ctrl-C stops it)
	$(UV) run python -m scripts.run_stack

stop: .venv/.installed ## Stop a stack, chain or js-ipfs node an earlier run left running (by PID file)
	$(UV) run python -m scripts.run_stack --stop

test: install postgres lint ## Lint, type-check and run the whole test suite (slow suites included)
	$(UV) run pytest

# The edit-test loop: every package's tests on the in-process chain and embedded store, without Node,
# Chromium or the suites marked slow (CI runs those in `make test`). One process: on two shared cores,
# xdist workers (tried) cost more in start-up and duplicated chains than they win.
FAST_TESTS := not slow and not node and not browser

test-fast: .venv/.installed postgres ## Quick test loop (~70 s CPU): no slow, Node or browser tests; no lint
	$(UV) run pytest -m "$(FAST_TESTS)"

lint: .venv/.installed slither ## ruff + mypy --strict + import contracts (lint-imports) + slither
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run lint-imports

slither: .venv/.installed node_modules/.installed ## Static analysis of contracts/ (fails on any High or Medium finding)
	$(UV) run python -m scripts.slither

format: .venv/.installed ## Apply ruff's formatting and safe fixes
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

# The page's catalogues are the committed .po files (compiled in memory at startup, so there is no build
# step). This re-extracts the messages the templates and api/web mark and adds new ones to every
# catalogue, untranslated: tests/api/test_web_i18n.py fails until each has its translation.
messages: .venv/.installed ## Add the page's new messages to api/locales/*/messages.po (then translate them)
	$(UV) run pybabel extract -F api/locales/babel.cfg -k N_ -k ngettext:1,2 --no-location --sort-output --width 110 \
		--omit-header -o api/locales/messages.pot .
	$(UV) run pybabel update -i api/locales/messages.pot -d api/locales -D messages --width 110 \
		--no-fuzzy-matching --ignore-obsolete
	rm -f api/locales/messages.pot

artifacts: install ## Recompile contracts/ into passport/_artifacts (needs node_modules)
	$(UV) run python -m scripts.compile_contracts

gas: install ## Print the per-function gas report
	$(UV) run python -m scripts.gas_report

clean: ## Stop what runs under .data, then remove local chain data, stores and caches (keeps installs)
	@if [ -f .venv/.installed ]; then $(UV) run python -m scripts.run_stack --stop; fi
	rm -rf .data .build .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
