# Quick start: `make run` (set up + default experiment) and `make test` (set up + full test suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS ?= dev,dask,viz,calibrate

.PHONY: run test test-fast lint bench configs study clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python >= 3.12 is required (see .python-version); found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/cxsim run hydra.run.dir=outputs/default

test: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -n 2 -m "not slow and not validation"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_model.py

# The canonical study and docs/findings.md (about 5 min on a quiet 2-core machine at size full;
# STUDY=study.size=medium for a shorter one): the effect table, then `cxsim study`.
STUDY ?=
study: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python scripts/effect_table.py --jobs 2
	MPLBACKEND=Agg $(BIN)/cxsim study $(STUDY)

configs: $(STAMP)
	$(BIN)/python scripts/generate_configs.py

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache
