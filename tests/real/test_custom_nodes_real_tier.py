"""The custom-node packages of tests/extensions.py, loaded into the real root and the mock of its
era in one session (``--comfyruntime-executor=both``), as a user's suite would."""
from __future__ import annotations

import pytest
from extensions import METADATA_SAVER, NODE_TIMER, OLD_PROFILER, PROMPT, write_package

USER_TEST = f'''
import execution
import metadata_saver

PROMPT = {PROMPT!r}

def test_loaded_everywhere(comfy_executor, comfyruntime):
    assert execution is comfy_executor.execution  # this backend's module, not the other's
    del metadata_saver.SEEN[:]
    result = comfy_executor.run(PROMPT, prompt_id="p1")
    assert result.success and result.outputs["2"] == {{"saved": [3]}}
    assert "MetaSave" in metadata_saver.SEEN
    assert result.of("node_timer.report") == [{{"prompt_id": "p1", "nodes": ["1", "2"]}}]
    comfyruntime.assert_hooks_active()
'''


def test_packages_load_into_the_real_root_and_the_mock(pytester: pytest.Pytester, runtime) -> None:
    real = runtime.backends["real"]
    write_package(pytester.path, "custom_nodes", "metadata_saver", METADATA_SAVER)
    write_package(pytester.path, "custom_nodes", "node_timer", NODE_TIMER)
    pytester.makeini("[pytest]\ncomfyruntime_custom_nodes = custom_nodes\n")
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", "--comfyruntime-executor=both",
                                f"--comfyui-root={real.real.info.root}", f"--comfyruntime-era={real.era.key}")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*custom nodes (real backend, ComfyUI era*", "*seconds: */custom_nodes/metadata_saver"])


def test_an_import_failure_on_the_real_root_is_reported_as_comfyui_reports_it(pytester: pytest.Pytester,
                                                                              runtime) -> None:
    real = runtime.backends["real"]
    write_package(pytester.path, "custom_nodes", "old_profiler", OLD_PROFILER)
    pytester.makeini("[pytest]\ncomfyruntime_custom_nodes = custom_nodes\n")
    pytester.makepyfile(test_user="def test_it(comfy_executor):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-executor=both",
                                f"--comfyui-root={real.real.info.root}", f"--comfyruntime-era={real.era.key}")
    if real.era.key == "A":  # 2024's executor has recursive_execute: the profiler loads
        result.assert_outcomes(passed=2)
        return
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*custom nodes failed to load on real backend*",
                                 "*Cannot import *old_profiler module for custom nodes: module 'execution' has no "
                                 "attribute 'recursive_execute'*"])
