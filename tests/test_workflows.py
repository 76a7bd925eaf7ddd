"""Loading and checking API-format workflows: the bundled ones, and one message per kind of mistake."""
from __future__ import annotations

import copy
import json
import os
import pickle
import sys
import types
from pathlib import Path

import pytest

from pytest_comfyruntime import workflows
from pytest_comfyruntime.nodes import TEST_NODE_CLASS_MAPPINGS, TXT2IMG_NODE_CLASS_MAPPINGS, read_png_text
from pytest_comfyruntime.workflows import WorkflowError, bundled_workflow_names, load_workflow, validate_workflow

ALL = {**TEST_NODE_CLASS_MAPPINGS, **TXT2IMG_NODE_CLASS_MAPPINGS}
BUNDLED = ["chain_100", "failing", "four_node", "switch", "txt2img"]
REPO = Path(__file__).resolve().parents[1]


# -- a tiny reference interpreter (no list semantics, no caching) to check what the bundled graphs compute --

def interpret(prompt, extra_data=None):
    """Run an API-format prompt through the node classes the plain way; return {node_id: result}."""
    results: dict[str, object] = {}

    def value(node_id):
        if node_id in results:
            return results[node_id]
        node = prompt[node_id]
        cls = ALL[node["class_type"]]
        kwargs = {k: (value(v[0])[v[1]] if isinstance(v, list) else v) for k, v in node["inputs"].items()}
        for name, kind in cls.INPUT_TYPES().get("hidden", {}).items():
            kwargs[name] = {"PROMPT": prompt, "UNIQUE_ID": node_id,
                            "EXTRA_PNGINFO": (extra_data or {}).get("extra_pnginfo")}[kind]
        out = getattr(cls(), cls.FUNCTION)(**kwargs)
        results[node_id] = out["result"] if isinstance(out, dict) and "result" in out else out
        if isinstance(out, dict) and "ui" in out:
            results[node_id + ".ui"] = out["ui"]
        return results[node_id]

    for node_id, node in prompt.items():
        if getattr(ALL[node["class_type"]], "OUTPUT_NODE", False):
            value(node_id)
    return results


# -- bundled workflows --------------------------------------------------------------------------------

def test_bundled_names():
    assert bundled_workflow_names() == BUNDLED


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_workflows_validate_and_keep_meta(name):
    prompt = load_workflow(name, node_classes=ALL)
    validate_workflow(prompt, node_classes=ALL)
    assert all(isinstance(node_id, str) for node_id in prompt)
    assert all(isinstance(node["_meta"]["title"], str) and node["_meta"]["title"] for node in prompt.values())
    assert any(getattr(ALL[n["class_type"]], "OUTPUT_NODE", False) for n in prompt.values())


def test_load_returns_a_fresh_dict_each_time():
    first = load_workflow("four_node", node_classes=ALL)
    first["1"]["inputs"]["value"] = 99
    assert load_workflow("four_node", node_classes=ALL)["1"]["inputs"]["value"] == 2


def test_four_node_shape_and_result():
    prompt = load_workflow("four_node", node_classes=ALL)
    assert [(k, v["class_type"]) for k, v in prompt.items()] == [
        ("1", "CRInt"), ("2", "CRInt"), ("3", "CRAdd"), ("4", "CRRecord")]
    assert prompt["3"]["inputs"] == {"a": ["1", 0], "b": ["2", 0]}
    assert interpret(prompt)["4.ui"]["value"] == [5]


def test_chain_100_is_a_chain_of_cr_nodes_ending_in_record():
    prompt = load_workflow("chain_100", node_classes=ALL)
    assert len(prompt) == 100 and all(n["class_type"].startswith("CR") for n in prompt.values())
    assert prompt["100"]["class_type"] == "CRRecord"
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 2000))
    assert interpret(prompt)["100.ui"] == {"value": [98], "type": ["int"], "unique_id": ["100"], "label": ["chain_100"]}


@pytest.mark.parametrize("select, expected", [(True, 12), (False, 20)])
def test_switch_has_two_branches(select, expected):
    prompt = load_workflow("switch", node_classes=ALL)
    switch = next(n for n in prompt.values() if n["class_type"] == "CRSwitch")
    assert isinstance(switch["inputs"]["on_true"], list) and isinstance(switch["inputs"]["on_false"], list)
    switch["inputs"]["select"] = select
    record = next(k for k, n in prompt.items() if n["class_type"] == "CRRecord")
    assert interpret(prompt)[record + ".ui"]["value"] == [expected]


def test_failing_has_crfail_in_the_middle():
    prompt = load_workflow("failing", node_classes=ALL)
    assert [n["class_type"] for n in prompt.values()] == ["CRInt", "CRFail", "CRRecord"]
    with pytest.raises(ValueError, match="deliberate failure"):
        interpret(prompt)


def test_txt2img_is_the_default_graph_and_runs_on_the_stand_ins(tmp_path, monkeypatch):
    prompt = load_workflow("txt2img", node_classes=ALL)
    assert {k: n["class_type"] for k, n in prompt.items()} == {
        "3": "KSampler", "4": "CheckpointLoaderSimple", "5": "EmptyLatentImage", "6": "CLIPTextEncode",
        "7": "CLIPTextEncode", "8": "VAEDecode", "9": "SaveImage"}
    assert prompt["9"]["_meta"] == {"title": "Save Image"}
    module = types.ModuleType("folder_paths")
    module.get_output_directory = lambda: str(tmp_path)
    module.get_temp_directory = lambda: str(tmp_path / "temp")
    module.get_save_image_path = lambda prefix, out, w=0, h=0: (out, prefix, 1, "", prefix)
    monkeypatch.setitem(sys.modules, "folder_paths", module)
    results = interpret(prompt, {"extra_pnginfo": {"workflow": {"id": 1}}})
    assert results["9.ui"] == {"images": [{"filename": "ComfyUI_00001_.png", "subfolder": "", "type": "output"}]}
    text = read_png_text(tmp_path / "ComfyUI_00001_.png")
    assert json.loads(text["prompt"]) == prompt and json.loads(text["workflow"]) == {"id": 1}


# -- finding files --------------------------------------------------------------------------------------

def _write(path: Path, data, raw: bool = False) -> Path:
    path.write_text(data if raw else json.dumps(data), encoding="utf-8")
    return path


FOUR = {"1": {"class_type": "CRInt", "inputs": {"value": 1}},
        "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": "x"}}}


def test_search_dirs_come_before_the_bundled_ones(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    _write(second / "four_node.json", FOUR)
    _write(first / "mine.json", FOUR)
    assert load_workflow("four_node", search_dirs=[str(second)], node_classes=ALL) == FOUR
    assert load_workflow("mine", search_dirs=[first, second], node_classes=ALL) == FOUR
    assert load_workflow("txt2img", search_dirs=[first], node_classes=ALL)["9"]["class_type"] == "SaveImage"


def test_paths_and_file_names(tmp_path, monkeypatch):
    path = _write(tmp_path / "wf.json", FOUR)
    assert load_workflow(path, node_classes=ALL) == FOUR
    assert load_workflow(str(path), node_classes=ALL) == FOUR
    assert load_workflow("wf.json", search_dirs=[tmp_path], node_classes=ALL) == FOUR
    assert load_workflow("four_node.json", node_classes=ALL)["4"]["class_type"] == "CRRecord"
    monkeypatch.chdir(tmp_path)
    assert load_workflow("wf.json", node_classes=ALL) == FOUR


def test_bundled_dir_falls_back_to_the_source_tree(monkeypatch):
    def missing(name):
        raise ModuleNotFoundError(name)

    monkeypatch.setattr(workflows.resources, "files", missing)
    assert bundled_workflow_names() == BUNDLED
    assert load_workflow("four_node", node_classes=ALL)["3"]["class_type"] == "CRAdd"


# -- one WorkflowError per mistake, naming file, node, input and fix --------------------------------------

def _error(tmp_path, data, name="bad.json", node_classes=ALL, raw=False) -> WorkflowError:
    path = _write(tmp_path / name, data, raw)
    with pytest.raises(WorkflowError) as info:
        load_workflow(path, node_classes=node_classes)
    err = info.value
    message = str(err)
    assert str(path) in message and err.source == str(path)
    assert "Fix: " in message and err.fix and err.fix in message
    assert "\n" not in message  # one paragraph
    return err


def _node_error(tmp_path, data, node_id, input_name=None, **kw) -> WorkflowError:
    err = _error(tmp_path, data, **kw)
    assert err.node_id == node_id and f"node {node_id!r}" in str(err)
    if input_name is not None:
        assert err.input_name == input_name and f"input {input_name!r}" in str(err)
    return err


def test_file_not_found(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(WorkflowError) as info:
        load_workflow(missing, node_classes=ALL)
    assert str(missing) in str(info.value) and "does not exist" in str(info.value) and info.value.fix


def test_unknown_name_lists_the_available_ones(tmp_path):
    _write(tmp_path / "mine.json", FOUR)
    with pytest.raises(WorkflowError) as info:
        load_workflow("txt2im", search_dirs=[tmp_path], node_classes=ALL)
    message = str(info.value)
    assert "'txt2im'" in message and "did you mean 'txt2img'" in message
    for name in [*BUNDLED, "mine"]:
        assert name in message
    assert str(tmp_path) in message


def test_not_json_gives_line_and_column(tmp_path):
    err = _error(tmp_path, '{\n  "1": {"class_type": "CRInt",\n  "inputs": }\n}', raw=True)
    assert "not valid JSON" in str(err) and "line 3, column 13" in str(err)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes(b'{"1": "\xff"}')
    with pytest.raises(WorkflowError, match="not UTF-8"):
        load_workflow(path, node_classes=ALL)


@pytest.mark.parametrize("data, kind", [([1, 2], "array"), ("x", "string"), (3, "number"), (None, "null")])
def test_top_level_not_an_object(tmp_path, data, kind):
    err = _error(tmp_path, data)
    assert f"JSON {kind}, not an object" in str(err)


def test_ui_format_is_recognised(tmp_path):
    err = _error(tmp_path, {"last_node_id": 9, "nodes": [{"id": 3, "type": "KSampler"}], "links": [[1, 4, 0, 3, 0]]})
    assert "UI-format" in str(err) and "Save (API)" in err.fix


def test_prompt_request_body_is_recognised(tmp_path):
    err = _error(tmp_path, {"prompt": FOUR, "client_id": "x"})
    assert "/prompt request body" in str(err) and '"prompt"' in err.fix


def test_empty_workflow(tmp_path):
    assert "no nodes" in str(_error(tmp_path, {}))


def test_node_not_an_object(tmp_path):
    err = _node_error(tmp_path, {**FOUR, "7": ["CRInt"]}, "7")
    assert "JSON array, not an object" in str(err)


def test_missing_class_type_names_the_title(tmp_path):
    err = _node_error(tmp_path, {**FOUR, "7": {"inputs": {}, "_meta": {"title": "My node"}}}, "7")
    assert "no 'class_type'" in str(err) and err.title == "My node" and "title 'My node'" in str(err)


def test_class_type_not_a_string(tmp_path):
    assert "not a string" in str(_node_error(tmp_path, {**FOUR, "7": {"class_type": 5, "inputs": {}}}, "7"))


def test_missing_inputs(tmp_path):
    err = _node_error(tmp_path, {**FOUR, "7": {"class_type": "CRInt"}}, "7")
    assert "no 'inputs'" in str(err) and err.class_type == "CRInt" and "CRInt" in str(err)


def test_inputs_not_an_object(tmp_path):
    err = _node_error(tmp_path, {**FOUR, "7": {"class_type": "CRInt", "inputs": []}}, "7")
    assert "'inputs' is a JSON array" in str(err)


def test_unknown_class_type_lists_close_matches(tmp_path):
    err = _node_error(tmp_path, {**FOUR, "7": {"class_type": "KSampeler", "inputs": {}, "_meta": {"title": "Sampler"}}},
                      "7")
    assert "'KSampeler' is not a registered node class" in str(err) and "did you mean 'KSampler'" in str(err)
    assert "comfy_nodes.add('KSampeler', cls)" in err.fix


@pytest.mark.parametrize("link", [["1"], ["1", 0, 0], [1, 0], ["1", "0"], ["1", True], ["1", 0.0], []])
def test_malformed_link(tmp_path, link):
    data = copy.deepcopy(FOUR)
    data["2"]["inputs"]["value"] = link
    err = _node_error(tmp_path, data, "2", "value")
    assert "malformed link" in str(err) and err.class_type == "CRRecord"


def test_link_to_a_missing_node(tmp_path):
    data = copy.deepcopy(FOUR)
    data["2"]["inputs"]["value"] = ["99", 0]
    err = _node_error(tmp_path, data, "2", "value")
    assert "links to node '99', which is not in the workflow" in str(err)


@pytest.mark.parametrize("index", [1, 5, -1])
def test_output_index_beyond_return_types(tmp_path, index):
    data = copy.deepcopy(FOUR)
    data["2"]["inputs"]["value"] = ["1", index]
    err = _node_error(tmp_path, data, "2", "value")
    assert f"output {index} of node '1' (CRInt), which has 1 output(s): 0=INT" in str(err)
    assert "from 0 to 0" in err.fix


def test_link_from_a_node_without_outputs(tmp_path):
    data = copy.deepcopy(FOUR)
    data["3"] = {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}}
    err = _node_error(tmp_path, data, "3", "value")
    assert "has 0 output(s)" in str(err) and "no outputs" in err.fix


def test_missing_required_input(tmp_path):
    data = copy.deepcopy(FOUR)
    data["2"]["_meta"] = {"title": "Recorder"}
    del data["2"]["inputs"]["label"]
    err = _node_error(tmp_path, data, "2", "label")
    assert "required input 'label' (STRING) is missing" in str(err) and "CRRecord" in str(err)
    assert "title 'Recorder'" in str(err)


def test_missing_combo_input_on_a_txt2img_node(tmp_path):
    data = load_workflow("txt2img", node_classes=ALL)
    del data["3"]["inputs"]["sampler_name"]
    err = _node_error(tmp_path, data, "3", "sampler_name")
    assert "(a combo)" in str(err) and "KSampler" in str(err)


def test_cycle_names_the_nodes_on_it(tmp_path):
    data = {"1": {"class_type": "CRInt", "inputs": {"value": 1}},
            "2": {"class_type": "CRAdd", "inputs": {"a": ["1", 0], "b": ["4", 0]}},
            "3": {"class_type": "CRAdd", "inputs": {"a": ["2", 0], "b": 1}},
            "4": {"class_type": "CRAdd", "inputs": {"a": ["3", 0], "b": 1}},
            "5": {"class_type": "CRRecord", "inputs": {"value": ["4", 0], "label": ""}}}
    err = _error(tmp_path, data)
    message = str(err)
    assert "cycle" in message
    assert "'2' (CRAdd) -> '3' (CRAdd) -> '4' (CRAdd) -> '2' (CRAdd)" in message
    assert "'1'" not in message.split("cycle")[1] and "'5'" not in message.split("cycle")[1]
    assert err.node_id == "2" and err.input_name == "b"


def test_self_loop(tmp_path):
    data = {"1": {"class_type": "CRAdd", "inputs": {"a": ["1", 0], "b": 1}}}
    err = _node_error(tmp_path, data, "1", "a")
    assert "'1' (CRAdd) -> '1' (CRAdd)" in str(err)


def test_input_types_that_raise_are_reported_with_the_node(tmp_path):
    class Broken:
        RETURN_TYPES = ("INT",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            raise KeyError("checkpoints")

    err = _node_error(tmp_path, {"1": {"class_type": "Broken", "inputs": {}}}, "1",
                      node_classes={**ALL, "Broken": Broken})
    assert "Broken.INPUT_TYPES() raised KeyError" in str(err)


def test_validate_workflow_names_its_source_label():
    with pytest.raises(WorkflowError) as info:
        validate_workflow({"1": {"class_type": "Nope", "inputs": {}}}, node_classes=ALL, source="my label")
    assert str(info.value).startswith("Workflow my label, node '1' (Nope): ")


def test_non_string_node_ids_in_a_python_dict():
    with pytest.raises(WorkflowError, match="node id 1 is a int"):
        validate_workflow({1: {"class_type": "CRInt", "inputs": {"value": 1}}}, node_classes=ALL)


@pytest.mark.parametrize("junk", [
    {"1": {"class_type": "CRRecord", "inputs": {"value": [None, None], "label": ""}}},
    {"1": {"class_type": "CRRecord", "inputs": {"value": [["1"], 0], "label": ""}}},
    {"1": {"class_type": "CRRecord", "inputs": {"value": ["1", 0]}}},
    {"1": {"class_type": None, "inputs": None}},
    {"1": {"class_type": ["CRInt"], "inputs": {}}},
    {"1": {"class_type": "CRInt", "inputs": {"value": 1}, "_meta": "not a dict"}, "2": 7},
    {"nodes": [], "links": []},
    {"nodes": {}, "links": {}},
])
def test_junk_only_ever_raises_workflow_error(junk):
    with pytest.raises(WorkflowError):
        validate_workflow(junk, node_classes=ALL)


def test_workflow_error_is_a_value_error_and_pickles():
    err = WorkflowError("bad thing", source="f.json", fix="do this", node_id="3", class_type="CRAdd",
                        title="T", input_name="a")
    assert isinstance(err, ValueError)
    assert str(err) == "Workflow f.json, node '3' (CRAdd, title 'T'), input 'a': bad thing. Fix: do this."
    clone = pickle.loads(pickle.dumps(err))
    assert str(clone) == str(err) and clone.node_id == "3" and clone.input_name == "a" and clone.fix == "do this"


def test_validation_does_not_change_the_prompt():
    prompt = load_workflow("txt2img", node_classes=ALL)
    before = copy.deepcopy(prompt)
    validate_workflow(prompt, node_classes=ALL)
    assert prompt == before


def test_importing_workflows_does_not_need_the_fixtures_package():
    assert os.path.isdir(REPO / "fixtures" / "workflows")


@pytest.mark.parametrize("link, suggestion", [([1, 0], '["1", 0]'), (["3", "2"], '["3", 2]')])
def test_malformed_link_fix_suggests_the_likely_link(tmp_path, link, suggestion):
    data = copy.deepcopy(FOUR)
    data["2"]["inputs"]["value"] = link
    assert _node_error(tmp_path, data, "2", "value").fix == f"write it as {suggestion}"
