# Two commands for a newcomer: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test test-fast lint format bench reindex eval fit clean postgres

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime  ## the product: Discord bot with DISCORD_TOKEN, terminal chat without
	$(PY) run_bot.py

test: $(VENV)/.dev lint postgres  ## lint, then every test (fast, real-model and end-to-end)
	$(PY) -m pytest

test-fast: $(VENV)/.dev postgres  ## only the tests that need neither the model nor the stand-in
	$(PY) -m pytest -m "not slow and not e2e"

lint: $(VENV)/.dev
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

format: $(VENV)/.dev
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

reindex: $(VENV)/.runtime
	$(PY) run_bot.py reindex

eval: $(VENV)/.dev  ## retrieval quality on the benchmark, cross-validated by article
	$(PY) run_bot.py eval data/benchmark

fit: $(VENV)/.dev  ## re-fit index/scorer.json on the benchmark (scikit-learn)
	$(PY) run_bot.py fit

bench: $(VENV)/.dev
	$(PY) run_bot.py bench

# The database tests (question log, article library) start a PostgreSQL server of their own
# (tests/databases.py); this installs Debian's when it is missing (as root, or through sudo).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "installing PostgreSQL's server for the database tests (apt-get)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; }

clean:
	rm -rf var .pytest_cache .ruff_cache
