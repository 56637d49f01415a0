# Two commands for a fresh clone: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstall whenever pyproject.toml changes.
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run test lint bench screenshots clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $@

# Browser assets (htmx, Chart.js) from npm at the versions in package-lock.json, with their
# licences, into the package's static files (not committed). Needs node and npm.
VENDOR := src/anxin/web/static/vendor
$(VENDOR)/.installed: package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && \
		mkdir -p $(VENDOR) && \
		cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js && \
		cp node_modules/htmx.org/LICENSE $(VENDOR)/htmx.LICENSE && \
		cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chart.umd.min.js && \
		cp node_modules/chart.js/LICENSE.md $(VENDOR)/chart.js.LICENSE.md && \
		cp node_modules/@kurkle/color/LICENSE.md $(VENDOR)/kurkle-color.LICENSE.md && \
		touch $@; \
	else \
		echo "npm not found: the web pages work without htmx and charts (install node and npm)"; \
	fi

install: $(STAMP) $(VENDOR)/.installed

run: install
	$(BIN)/anxin migrate
	$(BIN)/anxin demo seed
	$(BIN)/anxin serve

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

# After changing the pages' texts: gather them into the template and the Chinese catalog
# (then translate its empty entries; the English catalog only names data words).
LOCALE := src/anxin/web/locale
messages: install
	$(BIN)/pybabel extract -F src/anxin/web/babel.cfg -k _ -k N_ --no-location --omit-header \
		--sort-output -o $(LOCALE)/messages.pot src/anxin/web
	$(BIN)/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) -l zh_CN -N -w 100

# The browser journeys, saving the last page of each per language (docs/screenshots/).
screenshots: install
	ANXIN_SCREENSHOTS=docs/screenshots ANXIN_BROWSER_ALL=1 $(BIN)/pytest tests/web -q -m slow -k sqlite

bench: install
	$(BIN)/anxin bench ledger --db sqlite
	$(BIN)/anxin bench ledger --db "$${ANXIN_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}"

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis node_modules $(VENDOR)
