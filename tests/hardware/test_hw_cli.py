"""``comfyruntime capabilities [--json] [--simulate SPEC]``."""
from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_comfyruntime.cli import main
from pytest_comfyruntime.hardware import Capabilities


def test_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["capabilities", "--simulate", "cuda:sm_89:24GB:windows"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("OS: Windows (windows) | Python ") and "source: simulated (cuda:sm_89:24GB:windows)" in out[0]
    assert out[-1] == "safe dtype: float16 (bfloat16 requested: float16)"


def test_json_is_the_capabilities_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["capabilities", "--json", "--simulate", "cuda:sm_80:x2"]) == 0
    caps = Capabilities.model_validate_json(capsys.readouterr().out)
    assert caps.gpu_count == 2 and caps.devices[1].compute_capability == (8, 0)


def test_a_bad_spec_is_a_usage_error_with_the_grammar(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["capabilities", "--simulate", "gpu"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "bad hardware spec 'gpu' (--simulate): unknown kind 'gpu'" in err and "hardware spec grammar" in err


def test_this_runner() -> None:
    """For real, in a child process (it imports torch where installed)."""
    proc = subprocess.run([sys.executable, "-m", "pytest_comfyruntime.cli", "capabilities", "--json"],
                          capture_output=True, text=True, check=True)
    assert Capabilities.model_validate_json(proc.stdout).source in ("torch", "nvml", "none")
    text = subprocess.run([sys.executable, "-m", "pytest_comfyruntime.cli", "capabilities"],
                          capture_output=True, text=True, check=True).stdout
    assert text.startswith("OS: ") and "safe dtype: " in text
