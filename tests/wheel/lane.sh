#!/usr/bin/env bash
# The wheel lane (`make wheel-lane`, run by `make test`): the package as a PyPI user gets it.
#
#   1. `python -m build` makes the sdist and, from the unpacked sdist, the wheel (isolated, as pip
#      and CI do), and fails on setuptools' "Package would be ignored" or deprecation warnings.
#   2. The wheel, not editable, goes into a clean venv (no --system-site-packages) with only the
#      dependencies its own metadata names. The venv is reused while those dependencies and the
#      interpreter are unchanged (its key file); the previous wheel is uninstalled first and
#      `pip check` runs, so a reused venv holds exactly what a fresh one would.
#   3. From outside the checkout, with PYTHONPATH unset: `comfyruntime --help`,
#      `comfyruntime eras files D`, and pytest --comfyruntime-era=all on a copy of
#      tests/wheel/wheel_ext (its test asserts the plugin is the venv's, not the checkout's).
#
# Usage: tests/wheel/lane.sh BUILD_PYTHON VENV_PYTHON LANE_DIR
#   BUILD_PYTHON  a Python with `build` installed (the repository's .venv)
#   VENV_PYTHON   the interpreter the clean venv is made from
#   LANE_DIR      work folder (.cache/wheel-lane, ignored by git)
set -euo pipefail

build_py=$1
venv_py=$2
lane=$3
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
unset PYTHONPATH PYTHONHOME

mkdir -p "$lane"
lane=$(cd "$lane" && pwd)
rm -rf "$lane/dist" "$lane/wheel_ext"
started=$(date +%s)

echo "== wheel lane: python -m build (sdist, then the wheel from it) into $lane/dist"
if ! "$build_py" -m build --outdir "$lane/dist" "$repo" >"$lane/build.log" 2>&1; then
  tail -40 "$lane/build.log"
  echo "wheel lane: python -m build failed (log: $lane/build.log)" >&2
  exit 1
fi
if grep -nE "would be ignored|SetuptoolsDeprecationWarning|is absent from the .packages. configuration" \
    "$lane/build.log" >&2; then
  echo "wheel lane: setuptools warned while building (above; log: $lane/build.log)" >&2
  exit 1
fi
wheel=$(ls "$lane"/dist/pytest_comfyruntime-*-py3-none-any.whl)
echo "   $(basename "$wheel") and $(basename "$(ls "$lane"/dist/pytest_comfyruntime-*.tar.gz)")"

# The venv's key: the interpreter and the wheel's own (not optional) dependencies.
key=$( { "$venv_py" -c 'import sys; print(sys.version)'
         "$build_py" - "$wheel" <<'PY'
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as zf:
    meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
    for line in zf.read(meta).decode().splitlines():
        if line.startswith("Requires-Dist:") and "extra ==" not in line:
            print(line)
PY
       } | sha256sum | cut -c1-16)
venv="$lane/venv"
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.lane-key" 2>/dev/null)" = "$key" ]; then
  echo "== wheel lane: reusing $venv (same interpreter and dependencies); reinstalling the wheel"
  "$venv/bin/python" -m pip uninstall --quiet --yes pytest-comfyruntime
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "$wheel"
  "$venv/bin/python" -m pip check --disable-pip-version-check >/dev/null
else
  echo "== wheel lane: clean venv $venv, pip install $(basename "$wheel") with its dependencies"
  rm -rf "$venv"
  "$venv_py" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel"
  echo "$key" >"$venv/.lane-key"
fi

# Nothing of the checkout on the path: run from the lane folder, the extension copied there.
cp -R "$here/wheel_ext" "$lane/wheel_ext"
find "$lane/wheel_ext" -name __pycache__ -prune -exec rm -rf {} +
cd "$lane/wheel_ext"
where=$("$venv/bin/python" -c 'import pytest_comfyruntime, os; print(os.path.dirname(pytest_comfyruntime.__file__))')
case "$where" in
  "$venv"/*) echo "   pytest_comfyruntime from $where" ;;
  *) echo "wheel lane: pytest_comfyruntime imported from $where, not from $venv" >&2; exit 1 ;;
esac

echo "== wheel lane: comfyruntime --help"
"$venv/bin/comfyruntime" --help >/dev/null
COLUMNS=1000 "$venv/bin/comfyruntime" fetch-comfyui --help | grep "pytest-comfyruntime\[real\]" >/dev/null
"$venv/bin/comfyruntime" fetch-comfyui --requirements | grep "^torch==" >/dev/null
echo "== wheel lane: comfyruntime eras files D"
"$venv/bin/comfyruntime" eras files D | grep "^execution " >/dev/null
# The D-11 variant's own files (mock_root/d11/) must be in the wheel too.
"$venv/bin/comfyruntime" eras files D-11 | grep -E "^execution +->  d11/execution.py$" >/dev/null
"$venv/bin/python" -c "from pytest_comfyruntime.executor.standin import module_files; from pytest_comfyruntime.executor.eras import ERAS; [f.read_bytes() for f in module_files(ERAS['D-11']).values()]"
echo "== wheel lane: pytest --comfyruntime-era=all on tests/wheel/wheel_ext"
"$venv/bin/python" -m pytest -p no:cacheprovider -q --comfyruntime-era=all
echo "wheel lane: passed in $(( $(date +%s) - started )) s"
