"""Runs ``gpu_real.py`` (the GPU module) in a child pytest process, with this session's hardware flags.

On a GPU runner its tests run for real; elsewhere this test skips with the module's own reasons, and
fails when this session runs with ``--comfyruntime-require-hardware`` (passed on to the child).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

GPU_MODULE = Path(__file__).with_name("gpu_real.py")
ROOT = Path(__file__).resolve().parents[2]


def test_gpu_module(request: pytest.FixtureRequest) -> None:
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "-q", str(GPU_MODULE)]
    config = request.config
    if config.getoption("comfyruntime_require_hardware", None):
        args.append("--comfyruntime-require-hardware")
    spec = config.getoption("comfyruntime_simulate_hardware", None)
    if spec:
        args += ["--comfyruntime-simulate-hardware", spec]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"the GPU module failed in a child process ({' '.join(args[3:])}):\n{output[-6000:]}",
                    pytrace=False)
    skipped = re.findall(r"^SKIPPED \[\d+\] (.*)$", proc.stdout, flags=re.MULTILINE)
    passed = re.search(r"(\d+) passed", proc.stdout)
    if skipped:  # a GPU test that did not run is reported, never folded into a pass
        pytest.skip(f"the GPU module (tests/hardware/gpu_real.py, in a child process): "
                    f"{passed.group(1) if passed else 0} passed, {len(skipped)} skipped:\n  " + "\n  ".join(skipped))
    assert passed, output[-3000:]
