"""V3 nodes (``comfy_api.latest.io.ComfyNode``) on the mock of eras C and D, as ComfyUI runs them:
``define_schema``, a classmethod ``execute`` (sync or async), ``io.NodeOutput`` with ``ui`` and
``block_execution``, hidden values read from ``cls.hidden``, ``validate_inputs``,
``fingerprint_inputs``, ``check_lazy_status``, and ``ComfyExtension`` / ``comfy_entrypoint()``
packages. Era C is held to real ComfyUI 0.3.75 in tests/real/test_v3_parity_real.py; era D follows
the 2026 source (read, not run): a dict returned from ``execute`` works there, and the hidden values
travel in ``v3_data["hidden_inputs"]``.
"""
from __future__ import annotations

import asyncio
import importlib
import sys

import pytest
from mockera import mock_era

from pytest_comfyruntime.executor.custom_nodes import load_custom_nodes
from pytest_comfyruntime.nodes.v3 import V3_CLASS_TYPES, v3_node_classes

V3_ERAS = ["C", "D-11", "D"]
CLIENT = {"client_id": "v3"}


@pytest.fixture(params=V3_ERAS)
def v3(request, tmp_path):
    with mock_era(request.param, tmp_path) as mock:
        mock.registry.add_all(v3_node_classes())
        yield mock


def _run(mock, prompt, **kwargs):
    return mock.harness().run(prompt, extra_data=kwargs.pop("extra_data", CLIENT), **kwargs)


@pytest.mark.parametrize("era", ["A", "B"])
def test_no_v3_before_2025(era, tmp_path):
    with mock_era(era, tmp_path):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module("comfy_api.latest")


def test_the_stand_ins_are_v3_nodes_with_the_v1_view_computed_from_the_schema(v3):
    from comfy_api.internal import _ComfyNodeInternal
    from comfy_api.latest import io

    classes = {name: v3.nodes.NODE_CLASS_MAPPINGS[name] for name in V3_CLASS_TYPES}
    assert all(issubclass(cls, io.ComfyNode) and issubclass(cls, _ComfyNodeInternal) for cls in classes.values())
    assert classes["CR3Add"].FUNCTION == "EXECUTE_NORMALIZED"
    assert classes["CR3AddAsync"].FUNCTION == "EXECUTE_NORMALIZED_ASYNC"
    assert list(classes["CR3Add"].RETURN_TYPES) == ["INT"] and classes["CR3Record"].OUTPUT_NODE is True
    inputs = classes["CR3Record"].INPUT_TYPES()
    # hidden entries are 1-tuples: the UNIQUE_ID test of comfy_execution.caching never matches them
    assert inputs["hidden"] == {"unique_id": ("UNIQUE_ID",), "prompt": ("PROMPT",), "extra_pnginfo": ("EXTRA_PNGINFO",)}
    assert inputs["required"]["value"][0] == "*"
    caching = sys.modules["comfy_execution.caching"]
    assert caching.include_unique_id_in_input("CR3Record") is False
    assert caching.include_unique_id_in_input("CRRecord") is True


def test_sync_and_async_v3_nodes_run_with_v1_nodes_and_read_cls_hidden(v3):
    prompt = {"1": {"class_type": "CR3Int", "inputs": {"value": 2}},
              "2": {"class_type": "CRInt", "inputs": {"value": 3}},
              "3": {"class_type": "CR3AddAsync", "inputs": {"a": ["1", 0], "b": ["2", 0]}},
              "4": {"class_type": "CR3Add", "inputs": {"a": ["3", 0], "b": 10}},
              "5": {"class_type": "CR3Record", "inputs": {"value": ["4", 0], "label": "sum"}},
              "6": {"class_type": "CRRecord", "inputs": {"value": ["3", 0], "label": "v1"}}}
    result = _run(v3, prompt)
    assert result.success, result.error
    assert result.outputs["5"] == {"value": [15], "type": ["int"], "unique_id": ["5"], "label": ["sum"], "prompt": [True]}
    assert result.outputs["6"]["value"] == [5]
    assert sorted(result.executed_nodes) == ["1", "2", "3", "4", "5", "6"]


def test_a_hidden_value_not_asked_for_reads_none_and_the_class_clone_is_locked(v3):
    from comfy_api.latest import io

    seen = []

    class Peek(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            return io.Schema(node_id="Peek", inputs=[io.Int.Input("value")], outputs=[io.Int.Output()],
                             hidden=[io.Hidden.unique_id, io.Hidden.extra_pnginfo])

        @classmethod
        def execute(cls, value):
            seen.append((cls.hidden.unique_id, cls.hidden.extra_pnginfo, cls.hidden.prompt, cls.hidden.dynprompt,
                         cls is Peek, issubclass(cls, Peek)))
            cls.state = value  # the clone is locked: this raises
            return io.NodeOutput(value)

    v3.registry.add("Peek", Peek)
    prompt = {"1": {"class_type": "Peek", "inputs": {"value": 1}},
              "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}}
    result = _run(v3, prompt, extra_data={"client_id": "v3", "extra_pnginfo": {"workflow": 1}})
    assert seen == [("1", {"workflow": 1}, None, None, False, True)]
    assert not result.success
    assert result.error["node_id"] == "1" and result.error["exception_type"] == "AttributeError"
    assert "Cannot modify class attribute 'state' on locked class" in result.error["exception_message"]
    assert not hasattr(Peek, "state")


def test_fingerprint_inputs_decides_a_rerun(v3):
    prompt = {"1": {"class_type": "CR3Changing", "inputs": {"token": "x"}},
              "2": {"class_type": "CR3Record", "inputs": {"value": ["1", 0], "label": ""}}}
    runs = []
    harness = v3.harness()
    for token in ["x", "x", "y"]:
        prompt["1"]["inputs"]["token"] = token
        result = harness.run({k: dict(v, inputs=dict(v["inputs"])) for k, v in prompt.items()}, extra_data=CLIENT)
        runs.append(sorted(result.executed_nodes))
    assert runs == [["1", "2"], [], ["1", "2"]]


def test_check_lazy_status_evaluates_only_the_chosen_branch(v3):
    prompt = {"1": {"class_type": "CR3Int", "inputs": {"value": 1}},
              "2": {"class_type": "CRFail", "inputs": {"value": 0, "message": "never evaluated"}},
              "3": {"class_type": "CR3Switch", "inputs": {"select": True, "on_true": ["1", 0], "on_false": ["2", 0]}},
              "4": {"class_type": "CR3Record", "inputs": {"value": ["3", 0], "label": ""}}}
    result = _run(v3, prompt)
    assert result.success and result.outputs["4"]["value"] == [1]
    assert "2" not in result.executed_nodes
    assert result.executed_nodes.count("3") == 2  # staged, pending on its lazy input, staged again


def test_validate_inputs_fails_the_prompt_with_its_message(v3):
    from pytest_comfyruntime.executor.harness import PromptValidationError

    prompt = {"1": {"class_type": "CR3NonNegative", "inputs": {"value": -3}},
              "2": {"class_type": "CR3Record", "inputs": {"value": ["1", 0], "label": ""}}}
    with pytest.raises(PromptValidationError) as info:
        v3.harness().validate(prompt, "v3")
    [error] = info.value.node_errors["1"]["errors"]
    assert error["type"] == "custom_validation_failed" and error["details"] == "value - -3 is negative"
    prompt["1"]["inputs"]["value"] = 3
    assert v3.harness().validate(prompt, "v3") == ["2"]


def test_block_execution_blocks_the_consumers_and_reports_its_message(v3):
    prompt = {"1": {"class_type": "CR3Int", "inputs": {"value": 5}},
              "2": {"class_type": "CR3Block", "inputs": {"value": ["1", 0], "block": True, "message": "stop"}},
              "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}}}
    result = _run(v3, prompt)
    assert result.success and "3" not in result.outputs
    [blocked] = [d for d in result.of("execution_error")]
    assert blocked["node_id"] == "3" and blocked["exception_message"] == "Execution Blocked: stop"


def test_a_dict_from_execute_fails_on_c_and_works_on_d(v3):
    prompt = {"1": {"class_type": "CR3Int", "inputs": {"value": 5}},
              "2": {"class_type": "CR3Dict", "inputs": {"value": ["1", 0]}},
              "3": {"class_type": "CR3Record", "inputs": {"value": ["2", 0], "label": ""}}}
    result = _run(v3, prompt)
    if v3.era == "C":
        assert not result.success and result.error["exception_type"] == "TypeError"
        assert result.error["exception_message"] == \
            "NodeOutput.__init__() got an unexpected keyword argument 'args'\n"
    else:
        assert result.success and result.outputs["3"]["value"] == [5]


def test_a_v3_node_asking_for_unique_id_is_still_cached_under_renumbered_ids(v3):
    first = {"1": {"class_type": "CR3Int", "inputs": {"value": 4}},
             "2": {"class_type": "CR3Record", "inputs": {"value": ["1", 0], "label": ""}},
             "3": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}}
    renumbered = {"1" + k: {"class_type": v["class_type"],
                            "inputs": {n: (["1" + x[0], x[1]] if isinstance(x, list) else x) for n, x in v["inputs"].items()}}
                  for k, v in first.items()}
    harness = v3.harness()
    assert harness.run(first, extra_data=CLIENT).success
    result = harness.run(renumbered, extra_data=CLIENT)
    assert result.executed_nodes == ["13"]  # only the V1 node with hidden UNIQUE_ID runs again
    assert result.outputs["12"]["unique_id"] == ["2"]  # the cached UI keeps the old id


def test_get_input_data_hands_hooks_the_eras_third_value(v3):
    execution = v3.execution
    seen = []
    original = execution.get_input_data

    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        seen.append((args[2], result[2]))
        return result

    execution.get_input_data = wrapper
    try:
        prompt = {"1": {"class_type": "CR3Int", "inputs": {"value": 4}},
                  "2": {"class_type": "CR3Record", "inputs": {"value": ["1", 0], "label": ""}}}
        assert _run(v3, prompt).success
    finally:
        execution.get_input_data = original
    third = dict(seen)["2"]
    from comfy_api.latest import io
    hidden = third if v3.era == "C" else third["hidden_inputs"]
    assert hidden[io.Hidden.unique_id] == "2" and io.Hidden.prompt in hidden and io.Hidden.extra_pnginfo in hidden
    assert (dict(seen)["1"] == {}) if v3.era == "C" else (dict(seen)["1"] == {"hidden_inputs": {}})


V3_PACKAGE = '''
from comfy_api.latest import ComfyExtension, io

STEPS = []


class Doubler(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="V3PackDoubler", display_name="V3 Doubler",
                         inputs=[io.Int.Input("value")], outputs=[io.Int.Output()])

    @classmethod
    async def execute(cls, value):
        return io.NodeOutput(value * 2)


class Extension(ComfyExtension):
    async def on_load(self):
        STEPS.append("on_load")

    async def get_node_list(self):
        STEPS.append("get_node_list")
        return [Doubler]


async def comfy_entrypoint():
    STEPS.append("entrypoint")
    return Extension()
'''


def test_a_comfy_entrypoint_package_loads_and_runs(v3, tmp_path):
    package = tmp_path / "custom_nodes" / "v3pack"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(V3_PACKAGE)
    before = set(sys.modules)
    try:
        load = load_custom_nodes(v3.nodes, [package], label=f"mock {v3.era}")
        assert load.error() is None, load.error()
        [loaded] = load.packages
        assert loaded.nodes == ("V3PackDoubler",)
        module = sys.modules[loaded.modules[0]]
        # 0.3.75's loader never calls on_load(); the 2026 one awaits it first
        assert module.STEPS == (["entrypoint", "get_node_list"] if v3.era == "C"
                                else ["entrypoint", "on_load", "get_node_list"])
        assert v3.nodes.NODE_DISPLAY_NAME_MAPPINGS["V3PackDoubler"] == "V3 Doubler"
        prompt = {"1": {"class_type": "V3PackDoubler", "inputs": {"value": 21}},
                  "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}}
        result = _run(v3, prompt)
        assert result.success and result.outputs["2"]["value"] == [42]
    finally:
        v3.nodes.NODE_CLASS_MAPPINGS.pop("V3PackDoubler", None)
        v3.nodes.NODE_DISPLAY_NAME_MAPPINGS.pop("V3PackDoubler", None)
        for name in set(sys.modules) - before:
            del sys.modules[name]


def test_an_entrypoint_that_returns_no_extension_is_not_loaded(v3, tmp_path):
    package = tmp_path / "custom_nodes" / "badpack"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("def comfy_entrypoint():\n    return object()\n")
    before = set(sys.modules)
    try:
        load = load_custom_nodes(v3.nodes, [package], label=f"mock {v3.era}")
        [loaded] = load.packages
        assert not loaded.ok and "did not return a ComfyExtension, skipping." in loaded.log
    finally:
        for name in set(sys.modules) - before:
            del sys.modules[name]


def test_set_progress_of_the_execution_api_reaches_progress_state(v3):
    from comfy_api.latest import ComfyAPI, io

    class Slow(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            return io.Schema(node_id="Slow", inputs=[io.Int.Input("value")], outputs=[io.Int.Output()])

        @classmethod
        async def execute(cls, value):
            await ComfyAPI().execution.set_progress(1, 2)
            return io.NodeOutput(value)

    v3.registry.add("Slow", Slow)
    result = _run(v3, {"1": {"class_type": "Slow", "inputs": {"value": 1}},
                       "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}})
    assert result.success
    states = [d["nodes"]["1"] for d in result.of("progress_state") if "1" in d["nodes"]]
    assert {"value": 1, "max": 2} in [{"value": s["value"], "max": s["max"]} for s in states]
    assert asyncio.iscoroutinefunction(ComfyAPI().execution.set_progress)
