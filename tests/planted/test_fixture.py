"""The ``comfyruntime`` fixture seen from an extension's suite: ``assert_hooks_active`` and
``assert_session_isolation`` on planted faults, good modules and the reference capture."""
from __future__ import annotations

import pytest

from pytest_comfyruntime.executor.eras import ERAS

ACTIVE_AND_ISOLATED = '''
import importlib

def test_active(comfyruntime):
    report = comfyruntime.assert_hooks_active()
    assert report.installed and any(report.calls.values())

def test_isolated(comfyruntime):
    hooks = importlib.import_module("{module}")
    report = comfyruntime.assert_session_isolation(hooks.get_session, threads=8, repeats=20)
    assert report.prompts["a"] == 22 and report.prompts["c"] == 160  # (a): 20 + two in one millisecond
'''


def ini(pytester: pytest.Pytester, enable: str, disable: str, era: str | None = None) -> None:
    pytester.makeini(f"[pytest]\ncomfyruntime_hooks = {enable}\ncomfyruntime_unhooks = {disable}\n"
                     + (f"comfyruntime_era = {era}\n" if era else ""))


@pytest.mark.parametrize("era", ["A", "B", "C", "D"])
@pytest.mark.parametrize("module, enable, disable", [
    ("good_hooks", "good_hooks:enable", "good_hooks:disable"),
    ("pytest_comfyruntime.capture", "pytest_comfyruntime.capture:enable_hooks", "pytest_comfyruntime.capture:disable_hooks"),
])
def test_good_modules_pass_both_assertions(pytester: pytest.Pytester, planted, module, enable, disable, era) -> None:
    planted("good_hooks")
    ini(pytester, enable, disable, era)
    pytester.makepyfile(ACTIVE_AND_ISOLATED.format(module=module))
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_real_backend_runs_threads_only_when_asked(pytester: pytest.Pytester, planted, backend_args) -> None:
    planted("good_hooks")
    ini(pytester, "good_hooks:enable", "good_hooks:disable")
    pytester.makepyfile('''
import good_hooks

def test_default(comfyruntime, comfy_executor):
    report = comfyruntime.assert_session_isolation(good_hooks.get_session)
    if comfy_executor.backend == "real":
        assert "c" not in report.prompts and "one prompt at a time" in report.skipped["c"]
    else:
        assert report.prompts["c"] == 16

def test_asked(comfyruntime):
    assert comfyruntime.assert_session_isolation(good_hooks.get_session, threads=2, repeats=3).prompts["c"] == 6
''')
    pytester.runpytest("-p", "no:cacheprovider", *backend_args).assert_outcomes(passed=2)


def test_missing_target_is_named_from_what_was_observed(pytester: pytest.Pytester, planted, backend_args) -> None:
    planted("planted_missing_target")
    ini(pytester, "planted_missing_target:enable", "planted_missing_target:disable")
    pytester.makepyfile("def test_it(comfyruntime):\n    comfyruntime.assert_hooks_active()\n")
    result = pytester.runpytest("-p", "no:cacheprovider", *backend_args)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "hooks not active on this executor (*, era *):",
        "  - enabling returned False: planted_missing_target:enable (planted_missing_target.py:25)",
        "  - enabling patched nothing on ComfyUI's modules and classes*",
        "  the extension tried to hook targets this executor does not have:",
        '    planted_missing_target.py:27: pre_execute = getattr(target_cls, "pre_execute", None)*'
        "-> execution.PromptExecutor has no attribute 'pre_execute'",
        '    planted_missing_target.py:28: pre_get_input_data = getattr(target_cls, "pre_get_input_data", None) '
        "-> execution.PromptExecutor has no attribute 'pre_get_input_data'",
    ])
    assert "read from the source" not in result.stdout.str()


def test_missing_target_enabled_from_a_conftest_hook_is_observed_too(pytester: pytest.Pytester, planted) -> None:
    planted("planted_missing_target")
    pytester.makeconftest('''
import planted_missing_target

def pytest_comfyruntime_enable_hooks(execution):
    planted_missing_target.enable(execution)
''')
    pytester.makepyfile("def test_it(comfyruntime):\n    comfyruntime.assert_hooks_active()\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  - enabling patched nothing on ComfyUI's modules and classes*",
                                 "  (inside it, planted_missing_target:enable (planted_missing_target.py:25) returned "
                                 "False)", "*planted_missing_target.py:27:*has no attribute 'pre_execute'"])


def test_missing_target_enabled_inside_the_test_is_read_from_the_source(pytester: pytest.Pytester, planted) -> None:
    planted("planted_missing_target")
    pytester.makepyfile('''
import planted_missing_target

def test_it(comfyruntime, comfy_execution_module):
    planted_missing_target.enable(comfy_execution_module)
    comfyruntime.assert_hooks_active(hook_modules=["planted_missing_target"])
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*planted_missing_target.py:27:*-> execution.PromptExecutor has no attribute 'pre_execute' (read from the source)",
        "*planted_missing_target.py:28:*has no attribute 'pre_get_input_data' (read from the source)"])


def test_a_hook_installed_where_comfyui_never_calls_is_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(seedlike='''
import execution

def enable(module=execution):
    module.PromptExecutor.pre_execute = lambda self, *a: None   # "succeeds", and is never called
    return True

def disable(module=execution):
    del module.PromptExecutor.pre_execute
''')
    pytester.syspathinsert()
    ini(pytester, "seedlike:enable", "seedlike:disable")
    pytester.makepyfile("def test_it(comfyruntime):\n    comfyruntime.assert_hooks_active()\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*no hook ran during a prompt: installed execution.PromptExecutor.pre_execute = seedlike.enable.<locals>."
        "<lambda>, called 0 times",
        "*installed execution.PromptExecutor.pre_execute, a name this executor does not have: ComfyUI never calls it",
        "*seedlike.py:4: *-> execution.PromptExecutor has no attribute 'pre_execute'"])


@pytest.mark.parametrize("module, fragments", [
    ("planted_global", ["session isolation broken (principle: per-prompt isolation)",
                        "prompt 'iso-a-00001-*' (mode a: one after another on one executor): field *holds 'cnry*', "
                        "which came from prompt 'iso-a-00000-*' (canary of node * CRString, input 'value')*",
                        "*this prompt has no such node: stale state kept from an earlier prompt*"]),
    ("planted_timestamp", ["session isolation broken (principle: per-prompt isolation)*",
                           "prompt 'iso-a-00021-*' (mode a: one after another on one executor, two prompts in the "
                           "same millisecond): field *which came from prompt 'iso-a-00020-*"]),
])
def test_isolation_assertion_catches_shared_state(pytester: pytest.Pytester, planted, backend_args, module,
                                                  fragments) -> None:
    planted(module)
    ini(pytester, f"{module}:enable", f"{module}:disable")
    pytester.makepyfile(f'''
import {module}

def test_it(comfyruntime):
    comfyruntime.assert_session_isolation({module}.get_session, threads=8, repeats=20)
''')
    result = pytester.runpytest("-p", "no:cacheprovider", *backend_args)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*{f}*" for f in fragments])


def test_isolation_assertion_catches_a_module_level_current_prompt_on_every_era(pytester: pytest.Pytester,
                                                                              planted) -> None:
    """Only prompts running at the same time show it (mode c); the threads yield at every node,
    so it is caught on eras A and B too, whose prompts never wait (before, it passed there)."""
    planted("planted_current_prompt")
    ini(pytester, "planted_current_prompt:enable", "planted_current_prompt:disable")
    pytester.makepyfile('''
import planted_current_prompt

def test_it(comfyruntime):
    comfyruntime.assert_session_isolation(planted_current_prompt.get_session, threads=4, repeats=8)
''')
    result = pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-era=all")
    result.assert_outcomes(failed=len(ERAS))
    text = result.stdout.str()
    for era in ERAS:
        assert f"test_it[mock-{era}]" in text
    reports = text.split("short test summary info")[0]  # with CI set, the summary repeats each message
    assert reports.count("session isolation broken (principle: per-prompt isolation)") == len(ERAS)
    assert "(mode a:" not in text and "(mode b:" not in text  # one prompt at a time is fine
    result.stdout.fnmatch_lines(["*(mode c: concurrently on 4 executors in 4 threads, thread *): field ?'inputs'?*"
                                 "which came from prompt 'iso-c-*"])


FILE_WRITER = '''
import json, threading
from pathlib import Path
import execution

OUT = Path(__file__).parent / "captures"
_last = {{}}
_orig = {{}}

def enable(module=execution):
    _orig["gid"] = gid = module.get_input_data
    _orig["ex"] = ex = module.PromptExecutor.execute
    def get_input_data(*args, **kwargs):
        result = gid(*args, **kwargs)
        if len(args) == 6:
            data = result[0] if isinstance(result, tuple) else result
            _last[args[2]] = {{k: v[0] for k, v in data.items() if isinstance(v, list) and v and isinstance(v[0], str)}}
        return result
    def execute(self, prompt, prompt_id, *rest):
        {reset}
        try:
            return ex(self, prompt, prompt_id, *rest)
        finally:
            OUT.mkdir(exist_ok=True)
            (OUT / f"{{prompt_id}}.json").write_text(json.dumps(_last))
    module.get_input_data, module.PromptExecutor.execute = get_input_data, execute

def disable(module=execution):
    module.get_input_data, module.PromptExecutor.execute = _orig["gid"], _orig["ex"]
'''


@pytest.mark.parametrize("reset, outcome", [("_last.clear()", "passed"), ("pass", "failed")])
def test_isolation_reads_the_files_an_extension_wrote(pytester: pytest.Pytester, reset, outcome) -> None:
    pytester.makepyfile(filewriter=FILE_WRITER.format(reset=reset))
    pytester.syspathinsert()
    ini(pytester, "filewriter:enable", "filewriter:disable")
    pytester.makepyfile('''
import filewriter

def test_it(comfyruntime):
    comfyruntime.assert_session_isolation(lambda pid: filewriter.OUT / f"{pid}.json", threads=0)
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(**{outcome: 1})
    if outcome == "failed":
        result.stdout.fnmatch_lines(["*(mode a: one after another on one executor): field  (file */iso-a-00001-*.json)"
                                     "*which came from prompt 'iso-a-00000-*"])
