# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: run test check lint benchmark clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## Serve http://localhost:8322 on the built-in SPUC emulator, or on SPUC_URL when set.
run: $(STAMP)
	@if [ -n "$$SPUC_URL$$SPUC_HOST" ]; then \
		$(BIN)/spucsvi serve --bind 127.0.0.1:8322; \
	else \
		$(BIN)/spucsvi demo; \
	fi

## Run the whole test suite: a test file per process, two at a time; then the
## container tests, which share one Docker engine and its images, in one process.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile --ignore=tests/container
	$(BIN)/python -m pytest tests/container

## The fast tier for the inner loop: no browser, no containers, nothing slow.
check: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not browser and not slow" --ignore=tests/container

# The page's script checks (eslint, prettier), pinned in package-lock.json.
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

## Lint, check formatting and type-check (CI runs this before the tests): Python
## (ruff, mypy), the page's script (eslint, prettier).
lint: $(STAMP) $(NPM_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	npm run --silent lint

## Measure throughput, latency and memory at 1,000 to 1,000,000 sightings.
benchmark: $(STAMP)
	$(BIN)/python -m benchmarks.bench

clean:
	rm -rf $(VENV) node_modules build dist .pytest_cache .hypothesis .mypy_cache
