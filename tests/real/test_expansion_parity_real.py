"""Subgraph expansion on the mock and on real ComfyUI (eras B and C here): a V1 node returning
``{"expand": graph, "result": ...}`` (built with ``GraphBuilder``) and, where the era has V3, a
``NodeOutput(..., expand=graph)``. The same prompts give the same messages (ephemeral nodes'
``executing`` / ``executed`` with their ``display_node``), history (``meta`` with ``parent_node``),
cached reruns (subcaches) and wrapper calls: hooks on ``get_input_data`` and on the per-node
``execute`` see the ephemeral nodes as on real ComfyUI.
"""
from __future__ import annotations

import copy
import inspect
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from realtier import backend_harness, run_on_both

from pytest_comfyruntime.checks.parity import parity_diff
from pytest_comfyruntime.nodes.expansion import EXPANSION_NODE_CLASS_MAPPINGS
from pytest_comfyruntime.nodes.v3 import v3_node_classes

CLIENT = {"client_id": "parity"}


def _era(runtime) -> str:
    return str(runtime.backends["real"].era.key)


@pytest.fixture(autouse=True)
def _needs_expansion(runtime):
    if _era(runtime) == "A":
        pytest.skip("subgraph expansion exists from the August 2024 execution model on (eras B, C, D)")


class DuplicateExpand:
    """Expands into a node whose id the prompt already has (``"1"``)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", {"default": 0})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"

    def run(self, value):
        return {"result": (["1", 0],), "expand": {"1": {"class_type": "CRInt", "inputs": {"value": value}}}}


def _expansion_nodes(runtime) -> Callable[[], dict]:
    def build() -> dict:
        nodes = {**EXPANSION_NODE_CLASS_MAPPINGS, "DuplicateExpand": DuplicateExpand}
        if _era(runtime) in ("C", "D"):
            nodes.update(v3_node_classes())
        return nodes
    return build


def expansion_harness(runtime, backend: str):
    return backend_harness(runtime, backend, _expansion_nodes(runtime))


def both(runtime, steps_factory: Callable[[], list]) -> tuple[list, list]:
    return run_on_both(runtime, steps_factory, _expansion_nodes(runtime))


def series(prompt: dict) -> list:
    edited = copy.deepcopy(prompt)
    for node in edited.values():
        if node["class_type"] in ("CRInt", "CRRepeatAdd", "CR3Repeat"):
            node["inputs"]["value"] = (node["inputs"]["value"] + 1) if isinstance(node["inputs"]["value"], int) \
                else node["inputs"]["value"]
            break
    return [("first", prompt, CLIENT), ("identical rerun", prompt, CLIENT), ("edited constant", edited, CLIENT),
            ("headless", edited, {}), ("original again", prompt, CLIENT)]


@st.composite
def expanding_graphs(draw, v3: bool):
    count = draw(st.integers(min_value=1, max_value=6))
    prompt: dict = {}
    ids: list[str] = []
    for _ in range(count):
        node_id = str(draw(st.integers(min_value=1, max_value=40)))
        while node_id in prompt:
            node_id = str(int(node_id) + 41)
        kinds = ["CRInt", "CRRepeatAdd", "CRExpandRecord"] + (["CR3Repeat"] if v3 else [])
        if ids:
            kinds.append("CRAdd")
        kind = draw(st.sampled_from(kinds))

        def value():
            if ids and draw(st.booleans()):
                return [draw(st.sampled_from(ids)), 0]
            return draw(st.integers(min_value=-5, max_value=5))

        if kind == "CRInt":
            inputs: dict = {"value": draw(st.integers(min_value=-9, max_value=9))}
        elif kind in ("CRRepeatAdd", "CR3Repeat"):
            inputs = {"value": value(), "times": draw(st.integers(min_value=1, max_value=3))}
        elif kind == "CRExpandRecord":
            inputs = {"value": value(), "label": f"inner{node_id}",
                      "display": draw(st.sampled_from(["", node_id] + ids[:1]))}
        else:
            inputs = {"a": value(), "b": value()}
        prompt[node_id] = {"class_type": kind, "inputs": inputs}
        ids.append(node_id)
    outputs = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=2))
    for index, source in enumerate(outputs):
        prompt[f"9{index}{source}"] = {"class_type": "CRRecord", "inputs": {"value": [source, 0], "label": f"out{index}"}}
    return prompt


@seed(20261125)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_expanding_graphs(runtime, data):
    prompt = data.draw(expanding_graphs(v3=_era(runtime) in ("C", "D")))
    mock, real = both(runtime, lambda: series(prompt))
    diff = parity_diff(mock, real, what="expanding graph")
    assert not diff, f"prompt: {prompt}\n{diff}"


def _chain() -> dict:
    return {"1": {"class_type": "CRInt", "inputs": {"value": 3}},
            "2": {"class_type": "CRRepeatAdd", "inputs": {"value": ["1", 0], "times": 3}},
            "3": {"class_type": "CRExpandRecord", "inputs": {"value": ["2", 0], "label": "inner", "display": "1"}},
            "4": {"class_type": "CRRecord", "inputs": {"value": ["3", 0], "label": "out"}}}


def test_an_expanded_graph_and_its_ephemeral_output_node(runtime):
    mock, real = both(runtime, lambda: [("run", _chain(), CLIENT), ("rerun", _chain(), CLIENT),
                                        ("headless rerun", _chain(), {})])
    diff = parity_diff(mock, real, what="expansion")
    assert not diff, diff
    first = mock[0]
    executing = [(d["node"], d["display_node"]) for e, d, _ in first["sent"] if e == "executing" and d["node"]]
    assert ("2.0.0.1", "2") in executing and ("3.0.0.1", "1") in executing
    assert [n for n, _ in executing].count("2") == 1  # the parent's second staging sends no "executing"
    assert first["history"]["meta"]["3.0.0.1"] == {"node_id": "3.0.0.1", "display_node": "1", "parent_node": "3",
                                                   "real_node_id": "3"}
    assert first["history"]["outputs"]["4"]["value"] == [12]
    # hooks on get_input_data see the ephemeral nodes
    seen = [c[3] for c in first["wrapper_calls"] if c[0] == "get_input_data"]
    assert {"2.0.0.1", "2.0.0.2", "2.0.0.3", "3.0.0.1"} <= set(seen)


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


def test_a_per_node_wrapper_sees_the_ephemeral_nodes(runtime):
    """The module-level per-node ``execute`` (B sync, C and D async) is called for each ephemeral
    node and once more for the expanding node when its subgraph is done."""
    calls: dict[str, list] = {}
    for backend in ("mock", "real"):
        with expansion_harness(runtime, backend) as harness:
            execution = harness.execution
            original = execution.execute
            seen: list = []
            execution.execute = _recording(original, seen)
            try:
                assert harness.run(_chain(), extra_data=CLIENT).success
            finally:
                execution.execute = original
            calls[backend] = seen
    assert calls["mock"] == calls["real"]
    assert calls["real"].count("2") == 2 and "2.0.0.3" in calls["real"]


def test_a_duplicate_ephemeral_id(runtime):
    prompt = {"1": {"class_type": "CRInt", "inputs": {"value": 3}},
              "2": {"class_type": "DuplicateExpand", "inputs": {"value": 5}},
              "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": "dup"}},
              "4": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": "one"}}}
    mock, real = both(runtime, lambda: [("duplicate", prompt, CLIENT)])
    diff = parity_diff(mock, real, what="duplicate id")
    assert not diff, diff
    if _era(runtime) == "B":  # only the 2024 executor checks for it
        error = next(d for e, d in mock[0]["status_messages"] if e == "execution_error")
        assert error["exception_type"] == "execution.DuplicateNodeError" and error["node_id"] == "2"


def test_the_v3_nodeoutput_expand(runtime):
    if _era(runtime) not in ("C", "D"):
        pytest.skip("V3 nodes exist from 0.3.4x on")
    prompt = {"1": {"class_type": "CR3Repeat", "inputs": {"value": 2, "times": 3}},
              "2": {"class_type": "CR3Record", "inputs": {"value": ["1", 0], "label": "v3"}}}
    mock, real = both(runtime, lambda: [("run", prompt, CLIENT), ("rerun", prompt, CLIENT)])
    diff = parity_diff(mock, real, what="NodeOutput(expand=...)")
    assert not diff, diff
    assert mock[0]["history"]["outputs"]["2"]["value"] == [8]
