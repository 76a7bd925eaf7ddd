"""The README's quick start, run as written: its pyproject.toml and tests/test_hooks.py blocks are
read out of README.md (so an edit there that stops working fails here), with a small ``my_ext``
written the way metadata savers are, on every era of the mock."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_comfyruntime.executor.eras import ERAS

README = Path(__file__).resolve().parents[1] / "README.md"

# The extension the README's example imports: a prefix wrapper on PromptExecutor.execute that
# remembers the prompt, and one on get_input_data (``unique_id`` is its third parameter in every
# era) that records which node ComfyUI is about to run. The running prompt is a context variable:
# a module-level "current prompt" mixes prompts run concurrently, which the README's isolation
# test catches (it did, on eras C and D, when this helper first kept a plain list).
MY_EXT_HOOKS = '''
import contextvars
import functools

_sessions = {}
_current = contextvars.ContextVar("my_ext_prompt", default=None)
_originals = {}


def get_session(prompt_id):
    return _sessions[prompt_id]


def enable(execution):
    if _originals:
        return
    _originals["execute"] = execute = execution.PromptExecutor.execute
    _originals["get_input_data"] = get_input_data = execution.get_input_data

    @functools.wraps(execute)
    def execute_wrapper(self, prompt, prompt_id, *args, **kwargs):
        _sessions[prompt_id] = {"order": []}
        token = _current.set(prompt_id)
        try:
            return execute(self, prompt, prompt_id, *args, **kwargs)
        finally:
            _current.reset(token)

    @functools.wraps(get_input_data)
    def get_input_data_wrapper(inputs, class_def, unique_id, *args, **kwargs):
        if _current.get() is not None:
            _sessions[_current.get()]["order"].append(unique_id)
        return get_input_data(inputs, class_def, unique_id, *args, **kwargs)

    execution.PromptExecutor.execute = execute_wrapper
    execution.get_input_data = get_input_data_wrapper


def disable(execution):
    if not _originals:
        return
    execution.PromptExecutor.execute = _originals.pop("execute")
    execution.get_input_data = _originals.pop("get_input_data")
    _originals.clear()
'''


def readme_block(language: str, first_line: str) -> str:
    """The README's fenced ``language`` block whose first line is ``first_line``."""
    for body in re.findall(rf"^```{language}\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S):
        if body.splitlines()[0].strip() == first_line:
            return body
    raise AssertionError(f"README.md has no ```{language} block starting with {first_line!r}")


def write_extension(pytester: pytest.Pytester, hooks_source: str = MY_EXT_HOOKS) -> Path:
    """The README's extension repository ``my_ext``: its pyproject.toml, root ``__init__.py`` and
    tests as the README writes them, with ``hooks.py`` beside them."""
    repo = pytester.mkdir("my_ext")
    repo.joinpath("pyproject.toml").write_text(readme_block("toml", "# pyproject.toml of the extension"))
    repo.joinpath("__init__.py").write_text(readme_block(
        "python", "# __init__.py of the extension (the repository root, as cloned into ComfyUI/custom_nodes/my_ext)"))
    repo.joinpath("hooks.py").write_text(hooks_source)
    tests = repo.joinpath("tests")
    tests.mkdir()
    tests.joinpath("test_hooks.py").write_text(readme_block("python", "# tests/test_hooks.py"))
    tests.joinpath("test_isolation.py").write_text(readme_block("python", "# tests/test_isolation.py of an extension"))
    return repo


def test_the_quick_start_runs_as_written_on_every_era(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(write_extension(pytester))
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", "--comfyruntime-era=all", "tests")
    result.assert_outcomes(passed=3 * len(ERAS))
    result.stdout.fnmatch_lines(["*custom nodes (mock-A backend, ComfyUI era A*", "*seconds: */my_ext"])
    result.stdout.fnmatch_lines(["*test_capture?mock-A? PASSED*", "*test_capture?mock-D? PASSED*"])
    result.stdout.fnmatch_lines(["*test_hooks_are_active?mock-D? PASSED*", "*test_sessions_do_not_leak?mock-D? PASSED*"])


def test_the_quick_start_fails_when_the_hook_records_nothing(pytester: pytest.Pytester,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The example's assertion is not vacuous: a hook that never records fails it on every era."""
    broken = MY_EXT_HOOKS.replace('_sessions[_current.get()]["order"].append(unique_id)', "pass")
    assert broken != MY_EXT_HOOKS
    monkeypatch.chdir(write_extension(pytester, broken))
    result = pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-era=all", "tests/test_hooks.py")
    result.assert_outcomes(failed=len(ERAS))
    result.stdout.fnmatch_lines(["*assert [] == *"])


def test_the_second_way_enable_and_disable_functions_runs_as_written(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", pyproject=readme_block("toml", "# pyproject.toml of an extension with enable/disable functions"))
    pytester.mkpydir("my_ext").joinpath("hooks.py").write_text(MY_EXT_HOOKS)
    pytester.makepyfile(test_hooks="""
        from my_ext import hooks

        def test_capture(comfy_executor, comfy_workflow, comfyruntime):
            result = comfy_executor.run(comfy_workflow("txt2img"), prompt_id="p1")
            assert hooks.get_session("p1")["order"] == result.executed_nodes
            comfyruntime.assert_hooks_active()
    """)
    pytester.syspathinsert()
    pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-era=all").assert_outcomes(passed=len(ERAS))
