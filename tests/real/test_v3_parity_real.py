"""V3 nodes (``comfy_api.latest.io.ComfyNode``) on the mock and on real ComfyUI: the same prompts
give the same success flags, messages, history and wrapper calls, over Hypothesis graphs that mix
V1 and V3 nodes (sync and async ``execute``) and over the V3 paths one by one: ``cls.hidden``,
``fingerprint_inputs``, lazy inputs through ``check_lazy_status``, ``validate_inputs``,
``block_execution``, a dict returned from ``execute`` (a TypeError in 0.3.75) and the
``UNIQUE_ID`` cache-key pitfall (hidden entries are 1-tuples). Runs where the era has V3 (C here).

The V3 classes are built on each backend's own ``comfy_api.latest.io`` (``v3_node_classes``)
while that backend is active, and registered for the test only.
"""
from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from realtier import backend_harness, run_on_both, validate_on_both

from pytest_comfyruntime.checks.parity import parity_diff
from pytest_comfyruntime.nodes.v3 import v3_node_classes

CLIENT = {"client_id": "parity"}


@pytest.fixture(autouse=True)
def _needs_v3(runtime):
    if runtime.backends["real"].era.key not in ("C", "D"):
        pytest.skip("V3 nodes (comfy_api) exist from ComfyUI 0.3.4x on (eras C and D)")


def v3_harness(runtime, backend: str):
    return backend_harness(runtime, backend, v3_node_classes)


def both(runtime, steps_factory: Callable[[], list]) -> tuple[list, list]:
    return run_on_both(runtime, steps_factory, v3_node_classes)


def series(prompt: dict) -> list:
    edited = copy.deepcopy(prompt)
    for node in edited.values():
        ints = [k for k, v in node["inputs"].items() if isinstance(v, int) and not isinstance(v, bool)]
        if ints:
            node["inputs"][ints[0]] += 1
            break
    return [("first", prompt, CLIENT), ("identical rerun", prompt, CLIENT), ("edited constant", edited, CLIENT),
            ("headless", edited, {}), ("original again", prompt, CLIENT)]


@st.composite
def mixed_graphs(draw):
    """A DAG of V1 and V3 nodes (sync and async ``execute``) with V1 and V3 output nodes."""
    count = draw(st.integers(min_value=1, max_value=8))
    prompt: dict = {}
    ids: list[str] = []
    for _ in range(count):
        node_id = str(draw(st.integers(min_value=1, max_value=60)))
        while node_id in prompt:
            node_id = str(int(node_id) + 61)
        kinds = ["CRInt", "CR3Int", "CRAdd", "CR3Add", "CR3AddAsync", "CR3Changing", "CRChanging"] if ids else \
            ["CRInt", "CR3Int", "CR3Changing"]
        kind = draw(st.sampled_from(kinds))

        def operand():
            if ids and draw(st.booleans()):
                return [draw(st.sampled_from(ids)), 0]
            return draw(st.integers(min_value=-5, max_value=5))

        if kind in ("CRInt", "CR3Int"):
            inputs = {"value": draw(st.integers(min_value=-9, max_value=9))}
        elif kind in ("CRChanging", "CR3Changing"):
            inputs = {"token": draw(st.sampled_from(["a", "b"]))}
            if ids and draw(st.booleans()):
                inputs["value"] = [draw(st.sampled_from(ids)), 0]
        else:
            inputs = {"a": operand(), "b": operand()}
        prompt[node_id] = {"class_type": kind, "inputs": inputs}
        ids.append(node_id)
    outputs = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3))
    for index, source in enumerate(outputs):
        record = draw(st.sampled_from(["CRRecord", "CR3Record"]))
        prompt[f"9{index}{source}"] = {"class_type": record, "inputs": {"value": [source, 0], "label": f"out{index}"}}
    return prompt


@seed(20261124)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(prompt=mixed_graphs())
def test_random_graphs_mixing_v1_and_v3(runtime, prompt):
    mock, real = both(runtime, lambda: series(prompt))
    diff = parity_diff(mock, real, what="mixed V1/V3 graph")
    assert not diff, f"prompt: {prompt}\n{diff}"


def _case(name: str) -> list:
    a = {"1": {"class_type": "CR3Int", "inputs": {"value": 4}},
         "2": {"class_type": "CR3Record", "inputs": {"value": ["1", 0], "label": "v3"}},
         "3": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": "v1"}}}
    if name == "renumbered ids (the UNIQUE_ID cache-key pitfall)":
        renumbered = {"11": {"class_type": "CR3Int", "inputs": {"value": 4}},
                      "12": {"class_type": "CR3Record", "inputs": {"value": ["11", 0], "label": "v3"}},
                      "13": {"class_type": "CRRecord", "inputs": {"value": ["11", 0], "label": "v1"}}}
        return [("first", a, CLIENT), ("renumbered", renumbered, CLIENT), ("renumbered headless", renumbered, {})]
    if name == "fingerprint_inputs":
        b = copy.deepcopy(a)
        b["1"] = {"class_type": "CR3Changing", "inputs": {"token": "x"}}
        c = copy.deepcopy(b)
        c["1"]["inputs"]["token"] = "y"
        return [("x", b, CLIENT), ("x again", b, CLIENT), ("y", c, CLIENT), ("x once more", b, CLIENT)]
    if name == "lazy switch":
        p = {"1": {"class_type": "CR3Int", "inputs": {"value": 1}},
             "2": {"class_type": "CRInt", "inputs": {"value": 2}},
             "3": {"class_type": "CR3Switch", "inputs": {"select": True, "on_true": ["1", 0], "on_false": ["2", 0]}},
             "4": {"class_type": "CR3Record", "inputs": {"value": ["3", 0], "label": "switch"}}}
        q = copy.deepcopy(p)
        q["3"]["inputs"]["select"] = False
        return [("true", p, CLIENT), ("false", q, CLIENT), ("true again", p, CLIENT)]
    if name == "block_execution":
        p = {"1": {"class_type": "CR3Int", "inputs": {"value": 5}},
             "2": {"class_type": "CR3Block", "inputs": {"value": ["1", 0], "block": True, "message": "stop here"}},
             "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": "blocked"}},
             "4": {"class_type": "CR3Record", "inputs": {"value": ["1", 0], "label": "free"}}}
        q = copy.deepcopy(p)
        q["2"]["inputs"]["block"] = False
        return [("blocked", p, CLIENT), ("blocked headless", p, {}), ("open", q, CLIENT)]
    if name == "dict from execute":
        p = {"1": {"class_type": "CR3Int", "inputs": {"value": 5}},
             "2": {"class_type": "CR3Dict", "inputs": {"value": ["1", 0]}},
             "3": {"class_type": "CR3Record", "inputs": {"value": ["2", 0], "label": "dict"}}}
        return [("dict", p, CLIENT), ("dict headless", p, {})]
    if name == "hidden values and secrets":
        extra = {"client_id": "parity", "extra_pnginfo": {"workflow": {"id": 1}}, "api_key_comfy_org": "k"}
        return [("with extra data", a, extra), ("without", a, CLIENT)]
    raise KeyError(name)


@pytest.mark.parametrize("name", ["renumbered ids (the UNIQUE_ID cache-key pitfall)", "fingerprint_inputs",
                                  "lazy switch", "block_execution", "dict from execute", "hidden values and secrets"])
def test_v3_paths(runtime, name):
    mock, real = both(runtime, lambda: _case(name))
    diff = parity_diff(mock, real, what=name)
    assert not diff, diff
    if name.startswith("renumbered"):
        # the V3 output node is served from the cache under new ids; the V1 one (hidden UNIQUE_ID) runs again
        executed = [d["node"] for event, d, _sid in mock[1]["sent"] if event == "executing" and d["node"]]
        assert "13" in executed and "12" not in executed, executed
    if name == "dict from execute" and runtime.backends["real"].era.key == "C":
        error = next(d for e, d in mock[0]["status_messages"] if e == "execution_error")
        assert error["exception_type"] == "TypeError" and "unexpected keyword argument 'args'" in error["exception_message"]


BAD_V3 = {
    "validate_inputs rejects": {"1": {"class_type": "CR3NonNegative", "inputs": {"value": -3}},
                                "2": {"class_type": "CR3Record", "inputs": {"value": ["1", 0], "label": ""}}},
    "validate_inputs accepts": {"1": {"class_type": "CR3NonNegative", "inputs": {"value": 3}},
                                "2": {"class_type": "CR3Record", "inputs": {"value": ["1", 0], "label": ""}}},
    "V3 required input missing": {"1": {"class_type": "CR3Add", "inputs": {"a": 1}},
                                  "2": {"class_type": "CR3Record", "inputs": {"value": ["1", 0], "label": ""}}},
    "V3 type mismatch": {"1": {"class_type": "CRString", "inputs": {"value": "x"}},
                         "2": {"class_type": "CR3Add", "inputs": {"a": ["1", 0], "b": 1}},
                         "3": {"class_type": "CR3Record", "inputs": {"value": ["2", 0], "label": ""}}},
}


@pytest.mark.parametrize("case", sorted(BAD_V3))
def test_v3_validation(runtime, case):
    results = validate_on_both(runtime, BAD_V3[case], "v3", v3_node_classes)
    diff = parity_diff([results["mock"]], [results["real"]], what=case)
    assert not diff, diff
    if case == "validate_inputs rejects":
        [error] = results["mock"]["node_errors"]["1"]["errors"]
        assert error["type"] == "custom_validation_failed" and error["details"] == "value - -3 is negative"


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


class Impostor(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="KSampler", display_name="Impostor Sampler", outputs=[io.Int.Output()])

    @classmethod
    def execute(cls):
        return io.NodeOutput(0)


class Extension(ComfyExtension):
    async def on_load(self):
        STEPS.append("on_load")

    async def get_node_list(self):
        STEPS.append("get_node_list")
        return [Doubler, Impostor]


async def comfy_entrypoint():
    STEPS.append("entrypoint")
    return Extension()
'''


def test_a_comfy_entrypoint_package_loads_and_runs_as_on_real_comfyui(runtime, tmp_path):
    import sys

    from pytest_comfyruntime.executor.custom_nodes import load_custom_nodes

    package = tmp_path / "custom_nodes" / "v3pack"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(V3_PACKAGE)
    outcome = {}
    for backend in ("mock", "real"):
        with v3_harness(runtime, backend) as harness:
            nodes = sys.modules["nodes"]
            before_modules, sampler = set(sys.modules), nodes.NODE_CLASS_MAPPINGS["KSampler"]
            title = nodes.NODE_DISPLAY_NAME_MAPPINGS.get("KSampler")
            try:
                load = load_custom_nodes(nodes, [package], label=backend)
                [loaded] = load.packages
                module = sys.modules[loaded.modules[0]]
                doubler = nodes.NODE_CLASS_MAPPINGS.get("V3PackDoubler")
                run = harness.run({"1": {"class_type": "V3PackDoubler", "inputs": {"value": 21}},
                                   "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}},
                                  extra_data=CLIENT)
                outcome[backend] = {
                    "ok": loaded.ok, "nodes": list(loaded.nodes), "steps": list(module.STEPS),
                    "display": {k: nodes.NODE_DISPLAY_NAME_MAPPINGS.get(k) for k in ("V3PackDoubler", "KSampler")},
                    "sampler_kept": nodes.NODE_CLASS_MAPPINGS["KSampler"] is sampler,
                    "module": getattr(doubler, "RELATIVE_PYTHON_MODULE", None),
                    "result": run.outputs.get("2", {}).get("value"),
                }
            finally:
                nodes.NODE_CLASS_MAPPINGS.pop("V3PackDoubler", None)
                nodes.NODE_DISPLAY_NAME_MAPPINGS.pop("V3PackDoubler", None)
                if title is None:
                    nodes.NODE_DISPLAY_NAME_MAPPINGS.pop("KSampler", None)
                else:
                    nodes.NODE_DISPLAY_NAME_MAPPINGS["KSampler"] = title
                for name in set(sys.modules) - before_modules:
                    del sys.modules[name]
    assert outcome["mock"] == outcome["real"], outcome
    assert outcome["real"]["result"] == [42] and outcome["real"]["sampler_kept"] is True
