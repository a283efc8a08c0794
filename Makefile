# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make demo   ingest the bundled sample into an embedded store, query it, then serve it
#   make test   run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench clean browser

$(BIN)/metadatabronn: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/metadatabronn
	rm -rf var/demo-store var/demo-store.rejects
	mkdir -p var
	$(BIN)/metadatabronn ingest --store var/demo-store --report var/demo-report.json data/sample.mrc data/fennica-sample.marcxml
	$(BIN)/metadatabronn query --store var/demo-store "$$(cat data/demo-query.rq)"
	@echo "Serving the demo store at http://localhost:8000/ (query page, /docs for the API); Ctrl-C stops it."
	$(BIN)/metadatabronn serve --store var/demo-store --port 8000

test: $(BIN)/metadatabronn browser
	$(BIN)/python -m pytest

# The query page's test drives Debian's headless Chromium. Installed here when this is a Debian
# machine we may install on; elsewhere that one test skips and says so.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		echo "chromium not installed: the query page's browser test will skip"; }

bench: $(BIN)/metadatabronn
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/roundtrip.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/serve.py

clean:
	rm -rf var .pytest_cache .hypothesis
