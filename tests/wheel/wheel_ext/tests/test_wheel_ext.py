import sys
import sysconfig
from pathlib import Path

import wheel_ext

import pytest_comfyruntime.plugin


def test_the_plugin_is_the_installed_wheel():
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    plugin = Path(pytest_comfyruntime.plugin.__file__).resolve()
    assert plugin.is_relative_to(site), f"{plugin} is not from {site} ({sys.prefix})"


def test_the_hook_runs(comfy_executor, comfy_workflow, comfyruntime):
    result = comfy_executor.run(comfy_workflow("txt2img"), prompt_id="p1")
    assert result.success
    assert wheel_ext.CALLS, "the patched execution.get_input_data never ran"
    comfyruntime.assert_hooks_active()
