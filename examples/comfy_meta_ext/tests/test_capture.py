"""The example extension's own tests, written as any extension author would write them."""
import execution
from comfy_meta_ext import hooks

from pytest_comfyruntime.nodes import TXT2IMG_NODE_CLASS_MAPPINGS


def test_hooks_are_installed_on_the_execution_module(comfy_execution_module):
    assert comfy_execution_module is execution
    assert execution.PromptExecutor.execute.__wrapped__ is not None
    assert execution.get_input_data.__wrapped__ is not None


def test_txt2img_inputs_are_captured(comfy_executor, comfy_workflow, comfy_nodes):
    # the plugin's txt2img stand-ins, also on a real ComfyUI (whose own nodes would need model files)
    comfy_nodes.add_all(dict(TXT2IMG_NODE_CLASS_MAPPINGS))
    result = comfy_executor.run(comfy_workflow("txt2img"), prompt_id="prompt-1")
    assert result.success
    session = hooks.get_session("prompt-1")
    sampler = next(v for v in session["inputs"].values() if v["class_type"] == "KSampler")
    assert sampler["steps"] == 20 and sampler["sampler_name"] == "euler"
    assert set(session["order"]) == set(result.executed_nodes)


def test_prompts_do_not_see_each_other(comfy_executor, comfy_workflow):
    first = comfy_workflow("four_node")
    second = comfy_workflow("four_node")
    second["1"]["inputs"]["value"] = 40
    comfy_executor.run(first, prompt_id="a")
    comfy_executor.run(second, prompt_id="b")
    assert hooks.get_session("a")["inputs"]["1"]["value"] == 2
    assert hooks.get_session("b")["inputs"]["1"]["value"] == 40
    assert "2" not in hooks.get_session("b")["inputs"]  # cached in b: it never ran there


def test_a_failing_prompt_still_gets_its_session(comfy_executor, comfy_workflow):
    result = comfy_executor.run(comfy_workflow("failing"), prompt_id="bad")
    assert not result.success
    assert hooks.get_session("bad")["order"]


def test_enable_is_idempotent(comfy_execution_module):
    assert hooks.enable(comfy_execution_module) is False
