# Two commands set up everything on a fresh machine: `make book` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STUDIES ?= simulated simulated-nonlinear shoulder gait verdict validation
JOBS   ?= 2

.PHONY: book test venv run clean benchmarks

venv: $(VENV)/.installed

# The constraints file pins the tested set (torch 2.13.x CPU, jupyter-book 1.x).
$(VENV)/.installed: pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c requirements/constraints.txt -e ".[test]"
	touch $@

run: venv
	$(PY) -m synlib run $(addprefix studies/,$(addsuffix .yml,$(STUDIES))) --jobs $(JOBS)

book: run
	$(PY) -m synlib book $(addprefix studies/,$(addsuffix .yml,$(STUDIES)))

test: venv
	$(PY) -m pytest

benchmarks: venv
	$(PY) benchmarks/bench_nmf.py
	$(PY) benchmarks/bench_ae.py

clean:
	rm -rf _build book/_generated results
