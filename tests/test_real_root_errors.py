"""Bad ComfyUI roots and missing ones: one usage error naming the path and the fix.

These run in subprocesses (pytester) so a half-imported fake root never touches this process.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from pytest_comfyruntime.executor.real import ComfyUIRootError, inspect_root


def _fake_root(base: Path, execution_source: str = "", version: str | None = None, era_c: bool = True) -> Path:
    root = base / "ComfyUI"
    (root / "comfy").mkdir(parents=True)
    (root / "comfy" / "__init__.py").write_text("")
    (root / "comfy" / "options.py").write_text("")
    (root / "comfy" / "cli_args.py").write_text("import types\nargs = types.SimpleNamespace(cpu=False)\n")
    (root / "execution.py").write_text(execution_source or "class PromptExecutor:\n    async def execute_async(self): pass\n")
    (root / "nodes.py").write_text("NODE_CLASS_MAPPINGS = {}\nNODE_DISPLAY_NAME_MAPPINGS = {}\n")
    if era_c:
        (root / "comfy_execution").mkdir()
    if version:
        (root / "comfyui_version.py").write_text(f'__version__ = "{version}"\n')
    return root


def test_inspect_root_eras(tmp_path):
    assert inspect_root(_fake_root(tmp_path / "c", version="0.3.75")).era == "C"
    assert inspect_root(_fake_root(tmp_path / "b", "class PromptExecutor:\n    def execute(self): pass\n")).era == "B"
    assert inspect_root(_fake_root(tmp_path / "a", era_c=False)).era == "A"
    assert inspect_root(_fake_root(tmp_path / "v", version="0.3.75")).version == "0.3.75"


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing", "does not exist; fix: point --comfyui-root"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "is not a ComfyUI root (expected execution.py, nodes.py and comfy/"),
    (lambda p: _fake_root(p, version="0.38.1"), "is ComfyUI 0.38.1, a version this release does not know"),
    (lambda p: _fake_root(p, "def f(server, asset_manager=None): pass\nasync def execute_async(): pass\n"),
     "a version this release does not know"),
])
def test_bad_roots(tmp_path, make, message):
    with pytest.raises(ComfyUIRootError, match=message.replace("(", r"\(")):
        inspect_root(make(tmp_path))


def test_real_without_a_root_is_a_usage_error(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.delenv("COMFYUI_ROOT", raising=False)
    pytester.makepyfile("def test_x(comfy_executor): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--comfyruntime-executor=real")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--comfyruntime-executor=real needs a real ComfyUI; fix: pass --comfyui-root PATH*"])


def test_import_failure_names_the_missing_package(pytester: pytest.Pytester, tmp_path) -> None:
    root = _fake_root(tmp_path, "import surely_not_installed_pkg\nasync def execute_async(): pass\n")
    pytester.makepyfile("def test_x(comfy_executor): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--comfyruntime-executor=real",
                                           f"--comfyui-root={root}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*importing ComfyUI from {root} failed: package 'surely_not_installed_pkg' is "
                                 "missing; fix: pip install -r *requirements*"])


def test_root_from_environment(pytester: pytest.Pytester, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COMFYUI_ROOT", str(tmp_path / "nowhere"))
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--comfyruntime-executor=real")
    result.stderr.fnmatch_lines(["*ComfyUI root *nowhere does not exist*"])


@pytest.mark.parametrize("args, expected", [
    ("min_version=3", "min_version=3 is not a version like '0.3.60'"),
    ("'C'", "takes keyword arguments only"),
    ("era='Z'", "unknown ComfyUI era 'Z'"),
    ("flavour='x'", "unknown argument(s) ['flavour']"),
])
def test_bad_comfyui_marker_is_a_collection_error(pytester: pytest.Pytester, args: str, expected: str) -> None:
    pytester.makepyfile(f"""
import pytest

@pytest.mark.comfyui({args})
def test_x(comfy_executor):
    pass
""")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "test_bad_comfyui_marker_is_a_collection_error.py::test_x: @pytest.mark.comfyui: " in result.stderr.str()
    assert expected in result.stderr.str()


def test_comfyui_marker_on_the_mock(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
import pytest

@pytest.mark.comfyui(min_version="0.3.60")
def test_new(comfy_executor):
    assert comfy_executor.comfyui_version == "0.3.75"

@pytest.mark.comfyui(min_version="0.4.0")
def test_newer(comfy_executor):
    pass

@pytest.mark.comfyui(era=["A", "B"])
def test_old(comfy_executor):
    pass
""")
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs", "--strict-markers")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["*needs ComfyUI >= 0.4.0, this is 0.3.75 (mock backend)*",
                                 "*needs ComfyUI era A/B, this is era C (mock backend)*"])
