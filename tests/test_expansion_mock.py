"""Subgraph expansion on the mock of eras B, C and D, as ComfyUI runs it: a V1 node returning
``{"expand": graph, "result": ...}`` (built with ``GraphBuilder``) and a V3 node returning
``NodeOutput(..., expand=graph)``. Ephemeral nodes get ``display_node`` / ``parent_node`` in the
messages and the history, cached reruns go through the caches' subcaches, and hooks on
``get_input_data`` and on the per-node ``execute`` see the ephemeral nodes. Eras B and C are held
to real ComfyUI in tests/real/test_expansion_parity_real.py.
"""
from __future__ import annotations

import inspect
import sys

import pytest
from mockera import mock_era

from pytest_comfyruntime.nodes.expansion import EXPANSION_NODE_CLASS_MAPPINGS
from pytest_comfyruntime.nodes.v3 import v3_node_classes

EXPANSION_ERAS = ["B", "C", "D-11", "D"]
CLIENT = {"client_id": "expand"}


@pytest.fixture(params=EXPANSION_ERAS)
def mock(request, tmp_path):
    with mock_era(request.param, tmp_path) as m:
        m.registry.add_all(EXPANSION_NODE_CLASS_MAPPINGS)
        if request.param in ("C", "D-11", "D"):
            m.registry.add_all(v3_node_classes())
        yield m


def chain() -> dict:
    return {"1": {"class_type": "CRInt", "inputs": {"value": 3}},
            "2": {"class_type": "CRRepeatAdd", "inputs": {"value": ["1", 0], "times": 3}},
            "3": {"class_type": "CRExpandRecord", "inputs": {"value": ["2", 0], "label": "inner", "display": "1"}},
            "4": {"class_type": "CRRecord", "inputs": {"value": ["3", 0], "label": "out"}}}


def test_a_v1_expansion_runs_its_subgraph(mock):
    result = mock.harness().run(chain(), extra_data=CLIENT)
    assert result.success, result.error
    assert result.outputs["4"]["value"] == [12]  # 3 + 3 + 3 + 3
    executing = [(d["node"], d["display_node"]) for d in result.of("executing") if d["node"] is not None]
    assert [n for n, _ in executing] == ["1", "2", "2.0.0.1", "2.0.0.2", "2.0.0.3", "3", "3.0.0.1", "4"]
    assert dict(executing)["2.0.0.2"] == "2" and dict(executing)["3.0.0.1"] == "1"  # override_display_id
    [inner] = [d for d in result.of("executed") if d["node"] == "3.0.0.1"]
    assert inner["display_node"] == "1" and inner["output"]["unique_id"] == ["3.0.0.1"]
    assert result.history["meta"]["3.0.0.1"] == {"node_id": "3.0.0.1", "display_node": "1", "parent_node": "3",
                                                 "real_node_id": "3"}
    assert sorted(result.executed_nodes) == sorted(set(result.executed_nodes))  # no second "executing"


def test_an_identical_rerun_is_served_from_the_cache(mock):
    harness = mock.harness()
    assert harness.run(chain(), extra_data=CLIENT).success
    again = harness.run(chain(), extra_data=CLIENT)
    assert again.success and again.executed_nodes == []
    assert sorted(again.cached_nodes) == ["1", "2", "3", "4"]  # prompt nodes only, never ephemeral ones
    edited = chain()
    edited["1"]["inputs"]["value"] = 4
    third = harness.run(edited, extra_data=CLIENT)
    assert third.outputs["4"]["value"] == [16] and "2.0.0.3" in third.executed_nodes


def test_a_v3_node_expands_with_nodeoutput(mock):
    if mock.era == "B":
        pytest.skip("V3 nodes exist from 0.3.4x on")
    prompt = {"1": {"class_type": "CR3Repeat", "inputs": {"value": 2, "times": 3}},
              "2": {"class_type": "CR3Record", "inputs": {"value": ["1", 0], "label": "v3"}}}
    result = mock.harness().run(prompt, extra_data=CLIENT)
    assert result.success, result.error
    assert result.outputs["2"]["value"] == [8]
    assert [d["node"] for d in result.of("executing") if d["node"]] == ["1", "1.r0", "1.r1", "1.r2", "2"]


def test_a_v3_node_without_enable_expand_may_not_expand(mock):
    if mock.era == "B":
        pytest.skip("V3 nodes exist from 0.3.4x on")
    from comfy_api.latest import io

    class Sneaky(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            return io.Schema(node_id="Sneaky", inputs=[io.Int.Input("value")], outputs=[io.Int.Output()])

        @classmethod
        def execute(cls, value):
            return io.NodeOutput(value, expand={"x": {"class_type": "CRInt", "inputs": {"value": value}}})

    mock.registry.add("Sneaky", Sneaky)
    result = mock.harness().run({"1": {"class_type": "Sneaky", "inputs": {"value": 1}},
                                 "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}},
                                extra_data=CLIENT)
    assert not result.success
    assert "is not expandable, but expand included in NodeOutput" in result.error["exception_message"]


def _recording(original, seen: list):
    """A prefix wrapper of the era's kind (async def around an async original) noting ``current_item``."""
    if inspect.iscoroutinefunction(original):
        async def async_wrapper(*args):
            seen.append(args[3])
            return await original(*args)
        return async_wrapper

    def wrapper(*args):
        seen.append(args[3])
        return original(*args)
    return wrapper


def test_hooks_see_the_ephemeral_nodes(mock):
    execution = mock.execution
    gid, per_node = execution.get_input_data, execution.execute
    seen_inputs: list = []
    seen_nodes: list = []

    def get_input_data(*args, **kwargs):
        seen_inputs.append(args[2])
        return gid(*args, **kwargs)

    execution.get_input_data, execution.execute = get_input_data, _recording(per_node, seen_nodes)
    try:
        assert mock.harness().run(chain(), extra_data=CLIENT).success
    finally:
        execution.get_input_data, execution.execute = gid, per_node
    assert {"2.0.0.1", "2.0.0.2", "2.0.0.3", "3.0.0.1"} <= set(seen_inputs)
    assert seen_nodes.count("2") == 2 and seen_nodes.count("3") == 2  # staged again once the subgraph is done
    assert seen_inputs.count("2") == 1  # ... without gathering its inputs again


def test_an_ephemeral_id_the_prompt_has_fails_only_on_b(mock):
    class DuplicateExpand:
        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"value": ("INT", {"default": 0})}}

        RETURN_TYPES = ("INT",)
        FUNCTION = "run"

        def run(self, value):
            return {"result": (["1", 0],), "expand": {"1": {"class_type": "CRInt", "inputs": {"value": value}}}}

    mock.registry.add("DuplicateExpand", DuplicateExpand)
    prompt = {"1": {"class_type": "CRInt", "inputs": {"value": 3}},
              "2": {"class_type": "DuplicateExpand", "inputs": {"value": 5}},
              "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}}}
    result = mock.harness().run(prompt, extra_data=CLIENT)
    if mock.era == "B":
        assert not result.success and result.error["exception_type"] == "execution.DuplicateNodeError"
        assert result.error["exception_message"].startswith("Attempt to add duplicate node 1.")
    else:  # 2025 on: no check; the ephemeral node replaces the prompt's in the graph view
        assert result.success


def test_the_graph_builder_prefix_is_set_per_call(mock):
    graph_utils = sys.modules["comfy_execution.graph_utils"]
    assert mock.harness().run(chain(), extra_data=CLIENT).success
    # module-level state ComfyUI leaves behind: set before every node call, so the last node's
    assert graph_utils.GraphBuilder._default_prefix_root == "4"
    assert graph_utils.GraphBuilder._default_prefix_call_index == 0
    assert graph_utils.GraphBuilder.alloc_prefix("9", 0, 0) == "9.0.0."


def test_the_lru_cache_keeps_the_expanded_nodes(mock):
    execution = mock.execution
    harness = mock.harness()
    if mock.era == "B":
        harness.executor = execution.PromptExecutor(harness.server, lru_size=10)
    else:
        args = {"lru": 10, "ram": 0, "ram_inactive": 0}
        harness.executor = execution.PromptExecutor(harness.server, cache_type=execution.CacheType.LRU, cache_args=args)
    assert harness.run(chain(), extra_data=CLIENT).success
    other = {"9": {"class_type": "CRInt", "inputs": {"value": 1}},
             "8": {"class_type": "CRRecord", "inputs": {"value": ["9", 0], "label": ""}}}
    assert harness.run(other, extra_data=CLIENT).success
    again = harness.run(chain(), extra_data=CLIENT)
    assert again.success and again.executed_nodes == []  # still cached after another prompt
