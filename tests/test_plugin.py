"""pytester tests of what a user sees: fixtures, ini options, hookspecs, residue errors, bad config."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

EXT_SOURCE = (Path(__file__).parent / "ext_recorder" / "__init__.py").read_text()

FOUR_NODE = '''
FOUR = {"1": {"class_type": "CRInt", "inputs": {"value": 2}},
        "2": {"class_type": "CRInt", "inputs": {"value": 3}},
        "3": {"class_type": "CRAdd", "inputs": {"a": ["1", 0], "b": ["2", 0]}},
        "4": {"class_type": "CRRecord", "inputs": {"value": ["3", 0], "label": "sum"}}}
'''


def test_fixtures_run_a_prompt(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FOUR_NODE + '''
def test_it(comfy_executor, comfy_execution_module):
    import execution
    assert execution is comfy_execution_module
    assert comfy_executor.backend == "mock" and comfy_executor.era == "D"  # 2026 is the default
    assert comfy_executor.comfyui_version == "0.38.1"
    result = comfy_executor.run(FOUR, prompt_id="p1")
    assert result.success and result.outputs["4"]["value"] == [5]
    assert set(result.timings) == {"1", "2", "3", "4"}
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_extension_imported_at_collection_time(pytester: pytest.Pytester) -> None:
    """An extension doing ``import execution`` at its top imports fine while tests are collected."""
    pytester.makepyfile(ext_recorder=EXT_SOURCE)
    pytester.makepyfile(test_collect='''
import execution, nodes, server, folder_paths
import comfy.model_management, comfy.utils
from comfy_execution.graph import DynamicPrompt, ExecutionList
from comfy_execution.caching import BasicCache, HierarchicalCache, LRUCache, RAMPressureCache, NullCache
import ext_recorder

def test_same_module(comfy_execution_module):
    assert ext_recorder.execution is comfy_execution_module
    assert issubclass(comfy.model_management.InterruptProcessingException, Exception)
    assert callable(comfy.model_management.soft_empty_cache) and comfy.utils.ProgressBar
    assert server.PromptServer.instance is not None
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


# What real ComfyUI passes, per era (scripts/probe_real_comfyui.py, recorded in November 2026):
# get_input_data gets six positional arguments from the per-node executor, once per executed node
# (A in depth-first order, B and C in staging order); the fourth is A's outputs dict, B's output
# cache, C's ExecutionList.
WRAPPER_FACTS = {
    "A": (["1", "2", "3", "4"], "dict"),
    "B": (["2", "1", "3", "4"], "HierarchicalCache"),
    "C": (["2", "1", "3", "4"], "ExecutionList"),
}


@pytest.mark.parametrize("era", sorted(WRAPPER_FACTS))
def test_ini_hooks_fire_with_real_arguments(pytester: pytest.Pytester, era: str) -> None:
    order, fourth = WRAPPER_FACTS[era]
    pytester.makepyfile(ext_recorder=EXT_SOURCE)
    pytester.makeini(f"""
[pytest]
comfyruntime_era = {era}
comfyruntime_hooks = ext_recorder:enable
comfyruntime_unhooks = ext_recorder:disable
""")
    pytester.makepyfile(FOUR_NODE + f'''
import ext_recorder

def test_wrappers_fire(comfy_executor):
    result = comfy_executor.run(FOUR, prompt_id="p1")
    assert result.success
    (self, args, kwargs), = ext_recorder.CALLS["execute"]
    assert self is comfy_executor.executor and kwargs == {{}}
    prompt, prompt_id, extra_data, outputs = args
    assert prompt_id == "p1" and outputs == ["4"] and extra_data["client_id"] == "comfyruntime"
    calls = ext_recorder.CALLS["get_input_data"]
    # Plain nodes have no IS_CHANGED or VALIDATE_INPUTS, so no other call is made.
    assert [c[0][2] for c in calls] == {order!r}
    assert all(len(c[0]) == 6 and c[1] == {{}} for c in calls)
    inputs, class_def, unique_id, fourth, fifth, extra = calls[2][0]
    assert class_def.__name__ == "CRAdd" and type(fourth).__name__ == {fourth!r}
    assert extra is extra_data

def test_is_changed_call_has_no_linked_outputs(comfy_executor):
    comfy_executor.run({{"1": {{"class_type": "CRChanging", "inputs": {{"token": "x"}}}},
                        "2": {{"class_type": "CRRecord", "inputs": {{"value": ["1", 0], "label": ""}}}}}})
    first = ext_recorder.CALLS["get_input_data"][0][0]
    assert first[2] == "1"
    # B and C: IsChangedCache passes outputs=None; A passes the executor's own outputs dict.
    if {era!r} == "A":
        assert first[3] is comfy_executor.executor.outputs
    else:
        assert first[3] is None
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_hookspecs_from_conftest(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('''
import pytest
EVENTS = []

class Doubler:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT",)}}
    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    def run(self, value):
        return (value * 2,)

@pytest.hookimpl
def pytest_comfyruntime_register_nodes(registry):
    EVENTS.append("register")
    registry.add("Doubler", Doubler, display_name="Doubler")

@pytest.hookimpl
def pytest_comfyruntime_enable_hooks(execution):
    EVENTS.append("enable")
    original = execution.PromptExecutor.execute
    def execute(self, *args, **kwargs):
        EVENTS.append("execute")
        return original(self, *args, **kwargs)
    execute.original = original
    execution.PromptExecutor.execute = execute

@pytest.hookimpl
def pytest_comfyruntime_disable_hooks(execution):
    EVENTS.append("disable")
    execution.PromptExecutor.execute = execution.PromptExecutor.execute.original
''')
    pytester.makepyfile('''
import conftest

def test_one(comfy_executor, comfy_nodes):
    import nodes
    assert nodes.NODE_DISPLAY_NAME_MAPPINGS["Doubler"] == "Doubler"
    r = comfy_executor.run({"1": {"class_type": "CRInt", "inputs": {"value": 4}},
                            "2": {"class_type": "Doubler", "inputs": {"value": ["1", 0]}},
                            "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}}})
    assert r.outputs["3"]["value"] == [8]
    assert conftest.EVENTS == ["register", "enable", "execute"]

def test_two():
    import nodes
    assert "Doubler" not in nodes.NODE_CLASS_MAPPINGS
    assert conftest.EVENTS[-1] == "disable"
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_unhook_leaving_a_wrapper_errors_with_its_name(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(leaky='''
def enable(execution):
    original = execution.get_input_data
    def leaky_wrapper(*args, **kwargs):
        return original(*args, **kwargs)
    execution.get_input_data = leaky_wrapper
    execution.PromptExecutor._is_patched_by_leaky = True

def disable(execution):
    pass  # forgets to restore
''')
    pytester.makeini('[pytest]\ncomfyruntime_hooks = leaky:enable\ncomfyruntime_unhooks = leaky:disable\n')
    pytester.makepyfile('''
def test_it(comfy_executor):
    assert comfy_executor.run({"1": {"class_type": "CRInt", "inputs": {"value": 1}},
                               "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}}).success

def test_next_is_clean():
    import execution
    assert execution.get_input_data.__name__ == "get_input_data"
    assert not hasattr(execution.PromptExecutor, "_is_patched_by_leaky")
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_it*",
        "*execution.get_input_data: still replaced by leaky.enable.<locals>.leaky_wrapper*",
        "*execution.PromptExecutor._is_patched_by_leaky: added True*",
    ])


@pytest.mark.parametrize("body, expected", [
    ("import nodes\n    nodes.NODE_CLASS_MAPPINGS['Stray'] = type('Stray', (), {})",
     "*nodes.NODE_CLASS_MAPPINGS['Stray']: left registered*"),
    ("import os\n    os.environ['COMFYRUNTIME_LEAK'] = '1'",
     "*os.environ['COMFYRUNTIME_LEAK']: None -> '1'*"),
    ("import threading, time\n    threading.Thread(target=time.sleep, args=(5,), name='straggler', daemon=True).start()",
     "*thread 'straggler': still running*"),
    ("import sys, types\n    sys.modules['execution'] = types.ModuleType('execution')",
     "*sys.modules['execution']: swapped*"),
    ("import threading\n    def timing_profiler(frame, event, arg): pass\n    threading.setprofile(timing_profiler)",
     "*[interpreter] threading.setprofile (new threads): None -> test_residue_kinds.test_it.<locals>.timing_profiler*"),
])
def test_residue_kinds(pytester: pytest.Pytester, body: str, expected: str) -> None:
    pytester.makepyfile(f'''
def test_it(comfy_execution_module):
    {body}
''')
    pytester.makepyfile(test_later='''
import threading

def test_later(comfy_execution_module):  # everything was put back after test_it
    assert threading.getprofile() is None
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    assert expected.strip("*") in result.stdout.str()


def test_monkeypatch_is_not_residue(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
def test_it(monkeypatch, comfy_execution_module):
    monkeypatch.setattr(comfy_execution_module, "get_input_data", lambda *a: None)

def test_other_order(comfy_execution_module, monkeypatch):
    monkeypatch.setattr(comfy_execution_module.PromptExecutor, "execute", lambda *a: None)
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


@pytest.mark.parametrize("ini, expected", [
    ("comfyruntime_era = Z", "*bad setting comfyruntime_era (ini option in *tox.ini): unknown ComfyUI era 'Z'*"),
    ("comfyruntime_executor = fake", "*bad setting comfyruntime_executor (ini option in *tox.ini)*fix: use one of: mock, real, both*"),
    ("comfyruntime_custom_nodes = nowhere", "*bad setting comfyruntime_custom_nodes (ini option in *tox.ini): '*nowhere' does not exist; fix: list folders that exist*"),
    ("comfyruntime_hooks = not-an-import-string", "*comfyruntime_hooks*'not-an-import-string' is not of the form 'package.module:function'*"),
    ("comfyruntime_session_standins = maybe", "*comfyruntime_session_standins*fix: use true or false*"),
])
def test_bad_configuration_is_one_clear_usage_error(pytester: pytest.Pytester, ini: str, expected: str) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([expected])
    assert "Traceback" not in result.stderr.str()


def test_bad_cli_era(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-era=2030")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*bad setting --comfyruntime-era (command line): unknown ComfyUI era '2030'; "
                                 "choose one of A (2024-recursive), B (2024-sync), C (2025-async)*"])


def test_a_command_line_setting_is_named_as_given_even_with_an_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncomfyruntime_era = A\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-era", "Q",
                                "--comfyruntime-custom-nodes", "missing")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*bad setting --comfyruntime-era (command line): unknown ComfyUI era 'Q'*",
                                 "*bad setting --comfyruntime-custom-nodes (command line): '*missing' does not exist*"])
    assert "ini option" not in result.stderr.str()


def test_hook_import_failure_names_setting_and_cause(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncomfyruntime_hooks = no_such_ext.hooks:enable\n")
    pytester.makepyfile("def test_x(comfy_execution_module): pass")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*comfyruntime_hooks in *tox.ini: cannot import module 'no_such_ext.hooks' for "
                                 "'no_such_ext.hooks:enable': ModuleNotFoundError*fix: install the extension*"])


def test_missing_attribute_in_hook(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(myext="def enable(execution): pass")
    pytester.makeini("[pytest]\ncomfyruntime_hooks = myext:enabel\n")
    pytester.makepyfile("def test_x(comfy_execution_module): pass")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*module 'myext' has no attribute 'enabel'*"])


@pytest.mark.parametrize("era, recursive", [("A", True), ("B", False), ("C", False), ("D", False)])
def test_era_option_selects_the_mock(pytester: pytest.Pytester, era: str, recursive: bool) -> None:
    pytester.makepyfile(f'''
import importlib, pytest

def test_it(comfy_executor, comfy_execution_module):
    assert comfy_executor.era == "{era}"
    assert hasattr(comfy_execution_module, "recursive_execute") is {recursive}
    assert hasattr(comfy_execution_module.PromptExecutor, "execute_async") is {era in ("C", "D")}
    if {recursive}:
        with pytest.raises(ModuleNotFoundError, match="comfy_execution"):
            importlib.import_module("comfy_execution")
''')
    result = pytester.runpytest("-p", "no:cacheprovider", f"--comfyruntime-era={era}", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"comfyruntime: executor=mock era={era} (*"])


def test_per_test_standins(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncomfyruntime_session_standins = false\n")
    pytester.makepyfile('''
import sys

def test_outside():
    assert "execution" not in sys.modules

def test_inside(comfy_executor):
    assert sys.modules["execution"] is comfy_executor.execution

def test_after():
    assert "execution" not in sys.modules
''')
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_session_leaves_sys_modules_as_it_found_them(pytester: pytest.Pytester) -> None:
    before_modules = {n: m for n, m in sys.modules.items() if n.split(".")[0] in ("execution", "nodes", "server", "folder_paths", "comfy", "comfy_execution")}
    before_meta = list(sys.meta_path)
    pytester.makepyfile("def test_x(comfy_executor): pass")
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    after_modules = {n: m for n, m in sys.modules.items() if n.split(".")[0] in before_modules.keys() | {"execution", "nodes", "server", "folder_paths", "comfy", "comfy_execution"}}
    assert after_modules == before_modules
    assert sys.meta_path == before_meta


def test_workflow_fixture_and_bad_workflow(pytester: pytest.Pytester) -> None:
    wf = pytester.mkdir("flows")
    (wf / "broken.json").write_text('{"1": {"class_type": "CRAdd", "inputs": {"a": ["9", 0], "b": 1}}}')
    pytester.makeini("[pytest]\ncomfyruntime_workflows = flows\n")
    pytester.makepyfile('''
import pytest
from pytest_comfyruntime import WorkflowError

def test_bundled(comfy_executor, comfy_workflow):
    assert comfy_executor.run(comfy_workflow("txt2img")).success

def test_user_folder(comfy_workflow):
    with pytest.raises(WorkflowError) as info:
        comfy_workflow("broken")
    assert "broken.json" in str(info.value) and "'1'" in str(info.value) and "a" in str(info.value)
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_works_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FOUR_NODE + '''
import pytest

@pytest.mark.parametrize("n", range(6))
def test_many(comfy_executor, n):
    assert comfy_executor.run(FOUR).outputs["4"]["value"] == [5]
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=6)


def test_era_matrix_runs_each_test_once_per_era(pytester: pytest.Pytester) -> None:
    """A per-node wrapper written for era C's 11 parameters breaks on B and D with ComfyUI's own error."""
    pytester.makepyfile(pernode='''
def enable(execution):
    original = getattr(execution, "execute", None)
    if original is None or not callable(original):
        return False
    async def execute(server, dynprompt, caches, current_item, extra_data, executed, prompt_id,
                      execution_list, pending_subgraph_results, pending_async_nodes, ui_outputs):
        return await original(server, dynprompt, caches, current_item, extra_data, executed, prompt_id,
                              execution_list, pending_subgraph_results, pending_async_nodes, ui_outputs)
    enable.original = original
    execution.execute = execute
    return True

def disable(execution):
    if getattr(enable, "original", None) is not None:
        execution.execute = enable.original
        enable.original = None
''')
    pytester.makeini("[pytest]\ncomfyruntime_hooks = pernode:enable\ncomfyruntime_unhooks = pernode:disable\n")
    pytester.makepyfile(FOUR_NODE + '''
def test_runs(comfy_executor):
    assert comfy_executor.run(FOUR).success
''')
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", "--comfyruntime-era=A,B,C,D")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*test_runs?mock-A? PASSED*", "*test_runs?mock-B? FAILED*", "*test_runs?mock-C? PASSED*",
                                 "*test_runs?mock-D? FAILED*"])
    # Era B calls the per-node execute with nine arguments, era D with twelve (asset_manager): the
    # wrapper fails as it would in ComfyUI.
    result.stdout.fnmatch_lines(["*TypeError: *execute() missing 2 required positional arguments: 'pending_async_nodes' and 'ui_outputs'*"])
    result.stdout.fnmatch_lines(["*TypeError: *execute() takes 11 positional arguments but 12 were given*"])


def test_era_all_and_bad_list(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(comfy_executor):\n    assert comfy_executor.backend == 'mock'\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-era=all")
    from pytest_comfyruntime.executor.eras import ERAS
    result.assert_outcomes(passed=len(ERAS))
    bad = pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-era=A,Q")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*unknown ComfyUI era 'Q'*"])
