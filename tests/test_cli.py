"""The ``comfyruntime`` command."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_comfyruntime.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "comfy_meta_ext"


def test_demo_rejects_a_folder_that_is_no_extension(tmp_path, capsys):
    assert main(["demo", str(tmp_path)]) == 2
    assert "is not an extension folder" in capsys.readouterr().err


def test_demo_unknown_era_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--era", "Z"])
    assert exc.value.code == 2
    assert "unknown ComfyUI era 'Z'" in capsys.readouterr().err


def test_demo_era_list_names_the_unknown_one(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--era", "A,D,Z"])
    assert exc.value.code == 2
    assert "unknown ComfyUI era 'Z'; choose one of A (" in capsys.readouterr().err


def test_demo_reports_each_era_and_fails_when_a_test_fails(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_ext.py").write_text(
        "def test_ok(comfy_executor):\n    assert comfy_executor.era in 'ABCD'\n"
        "def test_only_c(comfy_executor):\n    assert comfy_executor.era == 'C'\n")
    proc = subprocess.run([sys.executable, "-m", "pytest_comfyruntime.cli", "demo", str(tmp_path), "--era", "all"],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "FAILED  tests/test_ext.py::test_only_c" in proc.stdout
    assert "1 of 4 era runs passed" in proc.stdout


def test_demo_says_why_tests_were_skipped(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_ext.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.comfyui(era='D')\ndef test_2026(comfy_executor):\n    assert comfy_executor.era == 'D'\n"
        "@pytest.mark.comfyui(era='D')\ndef test_2026_too(comfy_executor):\n    assert comfy_executor.era == 'D'\n")
    proc = subprocess.run([sys.executable, "-m", "pytest_comfyruntime.cli", "demo", str(tmp_path), "--era", "b,2026"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
    assert "2 of 2 era runs passed" in proc.stdout
    assert proc.stdout.index("== ComfyUI era B") < proc.stdout.index("== ComfyUI era D")  # in the order given
    assert "SKIPPED tests/test_ext.py::test_2026\n" in proc.stdout
    assert "   skipped (2): needs ComfyUI era D, this is era B (mock backend)" in proc.stdout
