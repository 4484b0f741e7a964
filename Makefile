# Two commands a fresh machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SCENARIO ?= three_parks_560

.PHONY: install demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip >/dev/null
	# torch first: the CPU wheel 2.13.0 is on disk; any other version pulls CUDA builds.
	$(PY) -m pip install torch==2.13.0
	$(PY) -m pip install -e '.[dev,viz,uitest]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/vppsim run $(SCENARIO) --out results

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check aggregation grid learners scenarios tests benchmarks

bench: install
	$(PY) benchmarks/bench_fleet.py

clean:
	rm -rf $(VENV) results
