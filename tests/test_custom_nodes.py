"""Extensions loaded the way ComfyUI loads them (``comfyruntime_custom_nodes``), on every mock era
(the real tier runs the same packages on real ComfyUI: tests/real/test_custom_nodes_real_tier.py)."""
from __future__ import annotations

import pytest
from extensions import METADATA_SAVER, NODE_TIMER, OLD_PROFILER, PROMPT, write_package

from pytest_comfyruntime.executor.eras import ERAS


def test_a_package_that_patches_at_import_is_the_extension_on_every_era(pytester: pytest.Pytester) -> None:
    write_package(pytester.path, "custom_nodes", "metadata_saver", METADATA_SAVER)
    pytester.makeini("[pytest]\ncomfyruntime_custom_nodes = custom_nodes\n")
    pytester.makepyfile(test_saver=f'''
        import execution
        import metadata_saver

        PROMPT = {PROMPT!r}

        def test_the_import_time_patch_fires(comfy_executor, comfyruntime):
            assert execution is comfy_executor.execution  # the running era's module, not the first era's
            assert hasattr(execution.get_input_data, "__wrapped__")  # the era's own module carries the patch
            del metadata_saver.SEEN[:]
            result = comfy_executor.run(PROMPT)
            assert result.success and result.outputs["2"] == {{"saved": [3]}}
            assert "MetaSave" in metadata_saver.SEEN
            report = comfyruntime.assert_hooks_active()
            assert any("get_input_data" in target for target in report.installed)
    ''')
    result = pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-era=all", "-v")
    result.assert_outcomes(passed=len(ERAS))
    result.stdout.fnmatch_lines(["*custom nodes (mock-A backend*", "*seconds: *metadata_saver"])


def test_a_class_level_send_sync_patch_sees_every_node_and_sends_its_own_events(pytester: pytest.Pytester) -> None:
    write_package(pytester.path, "custom_nodes", "metadata_saver", METADATA_SAVER)
    write_package(pytester.path, "custom_nodes", "node_timer", NODE_TIMER)
    pytester.makeini("[pytest]\ncomfyruntime_custom_nodes = custom_nodes\n")
    pytester.makepyfile(test_timer=f'''
        PROMPT = {PROMPT!r}

        def test_it(comfy_executor):
            result = comfy_executor.run(PROMPT, prompt_id="p1")
            assert result.success
            assert result.of("node_timer.report") == [{{"prompt_id": "p1", "nodes": ["1", "2"]}}]
    ''')
    pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-era=all").assert_outcomes(passed=len(ERAS))


def test_an_import_failure_is_reported_as_comfyui_reports_it_on_each_era_that_refuses_it(
        pytester: pytest.Pytester) -> None:
    write_package(pytester.path, "custom_nodes", "old_profiler", OLD_PROFILER)
    pytester.makeini("[pytest]\ncomfyruntime_custom_nodes = custom_nodes\n")
    pytester.makepyfile(test_profiler='''
        def test_it(comfy_executor):
            assert comfy_executor.run({"1": {"class_type": "CRInt", "inputs": {"value": 1}},
                                       "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": "x"}}}).success

        def test_without_fixtures():
            pass
    ''')
    result = pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-era=all")
    result.assert_outcomes(passed=2, errors=len(ERAS) - 1)  # era A has recursive_execute; B to D refuse the package
    assert "During handling" not in result.stdout.str()  # one message per error, not the exception twice
    result.stdout.fnmatch_lines([
        "*IMPORT FAILED*old_profiler*",
        "*custom nodes failed to load on mock-B backend, ComfyUI era B*",
        "*AttributeError: module 'execution' has no attribute 'recursive_execute'*",
        "*Cannot import *old_profiler module for custom nodes: module 'execution' has no attribute 'recursive_execute'*",
    ])


def test_the_import_time_patches_are_undone_when_the_session_ends(pytester: pytest.Pytester) -> None:
    write_package(pytester.path, "custom_nodes", "metadata_saver", METADATA_SAVER)
    pytester.makeini("[pytest]\ncomfyruntime_custom_nodes = custom_nodes\n")
    pytester.makepyfile(test_saver='''
        def test_it(comfy_execution_module):
            assert hasattr(comfy_execution_module.get_input_data, "__wrapped__")
    ''')
    for era in ("A", "D"):
        pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--comfyruntime-era={era}").assert_outcomes(passed=1)
    import sys

    assert not [name for name in sys.modules if "metadata_saver" in name]


def test_a_missing_custom_nodes_folder_is_one_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncomfyruntime_custom_nodes = nowhere\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*bad setting comfyruntime_custom_nodes (ini option in *tox.ini): '*nowhere' does "
                                 "not exist; fix: list folders that exist*"])
    assert "Traceback" not in result.stderr.str()


def test_comfyui_root_as_two_words_stops_before_running_with_the_roots_configuration(
        pytester: pytest.Pytester) -> None:
    root = pytester.mkdir("ComfyUI")
    (root / "pytest.ini").write_text("[pytest]\naddopts = -s\npythonpath = .\n")
    pytester.makeini("[pytest]\ncomfyruntime_era = A\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider", "--comfyui-root", str(root))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--comfyui-root {root} was written as two words*configfile {root}/pytest.ini*"
                                 f"fix: write --comfyui-root={root} (one word), or set COMFYUI_ROOT={root}*"])
    assert "Traceback" not in result.stderr.str()


def test_what_unloading_cannot_undo_is_named_at_the_end(pytester: pytest.Pytester) -> None:
    """A thread the package starts at import outlives the session's undo: the summary names it."""
    write_package(pytester.path, "custom_nodes", "pinger", '''
        import threading
        import time

        threading.Thread(target=time.sleep, args=(2,), name="pinger-heartbeat", daemon=True).start()
        NODE_CLASS_MAPPINGS = {}
    ''')
    pytester.makeini("[pytest]\ncomfyruntime_custom_nodes = custom_nodes\n")
    pytester.makepyfile(test_it="def test_it(comfy_executor):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-era=A")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*comfyruntime: left behind by the custom nodes*",
                                 "mock: unloading the custom nodes could not undo:",
                                 "*[[]thread[]] thread 'pinger-heartbeat': still running*"])
