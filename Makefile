# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make demo   ingest the bundled sample into an embedded store, query it, then serve it
#   make test   run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench clean

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

test: $(BIN)/metadatabronn
	$(BIN)/python -m pytest

bench: $(BIN)/metadatabronn
	$(BIN)/python bench/ingest.py

clean:
	rm -rf var .pytest_cache .hypothesis
