# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make demo   ingest the bundled sample into an embedded store and query it
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

test: $(BIN)/metadatabronn
	$(BIN)/python -m pytest

bench: $(BIN)/metadatabronn
	$(BIN)/python bench/ingest.py

clean:
	rm -rf var .pytest_cache .hypothesis
