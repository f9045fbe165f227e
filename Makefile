# IRPM — two commands: `make run` (set up everything and serve) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000
# Test processes (pytest-xdist) for each run of the suite, every one on databases of its own
# (tests/databases.py); PYTEST_WORKERS=0 runs the suite in one process.
PYTEST_WORKERS ?= 2
# Front-end packages from npm (package.json / package-lock.json), copied where the app serves
# them; never committed.
NPM_STAMP    := node_modules/.installed
VENDOR       := web/static/vendor
VENDOR_STAMP := $(VENDOR)/.copied
# Message catalogs: .po committed, .mo compiled here.
CATALOGS := $(wildcard web/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(CATALOGS:.po=.mo)
# The designer's editor, diff and DMN scripts, bundled from web/static/src/designer by esbuild.
DESIGNER_SRC   := $(wildcard web/static/src/designer/*)
DESIGNER_STAMP := web/static/build/designer/.built

.PHONY: run test test-city test-sqlite test-postgres lint bench setup db clean browser translations \
        messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $(NPM_STAMP)

$(VENDOR_STAMP): $(NPM_STAMP)
	rm -rf $(VENDOR)
	mkdir -p $(VENDOR)/bootstrap $(VENDOR)/bpmn-js
	cp node_modules/bootstrap/dist/css/bootstrap.min.css \
	   node_modules/bootstrap/dist/css/bootstrap.min.css.map \
	   node_modules/bootstrap/dist/js/bootstrap.bundle.min.js \
	   node_modules/bootstrap/dist/js/bootstrap.bundle.min.js.map $(VENDOR)/bootstrap/
	cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js \
	   node_modules/bpmn-js/dist/bpmn-modeler.production.min.js $(VENDOR)/bpmn-js/
	cp -R node_modules/bpmn-js/dist/assets/. $(VENDOR)/bpmn-js/
	mkdir -p $(VENDOR)/swagger-ui
	cp node_modules/swagger-ui-dist/swagger-ui.css node_modules/swagger-ui-dist/swagger-ui-bundle.js \
	   node_modules/swagger-ui-dist/LICENSE $(VENDOR)/swagger-ui/
	mkdir -p $(VENDOR)/dmn-js $(VENDOR)/echarts
	cp node_modules/dmn-js/dist/dmn-modeler.production.min.js $(VENDOR)/dmn-js/
	cp -R node_modules/dmn-js/dist/assets/. $(VENDOR)/dmn-js/
	cp node_modules/echarts/dist/echarts.min.js node_modules/echarts/LICENSE $(VENDOR)/echarts/
	touch $(VENDOR_STAMP)

$(DESIGNER_STAMP): $(NPM_STAMP) $(DESIGNER_SRC)
	rm -rf web/static/build/designer
	node_modules/.bin/esbuild web/static/src/designer/editor.js web/static/src/designer/diff.js \
	  web/static/src/designer/dmn.js --bundle --minify --format=iife --target=es2020 \
	  --log-level=warning --outdir=web/static/build/designer
	cp node_modules/@bpmn-io/properties-panel/dist/assets/properties-panel.css \
	   web/static/build/designer/
	touch $(DESIGNER_STAMP)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel -q compile -i $< -o $@

translations: $(MO_FILES)

# After changing user-facing strings: extract them and merge into every catalog.
messages: setup
	$(BIN)/pybabel -q extract -F web/babel.cfg -k _l -o web/translations/messages.pot \
	  --no-location --omit-header --sort-output web
	$(BIN)/pybabel -q update -i web/translations/messages.pot -d web/translations \
	  --no-fuzzy-matching --width 100 --ignore-pot-creation-date

setup: $(STAMP) $(VENDOR_STAMP) $(MO_FILES) $(DESIGNER_STAMP)

db: setup  ## migrate the database (SQLite instance/irpm.db by default), deploy bpmn/, demo city
	$(BIN)/irpm db upgrade
	$(BIN)/irpm deploy --by setup
	$(BIN)/irpm demo load --if-empty --start-campaign

run: db
	$(BIN)/irpm serve --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check engine web scheduler tests bench migrations
	$(BIN)/mypy

# Debian's chromium (and a CJK font, so screenshots show the Chinese UI), only if missing.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  apt-get update && apt-get install -y --no-install-recommends chromium fonts-wqy-microhei; \
	elif ! fc-list :lang=zh family 2>/dev/null | grep -q .; then \
	  apt-get install -y --no-install-recommends fonts-wqy-microhei \
	    || echo "note: no CJK font; screenshots will not show Chinese text"; \
	fi

test-sqlite: setup browser
	@echo "== test suite on SQLite =="
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS)

test-postgres: setup browser
	@echo "== test suite on PostgreSQL (throwaway cluster) =="
	$(BIN)/python tests/pgtmp.py -- $(BIN)/python -m pytest -q -p no:cacheprovider \
	  -n $(PYTEST_WORKERS)

test: lint test-sqlite test-postgres

# The whole demo city's two-year rehearsal (minutes; SQLite): zero self-supervision and a
# disposal from each source. .ci/run runs it after make test.
test-city: setup
	@echo "== the whole demo city rehearsed (SQLite) =="
	$(BIN)/python -m pytest -q -p no:cacheprovider -m city

bench: setup
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/timers.py
	$(BIN)/python bench/starts.py
	$(BIN)/python bench/loop.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache *.egg-info node_modules \
	  $(VENDOR) web/translations/*/LC_MESSAGES/messages.mo
