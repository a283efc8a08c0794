# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make demo   ingest the bundled sample into an embedded store, query it, then serve it
#   make test   run the whole test suite
# make demo serves at port 8000, or at a free port when 8000 is taken; PORT=8080 or HOST=0.0.0.0
# choose for it. The command is then .venv/bin/metadatabronn (or `. .venv/bin/activate` first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= auto
DEMO_STORE ?= var/demo-store
DEMO_BASE ?= http://localhost:8000

.PHONY: demo demo-store test bench clean browser virtuoso

$(BIN)/metadatabronn: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The demo store: the bundled sample ingested (the summary says what was rejected and why), then
# the works that several records share. Under the base IRI in $$base.
DEMO_LOAD = rm -rf '$(DEMO_STORE)' '$(DEMO_STORE).rejects' && mkdir -p "$$(dirname '$(DEMO_STORE)')" && \
	echo "Loading the demo store into $(DEMO_STORE) (base IRI $$base)" && \
	$(BIN)/metadatabronn ingest --store '$(DEMO_STORE)' --base-iri "$$base" --report '$(DEMO_STORE)-report.json' \
		data/sample.mrc data/fennica-sample.marcxml && \
	echo "Works that several records share:" && \
	$(BIN)/metadatabronn query --store '$(DEMO_STORE)' @data/demo-query.rq

# The port is chosen before the store is made, so that the store's base IRI is the address it is
# served at and every IRI in it (in query results too) opens in the browser.
demo: $(BIN)/metadatabronn
	@base=$$($(BIN)/python -m metadatabronn.cli.ports --host '$(HOST)' '$(PORT)') || exit 1; \
	$(DEMO_LOAD) || exit 1; \
	echo "Serving the demo store at $$base/ (the catalogue; $$base/query to query it with SPARQL; $$base/docs for the API); Ctrl-C stops it."; \
	exec $(BIN)/metadatabronn serve --store '$(DEMO_STORE)' --host '$(HOST)' --port "$${base##*:}"

# The demo store alone, not served.
demo-store: $(BIN)/metadatabronn
	@base='$(DEMO_BASE)'; $(DEMO_LOAD)

# Bytecode is written (for the whole package first) even where the environment says not to
# (PYTHONDONTWRITEBYTECODE): the suite starts hundreds of Python processes (servers, commands,
# workers), and each would compile the package anew (0.45 s of CPU each that imports the app).
test: $(BIN)/metadatabronn browser virtuoso
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m compileall -q metadatabronn
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest

# The browser tests (tests/test_browser.py, and the query page's) drive Debian's headless Chromium
# through Playwright, never a browser Playwright downloads. Installed here when this is a Debian
# machine we may install on; elsewhere those tests skip and say so.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		echo "chromium not installed: the browser tests will skip"; }

# The tests marked remote (pytest -m remote; docs/sparql-servers.md) run against a Virtuoso 7
# server that each test session starts for itself on free ports: Debian's virtuoso-opensource,
# installed here when this is a Debian machine we may install on; elsewhere those tests skip and
# say so. The package's own service (port 8890) is not used.
virtuoso:
	@command -v virtuoso-t >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq virtuoso-opensource >/dev/null) || \
		echo "virtuoso-opensource not installed: the remote tests will skip"; }

bench: $(BIN)/metadatabronn
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/roundtrip.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/serve.py

clean:
	rm -rf var .pytest_cache .hypothesis
