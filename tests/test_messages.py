"""What the plugin says, and whom it blames, however it is installed.

- which code is the standard library, an installed package, this plugin or the extension, for
  an editable install, a wheel in a virtual environment and a system install (and a wheel really
  installed into a throwaway environment, running one battery check);
- a wrapper made with ``functools.wraps`` named by where it was defined, not as what it wraps;
- a hook that cannot be imported, takes the wrong arguments or raises: one message each, with the
  extension's own lines and none of the plugin's;
- settings that name nothing: one usage error each.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import types
from pathlib import Path

import pytest

import pytest_comfyruntime
from pytest_comfyruntime.checks.faults import passes_through
from pytest_comfyruntime.checks.lookups import Layout, origin_of
from pytest_comfyruntime.checks.residue import find_residue
from pytest_comfyruntime.config import ConfigError, resolve_settings
from pytest_comfyruntime.state.describe import describe
from pytest_comfyruntime.state.snapshot import take_snapshot

REPO = Path(__file__).resolve().parents[1]
PLUGIN = Path(pytest_comfyruntime.__file__).parent
MOCK_GRAPH = "executor/mock_root/d/mock_comfy_execution/graph.py"


# -- 1. which code is whose ----------------------------------------------------------------------
EDITABLE = Layout.of(stdlib=["/usr/lib/python3.11", "/proj/.venv/lib/python3.11"],
                     site_packages=["/proj/.venv/lib/python3.11/site-packages"],
                     plugin="/src/pytest-comfyruntime/pytest_comfyruntime")
WHEEL_IN_VENV = Layout.of(stdlib=["/usr/lib/python3.11", "/proj/.venv/lib/python3.11"],
                          site_packages=["/proj/.venv/lib/python3.11/site-packages"],
                          plugin="/proj/.venv/lib/python3.11/site-packages/pytest_comfyruntime")
SYSTEM = Layout.of(stdlib=["/usr/lib/python3.11"],
                   site_packages=["/usr/lib/python3.11/site-packages", "/usr/local/lib/python3.11/dist-packages"],
                   plugin="/usr/lib/python3.11/site-packages/pytest_comfyruntime")


@pytest.mark.parametrize("layout, filename, origin", [
    (EDITABLE, f"/src/pytest-comfyruntime/pytest_comfyruntime/{MOCK_GRAPH}", "plugin"),
    (EDITABLE, "/src/pytest-comfyruntime/pytest_comfyruntime/executor/harness.py", "plugin"),
    (EDITABLE, "/usr/lib/python3.11/copy.py", "stdlib"),
    (EDITABLE, "/usr/lib/python3.11/lib-dynload/_json.so", "stdlib"),
    (EDITABLE, "/proj/.venv/lib/python3.11/site-packages/pydantic/main.py", "library"),
    (EDITABLE, "/src/my_ext/my_ext/profiler.py", "code"),
    # the plugin from a wheel: site-packages is inside sysconfig's platstdlib of the venv
    (WHEEL_IN_VENV, f"/proj/.venv/lib/python3.11/site-packages/pytest_comfyruntime/{MOCK_GRAPH}", "plugin"),
    (WHEEL_IN_VENV, "/proj/.venv/lib/python3.11/site-packages/my_ext/profiler.py", "library"),
    (WHEEL_IN_VENV, "/usr/lib/python3.11/json/encoder.py", "stdlib"),
    (WHEEL_IN_VENV, "/src/my_ext/my_ext/profiler.py", "code"),
    # a system install: site-packages is inside the standard library's folder
    (SYSTEM, f"/usr/lib/python3.11/site-packages/pytest_comfyruntime/{MOCK_GRAPH}", "plugin"),
    (SYSTEM, "/usr/lib/python3.11/site-packages/my_ext/profiler.py", "library"),
    (SYSTEM, "/usr/local/lib/python3.11/dist-packages/my_ext/profiler.py", "library"),
    (SYSTEM, "/usr/lib/python3.11/asyncio/events.py", "stdlib"),
    (SYSTEM, "/home/me/my_ext/profiler.py", "code"),
    (SYSTEM, "<frozen importlib._bootstrap>", "stdlib"),
    (SYSTEM, "<string>", "synthetic"),
])
def test_origin_of_a_file_in_each_layout(layout: Layout, filename: str, origin: str) -> None:
    assert layout.origin(filename) == origin


def test_origin_on_this_interpreter() -> None:
    assert origin_of(json.__file__) == "stdlib"
    assert origin_of(pytest.__file__) == "library"
    assert origin_of(str(PLUGIN / "checks" / "faults.py")) == "plugin"
    assert origin_of(str(PLUGIN / MOCK_GRAPH)) == "plugin"
    assert origin_of(__file__) == "code"


def test_which_frames_an_injected_fault_passes_through() -> None:
    def owns(name: str | None) -> bool:
        return (name or "").startswith("my_ext")

    assert passes_through("copy", json.__file__, owns)  # the hook called the standard library
    assert passes_through("pydantic.main", pytest.__file__, owns)  # ... or an installed package
    assert not passes_through("comfy_execution.graph", str(PLUGIN / MOCK_GRAPH), owns)  # ComfyUI's own use
    assert not passes_through("pytest_comfyruntime.executor.harness", str(PLUGIN / "executor/harness.py"), owns)
    assert not passes_through("my_ext.profiler", pytest.__file__, owns)  # the hook, even installed


# A wheel of the working tree, installed into a throwaway venv that reaches pytest and pydantic
# through a .pth file (no index is used): the layout the user had.
@pytest.fixture(scope="module")
def wheel_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".hypothesis", ".cache", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "COV_", "COVERAGE"))}

    def run(*cmd: str, cwd: Path = base) -> str:
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
        if done.returncode:
            pytest.skip(f"cannot build and install the wheel here ({' '.join(cmd[:3])}...): "
                        f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}")
        return done.stdout
    out = run(sys.executable, "-c", f"import setuptools.build_meta as b; print(b.build_wheel({str(base)!r}))", cwd=src)
    wheel = base / out.strip().splitlines()[-1]
    run(sys.executable, "-m", "venv", "--without-pip", str(base / "venv"))
    python = base / "venv" / "bin" / "python"
    purelib = Path(run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    deps = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    (purelib / "comfyruntime_test_deps.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n")
    run(sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "--quiet",
        "--disable-pip-version-check", str(wheel))
    where = run(str(python), "-c", "import pytest_comfyruntime; print(pytest_comfyruntime.__file__)").strip()
    assert where.startswith(str(purelib)), where
    return python


def _planted(name: str) -> str:
    import importlib.util

    spec = importlib.util.spec_from_file_location("planted_faults", REPO / "tests" / "planted" / "planted_faults.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.source(name)


@pytest.mark.parametrize("module, installed, outcome", [
    ("good_hooks", False, "1 passed"),          # the extension in a checkout, the plugin from the wheel
    ("good_hooks", True, "1 passed"),           # both installed from wheels
    ("planted_swallow", False, "1 failed"),     # a real fault is still caught
])
def test_exception_auto_disables_with_the_plugin_installed_from_a_wheel(wheel_python: Path, tmp_path: Path,
                                                                       module: str, installed: bool,
                                                                       outcome: str) -> None:
    purelib = subprocess.run([str(wheel_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    target = Path(purelib) if installed else tmp_path
    (target / f"{module}.py").write_text(_planted(module))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "COV_", "COVERAGE"))}
    try:
        done = subprocess.run([str(wheel_python), "-m", "pytest", "-p", "no:cacheprovider", "-rs",
                               "--comfyruntime-conformance", module, "-k", "exception_auto_disables"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    finally:
        (target / f"{module}.py").unlink()
    text = done.stdout + done.stderr
    assert f"{outcome}, 7 deselected" in text, text
    assert "the prompt crashed" not in text and "could not provoke" not in text, text
    if outcome == "1 failed":
        assert "InjectedFault raised inside the hook at planted_swallow.py:" in text, text


# -- 2. a wrapper is named by where it was defined --------------------------------------------------
def _line(source: str, text: str) -> int:
    """The line of ``text`` in ``source`` as ``pytester.makepyfile`` writes it (leading blank lines dropped)."""
    return next(n for n, line in enumerate(source.strip("\n").splitlines(), 1) if text in line)


def _defined_in(module_name: str, filename: str, source: str) -> dict:
    namespace: dict = {"__name__": module_name, "functools": functools}
    exec(compile(source, filename, "exec"), namespace)
    return namespace


_HOOKS = '''
def enable(execution):
    original = execution.get_input_data

    @functools.wraps(original)
    def _get_input_data(*args, **kwargs):
        return original(*args, **kwargs)
    execution.get_input_data = _get_input_data
'''


def _fake_execution() -> types.ModuleType:
    execution = types.ModuleType("execution")
    exec(compile("def get_input_data(inputs):\n    return inputs\n", "/mock/execution.py", "exec"), vars(execution))
    return execution


def test_a_functools_wraps_wrapper_is_named_by_its_code() -> None:
    execution = _fake_execution()
    original = execution.get_input_data
    _defined_in("my_ext.hooks", "/src/my_ext/my_ext/hooks.py", _HOOKS)["enable"](execution)
    assert execution.get_input_data.__qualname__ == "get_input_data"  # what wraps copied
    assert describe(original) == "execution.get_input_data"
    assert describe(execution.get_input_data) == (
        "my_ext.hooks.enable.<locals>._get_input_data (my_ext/hooks.py:5), wrapping execution.get_input_data")


def test_the_residue_names_the_wrapper_not_what_it_wraps() -> None:
    execution = _fake_execution()
    snap = take_snapshot([execution])
    _defined_in("my_ext.hooks", "/src/my_ext/my_ext/hooks.py", _HOOKS)["enable"](execution)
    [residue] = find_residue(snap)
    assert str(residue) == ("execution.get_input_data: still replaced by my_ext.hooks.enable.<locals>._get_input_data "
                            "(my_ext/hooks.py:5), wrapping execution.get_input_data")
    execution.get_input_data = _defined_in("other", "/x/other.py", "def plain(inputs):\n    return inputs\n")["plain"]
    [residue] = find_residue(snap)
    assert str(residue) == "execution.get_input_data: still replaced by other.plain (was execution.get_input_data)"


_LEAKY = '''
import functools


def enable(module):
    import comfy.model_management as mm

    original, cast_to = module.get_input_data, mm.cast_to

    @functools.wraps(original)
    def _get_input_data(*args, **kwargs):
        return original(*args, **kwargs)

    @functools.wraps(cast_to)
    def _cast_to(*args, **kwargs):
        return cast_to(*args, **kwargs)
    module.get_input_data, mm.cast_to = _get_input_data, _cast_to


def disable(module):
    pass  # forgets to put get_input_data back
'''


def test_every_message_naming_a_wraps_wrapper_reads_well(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(leaky_wraps=_LEAKY, test_it='''
def test_active(comfyruntime):
    comfyruntime.assert_hooks_active()
''')
    pytester.makeini("[pytest]\ncomfyruntime_era = C\ncomfyruntime_hooks = leaky_wraps:enable\n"
                     "comfyruntime_unhooks = leaky_wraps:disable\npythonpath = .\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "ignore::pytest_comfyruntime.HookBrokenWarning")
    text = result.stdout.str()
    assert "(was execution.get_input_data)" not in text, text
    result.assert_outcomes(failed=1, errors=1)
    # assert_hooks_active: ComfyUI's hook breaker undid the cast_to patch
    result.stdout.fnmatch_lines([
        "*ComfyUI restored comfy.model_management.cast_to right after custom nodes loaded (the hooks were just "
        f"enabled), undoing the patch leaky_wraps.enable.<locals>._cast_to (leaky_wraps.py:{_line(_LEAKY, '@functools.wraps(cast_to)')}),"
        " wrapping comfy.model_management.cast_to: it is on ComfyUI's hook_breaker_ac10a0.HOOK_BREAK*"])
    # the residue check, at teardown
    result.stdout.fnmatch_lines([
        "*[[]patched] execution.get_input_data: still replaced by leaky_wraps.enable.<locals>._get_input_data "
        f"(leaky_wraps.py:{_line(_LEAKY, '@functools.wraps(original)')}), wrapping execution.get_input_data"])


# -- 4. hooks that fail: one message each ----------------------------------------------------------
_EXT = '''
import execution

_originals = {}


def no_arguments():
    return True


def raises(module):
    _originals["get_input_data"] = module.get_input_data
    return _helper(module)


def _helper(module):
    return module.no_such_attribute


def fine(module):
    _originals["get_input_data"] = module.get_input_data
    module.get_input_data = lambda *a, **k: _originals["get_input_data"](*a, **k)


def unhook_raises(module):
    module.get_input_data = _originals.pop("missing")
'''


def _one_error(pytester: pytest.Pytester, ini: str, *, at_teardown: bool = False) -> tuple[str, str]:
    pytester.makepyfile(my_ext_hooks=_EXT, test_it="def test_it(comfy_executor):\n    pass\n")
    pytester.makeini(f"[pytest]\npythonpath = .\n{ini}")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(**({"passed": 1, "errors": 1} if at_teardown else {"errors": 1}))
    text = result.stdout.str()
    section = text[text.index("= ERRORS ="):text.index("short test summary")]
    body = section.splitlines()[2:-1]  # under the "ERROR at setup of test_it" line
    assert "During handling" not in text and "pytest_comfyruntime/" not in section, section
    return text, "\n".join(body)


def test_a_missing_hook_module_is_named_once(pytester: pytest.Pytester) -> None:
    text, body = _one_error(pytester, "comfyruntime_hooks = nope.hooks:enable\n")
    assert body.startswith("pytest-comfyruntime: comfyruntime_hooks in "), body
    assert "cannot import module 'nope.hooks' for 'nope.hooks:enable': ModuleNotFoundError: No module named 'nope'; " \
           "fix: install the extension (pip install -e .)" in body
    # Once in the error report (the short summary repeats it in full when CI is set, so it is left out).
    assert text.split("short test summary info")[0].count("No module named 'nope'") == 1, text


def test_an_enable_with_the_wrong_arity_is_one_message(pytester: pytest.Pytester) -> None:
    _text, body = _one_error(pytester, "comfyruntime_hooks = my_ext_hooks:no_arguments\n")
    assert body.splitlines() == [
        f"pytest-comfyruntime: comfyruntime_hooks in {pytester.path / 'tox.ini'}: my_ext_hooks:no_arguments "
        f"(my_ext_hooks.py:{_line(_EXT, 'def no_arguments')}) raised TypeError: no_arguments() takes 0 positional "
        "arguments but 1 was given",
        "  fix: it is called as no_arguments(execution), with the execution module, before each test that uses "
        "the fixtures; it takes (): define it as def no_arguments(execution)"]


def test_an_enable_that_raises_shows_the_extensions_lines_only(pytester: pytest.Pytester) -> None:
    _text, body = _one_error(pytester, "comfyruntime_hooks = my_ext_hooks:raises\n")
    lines = body.splitlines()
    assert lines[0].endswith(f"my_ext_hooks:raises (my_ext_hooks.py:{_line(_EXT, 'def raises')}) raised "
                             "AttributeError: module 'execution' has no attribute 'no_such_attribute'"), lines
    file = pytester.path / "my_ext_hooks.py"
    assert [line.strip() for line in lines[1:5]] == [
        f'File "{file}", line {_line(_EXT, "return _helper(")}, in raises', "return _helper(module)",
        f'File "{file}", line {_line(_EXT, "return module.no_such")}, in _helper', "return module.no_such_attribute"]
    assert lines[-1].startswith("  fix: correct the extension's code where it raised (above)"), lines
    assert len(lines) == 6, lines


def test_an_unhook_that_raises_is_one_message(pytester: pytest.Pytester) -> None:
    _text, body = _one_error(pytester, "comfyruntime_hooks = my_ext_hooks:fine\n"
                                       "comfyruntime_unhooks = my_ext_hooks:unhook_raises\n", at_teardown=True)
    assert body.splitlines() == [
        f"pytest-comfyruntime: comfyruntime_unhooks in {pytester.path / 'tox.ini'}: my_ext_hooks:unhook_raises "
        f"(my_ext_hooks.py:{_line(_EXT, 'def unhook_raises')}) raised KeyError: 'missing'",
        f'  File "{pytester.path / "my_ext_hooks.py"}", line {_line(_EXT, "_originals.pop(")}, in unhook_raises',
        '    module.get_input_data = _originals.pop("missing")',
        "  fix: make it undo what the hooks did without raising; it is called with the execution module after each "
        "test that uses the fixtures"]


def test_an_enable_that_raises_then_an_unhook_that_raises_too(pytester: pytest.Pytester) -> None:
    _text, body = _one_error(pytester, "comfyruntime_hooks = my_ext_hooks:raises\n"
                                       "comfyruntime_unhooks = my_ext_hooks:unhook_raises\n")
    lines = body.splitlines()
    assert lines[0].endswith("raised AttributeError: module 'execution' has no attribute 'no_such_attribute'")
    assert lines[-1] == (
        f"  then, cleaning up after it: comfyruntime_unhooks in {pytester.path / 'tox.ini'}: my_ext_hooks:unhook_raises "
        f"(my_ext_hooks.py:{_line(_EXT, 'def unhook_raises')}) raised KeyError: 'missing'"), body


def test_a_conftest_hook_that_raises_shows_its_lines_not_pluggys(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("def pytest_comfyruntime_enable_hooks(execution):\n    raise RuntimeError('no')\n")
    _text, body = _one_error(pytester, "")
    assert body.splitlines() == [
        "pytest-comfyruntime: the pytest_comfyruntime_enable_hooks hook raised RuntimeError: no",
        f'  File "{pytester.path / "conftest.py"}", line 2, in pytest_comfyruntime_enable_hooks',
        "    raise RuntimeError('no')",
        "  fix: correct the hook implementation where it raised (above)"], body


def test_a_hook_module_whose_import_raises_shows_where(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(broken_hooks="import execution\n\nexecution.nothing_here\n")
    _text, body = _one_error(pytester, "comfyruntime_hooks = broken_hooks:enable\n")
    assert "importing 'broken_hooks' for 'broken_hooks:enable' raised AttributeError: module 'execution' has no " \
           "attribute 'nothing_here'" in body
    assert f'File "{pytester.path / "broken_hooks.py"}", line 3, in <module>' in body
    assert "fix: correct the extension's code where it raised (above)" in body


# -- 5. settings that name nothing -------------------------------------------------------------
def test_a_comfyui_root_that_does_not_exist_is_refused_with_any_executor(tmp_path: Path) -> None:
    for origin, kwargs, named in [
        ("cli", {"cli": {"comfyui_root": str(tmp_path / "nowhere")}, "ini": {}, "env": {}},
         "--comfyui-root (command line)"),
        ("env", {"cli": {}, "ini": {}, "env": {"COMFYUI_ROOT": str(tmp_path / "nowhere")}},
         "COMFYUI_ROOT (environment variable)"),
        ("ini", {"cli": {}, "ini": {"comfyui_root": str(tmp_path / "nowhere")}, "env": {}, "inifile": "/x/tox.ini"},
         "comfyruntime_comfyui_root (ini option in /x/tox.ini)"),
    ]:
        with pytest.raises(ConfigError) as info:
            resolve_settings(**kwargs)
        assert str(info.value) == (
            f"pytest-comfyruntime: bad setting {named}: ComfyUI root {tmp_path / 'nowhere'} does not exist; fix: point "
            "it at a ComfyUI checkout (the folder that holds main.py), or unset it: the mock executor needs none"), origin
    assert resolve_settings(cli={"comfyui_root": str(tmp_path)}, ini={}, env={}).comfyui_root == tmp_path


def test_settings_that_name_nothing_are_usage_errors(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.delenv("COMFYUI_ROOT", raising=False)
    pytester.makepyfile("def test_x(comfy_executor): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--comfyui-root={pytester.path / 'nope'}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: pytest-comfyruntime: bad setting --comfyui-root (command line): ComfyUI "
                                 f"root {pytester.path / 'nope'} does not exist; fix: *"])

    pytester.makeini("[pytest]\ncomfyruntime_workflows = flows\n    nowhere\n")
    pytester.mkdir("flows")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        f"ERROR: pytest-comfyruntime: bad setting comfyruntime_workflows (ini option in {pytester.path / 'tox.ini'}): "
        f"workflow folder '{pytester.path / 'nowhere'}' does not exist; fix: list folders that exist and hold "
        "API-format workflow .json files*"])


@pytest.mark.parametrize("ini", [True, False])
def test_a_conformance_module_that_is_not_there_is_one_usage_error(pytester: pytest.Pytester, ini: bool) -> None:
    pytester.makepyfile(my_ext="x = 1\n")
    pytester.syspathinsert()
    for module, why in [("nope.hooks", "there is no module 'nope' on sys.path"),
                        ("my_ext.hooks", "'my_ext' is a module, not a package: it has no submodule 'hooks'")]:
        if ini:
            pytester.makeini(f"[pytest]\ncomfyruntime_conformance = {module}\n")
            result = pytester.runpytest("-p", "no:cacheprovider")
            source = f"ini option comfyruntime_conformance in {pytester.path / 'tox.ini'}"
        else:
            result = pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-conformance", module)
            source = "--comfyruntime-conformance"
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        assert "breaks the principle" not in result.stdout.str()
        assert result.stderr.lines[0] == (
            f"ERROR: pytest-comfyruntime: {source}: cannot find hook module {module!r}: {why}; fix: install the "
            "extension (pip install -e .), add its folder to pytest's pythonpath ini option, or correct the module "
            "name"), result.stderr.lines
