# The two commands of the README. Each sets up .venv on a fresh machine, then runs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test demo bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m coverage erase
	$(PY) -m coverage run -m pytest -p no:cacheprovider
	$(PY) -m coverage combine --quiet
	@echo "coverage total: $$($(PY) -m coverage report --format=total)%"

demo: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e examples/comfy_meta_ext
	$(VENV)/bin/comfyruntime demo examples/comfy_meta_ext

bench: $(STAMP)
	$(PY) benchmarks/bench_mock_executor.py

clean:
	rm -rf $(VENV) .coverage .coverage.* build *.egg-info
