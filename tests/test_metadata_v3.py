"""The V3 reference save node (``v3_metadata_save_classes()``, class_type ``ComfyRuntimeSaveImageV3``)
on the mock of eras C and D: it runs in the text-to-image graph, passes ``comfyruntime.assert_metadata``
and writes the V1 node's ``ai_info`` section for the same prompt; a planted V3 fault (the hidden
Comfy.org API key, read from ``cls.hidden``, written into a chunk) is caught with the secret message.
Run in an inner session with ``--comfyruntime-era=C,D`` (V3 nodes exist from era C on)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PLANTED_DIR = Path(__file__).parent / "planted_metadata"

INNER = r'''
import re
from pathlib import Path

import pytest
from metadata_prompts import SAVER, txt2img

from pytest_comfyruntime import capture
from pytest_comfyruntime.metadata import read_metadata
from pytest_comfyruntime.runtime import CONTEXT_KEY
from pytest_comfyruntime.nodes.metadata_save import SaveImageWithRuntime, v3_metadata_save_classes

EXTRA = {"client_id": "comfyruntime", "extra_pnginfo": {"workflow": {"id": "w1", "nodes": []}},
         "api_key_comfy_org": "comfyui-0123456789abcdef0123456789abcdef"}


def planted_v3_classes():
    """The V3 node with one fault: it asks for the hidden API key and writes it into a chunk."""
    from comfy_api.latest import io

    V3 = v3_metadata_save_classes()["ComfyRuntimeSaveImageV3"]

    class LeaksApiKey(V3):
        @classmethod
        def define_schema(cls):
            schema = super().define_schema()
            schema.node_id = "PlantedV3LeaksApiKey"
            schema.hidden.append(io.Hidden.api_key_comfy_org)
            return schema

        @classmethod
        def saver(cls):
            key = cls.hidden.api_key_comfy_org

            class Leaky(SaveImageWithRuntime):
                def extra_text(self, prompt_id):
                    return [("comfy_org", str(key))]

            return Leaky()

    return {"PlantedV3LeaksApiKey": LeaksApiKey}


@pytest.fixture
def v3_savers(comfy_execution_module, comfy_nodes):
    comfy_nodes.add("ComfyRuntimeSaveImage", SaveImageWithRuntime)
    for name, cls in {**v3_metadata_save_classes(), **planted_v3_classes()}.items():
        comfy_nodes.add(name, cls)
    assert capture.enable_hooks(comfy_execution_module), capture.status().reason
    try:
        yield comfy_execution_module
    finally:
        capture.disable_hooks(comfy_execution_module)


def _file(result):
    import folder_paths

    entry = result.outputs[SAVER]["images"][0]
    return Path(folder_paths.get_output_directory(), entry["subfolder"], entry["filename"])


HIDDEN = ("prompt", "extra_pnginfo", "unique_id")


def _comparable(section):
    """The section without what differs between two runs (the prompt id, timings) and, for the
    saver's own entry, its class_type and its hidden values: a V1 node gets them as inputs (the
    capture records them), a V3 node reads them from ``cls.hidden``."""
    section = {k: v for k, v in section.items() if k not in ("prompt_id", "hook_stats")}
    nodes = {}
    for nid, node in section["nodes"].items():
        node = {k: v for k, v in node.items() if k not in ("started_s", "duration_s")}
        if nid == SAVER:
            node["class_type"] = "<saver>"
            node["inputs"] = {k: v for k, v in node["inputs"].items() if k not in HIDDEN}
            node["skipped"] = [name for name in node["skipped"] if name not in HIDDEN]
        nodes[nid] = node
    return {**section, "nodes": nodes}


def test_the_v3_node_writes_what_the_v1_node_writes(v3_savers, comfy_executor, comfyruntime, request):
    from comfy_api.latest import io

    assert issubclass(v3_savers.nodes.NODE_CLASS_MAPPINGS["ComfyRuntimeSaveImageV3"], io.ComfyNode)
    # a fresh executor for the V1 run: on the same one, everything but the saver would come from the cache
    executors = {"ComfyRuntimeSaveImageV3": comfy_executor,
                 "ComfyRuntimeSaveImage": request.node.stash[CONTEXT_KEY].harness()}
    sections = {}
    for saver, executor in executors.items():
        result = executor.run(txt2img(saver, switch=True), extra_data=EXTRA)
        report = comfyruntime.assert_metadata(result)
        assert {(f.placement, f.capture_mode) for f in report.files} == {("inline", "parser+hooks")}
        assert report.disagreements == [
            "Disagreement at 'ai_info.runtime.nodes.3.inputs.steps': parser=20 → runtime=25"]
        meta = read_metadata(_file(result))
        runtime = meta.json("ai_info")["runtime"]
        assert runtime["prompt_id"] == result.prompt_id
        assert meta.json("prompt") == result.history["prompt"][2]
        assert meta.json("workflow") == EXTRA["extra_pnginfo"]["workflow"]
        assert result.outputs[SAVER]["images"][0]["filename"].startswith("meta_")
        sections[saver] = runtime
    v3, v1 = sections["ComfyRuntimeSaveImageV3"]["nodes"][SAVER], sections["ComfyRuntimeSaveImage"]["nodes"][SAVER]
    assert (v3["class_type"], v3["inputs"], v3["skipped"]) == ("ComfyRuntimeSaveImageV3", {"filename_prefix": "meta"},
                                                             ["images"])
    assert (v1["inputs"]["unique_id"], v1["skipped"]) == (SAVER, ["images", "prompt", "extra_pnginfo"])
    assert _comparable(sections["ComfyRuntimeSaveImageV3"]) == _comparable(sections["ComfyRuntimeSaveImage"])


def test_the_v3_node_moves_big_data_to_a_sidecar(v3_savers, comfy_executor, comfyruntime):
    result = comfy_executor.run(txt2img("ComfyRuntimeSaveImageV3", inline_limit_kb=1), extra_data=EXTRA)
    report = comfyruntime.assert_metadata(result, inline_limit_kb=1)
    assert {f.placement for f in report.files} == {"sidecar"}


def test_a_v3_node_writing_the_hidden_api_key_is_caught(v3_savers, comfy_executor, comfyruntime):
    result = comfy_executor.run(txt2img("PlantedV3LeaksApiKey"), extra_data=EXTRA)
    with pytest.raises(pytest.fail.Exception) as caught:
        comfyruntime.assert_metadata(result)
    assert re.search(r"^  - [^\n]*: PNG tEXt chunk 'comfy_org': holds the value of extra_data\['api_key_comfy_org'\] "
                     r"\(comf… \(\d+ chars\)\): a secret is leaked; fix: never write extra_data", caught.value.msg,
                     re.M), caught.value.msg
'''


def test_the_v3_node_is_built_on_call_and_importing_it_imports_no_comfy_api() -> None:
    code = ("import sys, pytest_comfyruntime, pytest_comfyruntime.metadata\n"
            "from pytest_comfyruntime.nodes.metadata_save import v3_metadata_save_classes\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('comfy_api', 'torch', 'PIL', 'numpy')))\n"
            "try:\n    v3_metadata_save_classes()\n"  # no ComfyUI active: built on demand, so this fails
            "except ModuleNotFoundError as exc:\n    print(exc.name)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["[]", "comfy_api"], done.stdout + done.stderr


def test_the_v3_save_node_on_eras_c_and_d(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_v3_saver=INNER)
    pytester.syspathinsert(PLANTED_DIR)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-vv", "--comfyruntime-era=C,D-11,D")
    result.assert_outcomes(passed=9)
    for era in ("C", "D-11]", "D]"):
        result.stdout.fnmatch_lines([f"*test_the_v3_node_writes_what_the_v1_node_writes*{era}*PASSED*"])
