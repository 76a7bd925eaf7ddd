"""The reference save node end to end: it passes ``comfyruntime.assert_metadata`` on every era,
inline and with a sidecar, with hooks and without; the check fails runs that wrote no file, a
``prompt`` chunk that is not the prompt that ran and an A1111 ``parameters`` text that is not true."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from metadata_prompts import KSAMPLER, SAVER, txt2img

from pytest_comfyruntime import capture
from pytest_comfyruntime.executor.eras import ERAS
from pytest_comfyruntime.metadata import METADATA_NODE_CLASS_MAPPINGS, RunWitness, check_metadata, read_metadata
from pytest_comfyruntime.nodes.metadata_save import SaveImageWithRuntime

EXTRA = {"client_id": "comfyruntime", "extra_pnginfo": {"workflow": {"id": "w1", "nodes": []}},
         "api_key_comfy_org": "comfyui-0123456789abcdef0123456789abcdef"}


def _file(result) -> Path:
    import folder_paths

    entry = result.outputs[SAVER]["images"][0]
    return Path(folder_paths.get_output_directory(), entry["subfolder"], entry["filename"])


def test_the_reference_node_writes_true_metadata_inline(savers, comfy_executor, comfyruntime) -> None:
    with RunWitness() as seen:
        result = comfy_executor.run(txt2img(switch=True), extra_data=EXTRA)
    report = comfyruntime.assert_metadata(result)
    assert [(f.placement, f.capture_mode, f.during[:12]) for f in report.files] == [
        ("inline", "parser+hooks", ""), ("inline", "parser+hooks", "canary rerun"),
        ("inline", "parser+hooks", "canary rerun")]
    assert report.disagreements == ["Disagreement at 'ai_info.runtime.nodes.3.inputs.steps': parser=20 → runtime=25"]
    meta = read_metadata(_file(result))
    runtime = meta.json("ai_info")["runtime"]
    assert runtime["prompt_id"] == result.prompt_id
    assert runtime["execution_order"] == list(dict.fromkeys(result.executed_nodes))  # the switch runs twice
    assert runtime["nodes"][KSAMPLER]["inputs"]["steps"] == seen.inputs[KSAMPLER]["steps"] == 25
    assert meta.json("prompt") == result.history["prompt"][2] and meta.json("workflow") == EXTRA["extra_pnginfo"][
        "workflow"]
    assert check_metadata(result, expect=seen).ok
    if comfy_executor.era == "D":  # 2026 ComfyUI enriches the executed file entry
        assert result.outputs[SAVER]["images"][0]["metadata"] == {"kind": "image", "width": 64, "height": 64}


def test_past_32_kib_the_data_goes_to_a_sidecar(savers, comfy_executor, comfyruntime) -> None:
    result = comfy_executor.run(txt2img(big_text=True), extra_data=EXTRA)
    report = comfyruntime.assert_metadata(result)
    assert {f.placement for f in report.files} == {"sidecar"} and report.files[0].data_bytes > 32 * 1024
    path = _file(result)
    stub = read_metadata(path).json("ai_info")["runtime"]
    assert set(stub) == {"version", "prompt_id", "capture_mode", "sidecar"}
    assert stub["sidecar"]["path"] == path.name + ".runtime.json"
    assert json.loads((path.parent / stub["sidecar"]["path"]).read_text())["prompt_id"] == result.prompt_id
    with pytest.raises(pytest.fail.Exception, match="yet it is in a sidecar"):
        comfyruntime.assert_metadata(result, inline_limit_kb=1024)


def test_without_a_capture_session_the_node_writes_parser_mode(savers, comfy_executor, comfyruntime) -> None:
    capture.disable_hooks(savers)
    result = comfy_executor.run(txt2img(switch=True), extra_data=EXTRA)
    report = comfyruntime.assert_metadata(result)
    assert {f.capture_mode for f in report.files} == {"parser"}
    runtime = read_metadata(_file(result)).json("ai_info")["runtime"]
    assert runtime["nodes"][KSAMPLER]["inputs"]["steps"] == 20 and "hook_stats" not in runtime
    assert report.disagreements == ["Disagreement at 'ai_info.runtime.nodes.3.inputs.steps': parser=20 → runtime=25"]


class KeyedNode:
    """A V1 node with the hidden Comfy.org API key (eras C and D pass it from extra_data)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": ("STRING", {"default": ""})}, "hidden": {"api_key": "API_KEY_COMFY_ORG"}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"

    def run(self, text, api_key=None):
        return (text,)


def test_hidden_api_key_inputs_are_redacted(savers, comfy_executor, comfyruntime, comfy_nodes) -> None:
    if comfy_executor.era in ("A", "B"):
        pytest.skip("API_KEY_COMFY_ORG is a hidden input from era C on")
    comfy_nodes.add("KeyedNode", KeyedNode)
    prompt = txt2img()
    prompt["30"] = {"class_type": "KeyedNode", "inputs": {"text": "a glass bottle"}}
    prompt["6"]["inputs"]["text"] = ["30", 0]
    with RunWitness() as seen:
        result = comfy_executor.run(prompt, extra_data=EXTRA)
    assert seen.inputs["30"]["api_key"] == EXTRA["api_key_comfy_org"]  # the node (and any hook) saw it
    comfyruntime.assert_metadata(result, expect=seen)
    node = read_metadata(_file(result)).json("ai_info")["runtime"]["nodes"]["30"]
    assert node["redacted"] == ["api_key"] and "api_key" not in node["inputs"]


class LeakyOutput:
    """An output node that shows the hidden API key in its UI output (history and ``executed``)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("STRING", {"default": ""})}, "hidden": {"api_key": "API_KEY_COMFY_ORG"}}

    RETURN_TYPES = ()
    OUTPUT_NODE = True
    FUNCTION = "run"

    def run(self, value, api_key=None):
        return {"ui": {"text": [f"{value} {api_key}"]}}


def test_a_secret_in_an_executed_output_is_found(savers, comfy_executor, comfyruntime, comfy_nodes) -> None:
    if comfy_executor.era in ("A", "B"):
        pytest.skip("API_KEY_COMFY_ORG is a hidden input from era C on")
    comfy_nodes.add("LeakyOutput", LeakyOutput)
    prompt = {**txt2img(), "31": {"class_type": "LeakyOutput", "inputs": {"value": "shown"}}}
    result = comfy_executor.run(prompt, extra_data=EXTRA)
    with pytest.raises(pytest.fail.Exception) as caught:
        comfyruntime.assert_metadata(result)
    assert re.search(r"^  - the executed output of node \d+: holds the value of extra_data\['api_key_comfy_org'\] "
                     r"\(comf… \(\d+ chars\)\): a secret is leaked; fix: never write extra_data", caught.value.msg,
                     re.M), caught.value.msg


class WrongPrompt(SaveImageWithRuntime):
    def save_images(self, images, filename_prefix="ComfyUI", inline_limit_kb=32, prompt=None, extra_pnginfo=None,
                    unique_id=None):
        edited = json.loads(json.dumps(prompt))
        edited[KSAMPLER]["inputs"]["seed"] = 7
        return super().save_images(images, filename_prefix, inline_limit_kb, edited, extra_pnginfo, unique_id)


class WrongParameters(SaveImageWithRuntime):
    def extra_text(self, prompt_id):
        return [("parameters", "a glass bottle\nNegative prompt: blurry\nSteps: 20, Sampler: euler, CFG scale: 7, "
                               "Seed: 42, Size: 64x64")]


@pytest.mark.parametrize("saver, field, problem", [
    (WrongPrompt, "PNG tEXt chunk 'prompt'", "is not the prompt this run executed: prompt['3']['inputs']['seed'] is "
     "7, the run had 42"),
    (WrongParameters, "parameters 'Steps'", "is 20, but the KSampler (node 3) ran with steps=25"),
])
def test_comfyuis_chunks_and_the_parameters_text_must_be_true(savers, comfy_executor, comfyruntime, comfy_nodes,
                                                              saver, field, problem) -> None:
    comfy_nodes.add("Odd", saver)
    with RunWitness() as seen:
        result = comfy_executor.run(txt2img("Odd", switch=True), extra_data=EXTRA)
    report = check_metadata(result, expect=seen)
    assert [(p.field, p.problem) for p in report.problems if p.kind != "values"] == [(field, problem)]
    with pytest.raises(pytest.fail.Exception) as caught:  # the canary reruns judge the linked steps too
        comfyruntime.assert_metadata(result)
    assert f"_.png: {field}: {problem.split(' (node')[0]}" in caught.value.msg


def test_a_run_that_wrote_no_file_fails(savers, comfy_executor, comfyruntime) -> None:
    result = comfy_executor.run({"1": {"class_type": "CRInt", "inputs": {"value": 1}},
                                 "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": "x"}}})
    with pytest.raises(pytest.fail.Exception) as caught:
        comfyruntime.assert_metadata(result)
    assert caught.value.msg.startswith(
        "metadata check failed: 1 problem(s) in 0 file(s)\n  - the run's outputs: no node of the run reported a file "
        "(outputs of nodes ['2']); fix: run a prompt whose save node reports its images in its UI output")


def test_a_headless_run_is_checked_without_its_order(savers, comfy_executor, comfyruntime) -> None:
    result = comfy_executor.run(txt2img(), extra_data={})
    assert result.executed_nodes == []
    assert comfyruntime.assert_metadata(result).ok


INNER = '''
from pytest_comfyruntime import capture
from pytest_comfyruntime.metadata import METADATA_NODE_CLASS_MAPPINGS

PROMPT = {PROMPT}


def test_reference_metadata(comfy_execution_module, comfy_executor, comfy_nodes, comfyruntime):
    comfy_nodes.add("ComfyRuntimeSaveImage", METADATA_NODE_CLASS_MAPPINGS["ComfyRuntimeSaveImage"])
    assert capture.enable_hooks(comfy_execution_module)
    try:
        result = comfy_executor.run(PROMPT, extra_data={{"client_id": "c", "api_key_comfy_org": "comfyui-k-0123456789"}})
        report = comfyruntime.assert_metadata(result)
        assert report.reruns == 2 and {{f.capture_mode for f in report.files}} == {{"parser+hooks"}}
        assert report.disagreements == ["Disagreement at 'ai_info.runtime.nodes.3.inputs.steps': parser=20 → runtime=25"]
    finally:
        capture.disable_hooks(comfy_execution_module)
'''


def test_the_reference_node_passes_on_every_era(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=INNER.format(PROMPT=repr(txt2img(switch=True))))
    result = pytester.runpytest_inprocess("--comfyruntime-era=all", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=len(ERAS))
    result.stdout.fnmatch_lines([f"*test_reference_metadata*{era}]*PASSED*" for era in ERAS])


def test_the_node_is_exported_for_registration() -> None:
    assert METADATA_NODE_CLASS_MAPPINGS["ComfyRuntimeSaveImage"] is SaveImageWithRuntime
    inputs = SaveImageWithRuntime.INPUT_TYPES()
    assert list(inputs["required"]) == ["images", "filename_prefix"]
    assert inputs["hidden"] == {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO", "unique_id": "UNIQUE_ID"}
    assert SaveImageWithRuntime.RETURN_TYPES == ("IMAGE",) and SaveImageWithRuntime.OUTPUT_NODE
