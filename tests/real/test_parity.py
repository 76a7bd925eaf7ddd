"""Mock versus real ComfyUI, for the era of this session: the same prompts must give the same
success flags, outputs and history, message sequences with the same data (timestamps aside),
execution_cached lists over repeated and edited prompts, wrapper arguments and error payloads.

Graphs are the bundled workflows and Hypothesis-generated DAGs of CR nodes (fan-in, fan-out,
unused branches, output nodes sharing parents, IS_CHANGED nodes); a difference fails with a
unified diff and Hypothesis shrinks it to the smallest graph that shows it.
"""
from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from realtier import run_on_both

from pytest_comfyruntime.checks.parity import parity_diff
from pytest_comfyruntime.nodes import TEST_NODE_CLASS_MAPPINGS, TXT2IMG_NODE_CLASS_MAPPINGS
from pytest_comfyruntime.workflows import load_workflow

CLIENT = {"client_id": "parity"}


def series(prompt: dict) -> list:
    """Run, rerun (cached), edit the first constant, run headless, rerun the original."""
    edited = copy.deepcopy(prompt)
    for node in edited.values():
        constants = [k for k, v in node["inputs"].items() if isinstance(v, (int, str)) and not isinstance(v, bool)
                     and k not in ("label", "message", "filename_prefix", "ckpt_name", "sampler_name", "scheduler")]
        if constants:
            value = node["inputs"][constants[0]]
            node["inputs"][constants[0]] = value + 1 if isinstance(value, int) else value + "x"
            break
    return [("first", prompt, CLIENT), ("identical rerun", prompt, CLIENT), ("edited constant", edited, CLIENT),
            ("headless", edited, {}), ("original again", prompt, CLIENT)]


@pytest.mark.parametrize("name", ["four_node", "switch", "chain_100", "failing", "txt2img"])
def test_bundled_workflows(runtime, name):
    prompt = load_workflow(name, node_classes={**TEST_NODE_CLASS_MAPPINGS, **TXT2IMG_NODE_CLASS_MAPPINGS})
    extra = TXT2IMG_NODE_CLASS_MAPPINGS if name == "txt2img" else None
    mock, real = run_on_both(runtime, lambda: series(prompt), extra)
    assert not parity_diff(mock, real, what=name), parity_diff(mock, real, what=name)


@st.composite
def graphs(draw):
    """A DAG of CR nodes in API format, with at least one CRRecord output."""
    count = draw(st.integers(min_value=1, max_value=9))
    prompt: dict = {}
    ids = []
    for _ in range(count):
        node_id = str(draw(st.integers(min_value=1, max_value=60)))
        while node_id in prompt:
            node_id = str(int(node_id) + 61)
        kind = draw(st.sampled_from(["CRInt", "CRAdd", "CRChanging", "CRMultiply"] if ids else ["CRInt", "CRChanging"]))

        def operand():
            if ids and draw(st.booleans()):
                return [draw(st.sampled_from(ids)), 0]
            return draw(st.integers(min_value=-5, max_value=5))

        if kind == "CRInt":
            inputs = {"value": draw(st.integers(min_value=-9, max_value=9))}
        elif kind == "CRChanging":
            inputs = {"token": draw(st.sampled_from(["a", "b"]))}
            if ids and draw(st.booleans()):
                inputs["value"] = [draw(st.sampled_from(ids)), 0]
        else:
            inputs = {"a": operand(), "b": operand()}
        prompt[node_id] = {"class_type": kind, "inputs": inputs}
        ids.append(node_id)
    outputs = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3))
    for index, source in enumerate(outputs):
        node_id = f"9{index}{source}"
        prompt[node_id] = {"class_type": "CRRecord", "inputs": {"value": [source, 0], "label": f"out{index}"}}
    return prompt


@seed(20261123)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prompt=graphs())
def test_random_graphs(runtime, prompt):
    mock, real = run_on_both(runtime, lambda: series(prompt))
    diff = parity_diff(mock, real, what="generated graph")
    assert not diff, f"prompt: {prompt}\n{diff}"


def test_failing_node_error_shape(runtime):
    prompt = {"1": {"class_type": "CRInt", "inputs": {"value": 3}},
              "2": {"class_type": "CRFail", "inputs": {"value": ["1", 0], "message": "boom"}},
              "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}}}
    mock, real = run_on_both(runtime, lambda: [("fail", prompt, CLIENT), ("fail headless", prompt, {})])
    assert not parity_diff(mock, real, what="failing node"), parity_diff(mock, real, what="failing node")
    error = next(d for e, d in mock[0]["status_messages"] if e == "execution_error")
    assert error["node_id"] == "2" and error["exception_type"] == "ValueError"


def test_a_difference_is_reported_as_a_readable_diff(runtime):
    """The comparison can fail: a mock-only change to CRAdd shows up in the diff, naming the node."""
    from realtier import backend_harness

    from pytest_comfyruntime.checks.parity import record_series
    from pytest_comfyruntime.nodes.basic import CRAdd

    class OffByOne(CRAdd):
        def run(self, a, b):
            return (a + b + 1,)

    prompt = {"1": {"class_type": "CRInt", "inputs": {"value": 1}},
              "2": {"class_type": "CRAdd", "inputs": {"a": ["1", 0], "b": 1}},
              "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}}}
    with backend_harness(runtime, "mock", {"CRAdd": OffByOne}) as harness:
        mock = record_series(harness, [("run", prompt, CLIENT)])
    with backend_harness(runtime, "real") as harness:
        real = record_series(harness, [("run", prompt, CLIENT)])
    diff = parity_diff(mock, real, what="off by one")
    assert diff.startswith("--- mock off by one\n+++ real off by one")
    changed = [line[0] + line[1:].strip() for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++")]
    assert "-3" in changed and "+2" in changed


def test_is_changed_alone_decides_a_rerun(runtime):
    """The same prompt five times; only the node's IS_CHANGED answer changes between runs (its
    inputs never do). Mock and real ComfyUI both rerun it, and what depends on it, exactly when
    that answer changes, and serve it from the cache when it stays the same."""
    from mockera import POLLED_PROMPT as prompt
    from mockera import polled_node
    from realtier import backend_harness

    runs = {}
    for backend in ("mock", "real"):
        polled = polled_node()
        token, calls = polled.token, polled.runs
        runs[backend] = []
        with backend_harness(runtime, backend, {"Polled": polled}) as harness:
            for step, value in enumerate(["x", "x", "y", "y", "x"]):
                token[0] = value
                result = harness.run(prompt, prompt_id=f"prompt-{step}")
                runs[backend].append((value, result.success, result.outputs.get("2", {}).get("value"),
                                      sorted(result.executed_nodes), sorted(result.cached_nodes)))
        assert calls == [7, 7, 7], (backend, calls)
    expected = [("x", True, [7], ["1", "2"], []), ("x", True, [7], [], ["1", "2"]),
                ("y", True, [7], ["1", "2"], []), ("y", True, [7], [], ["1", "2"]),
                ("x", True, [7], ["1", "2"], [])]
    assert runs["real"] == expected, f"real ComfyUI: {runs['real']}"
    assert runs["mock"] == expected, f"mock: {runs['mock']}"


BAD_PROMPTS = {
    "missing required input": {"1": {"class_type": "CRAdd", "inputs": {"a": 1}},
                               "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}},
    "link to a missing node": {"2": {"class_type": "CRRecord", "inputs": {"value": ["9", 0], "label": ""}}},
    "inner link to a missing node": {"1": {"class_type": "CRAdd", "inputs": {"a": ["9", 0], "b": 1}},
                                     "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}},
    "bad link": {"1": {"class_type": "CRAdd", "inputs": {"a": ["1", 0, 3], "b": 1}},
                 "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}},
    "no outputs": {"1": {"class_type": "CRInt", "inputs": {"value": 1}}},
    "value below min": {"1": {"class_type": "CRRange", "inputs": {"start": 0, "count": -1, "step": 1}},
                        "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}},
    "not convertible": {"1": {"class_type": "CRInt", "inputs": {"value": "seven"}},
                        "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}},
    "type mismatch": {"1": {"class_type": "CRString", "inputs": {"value": "x"}},
                      "2": {"class_type": "CRAdd", "inputs": {"a": ["1", 0], "b": 1}},
                      "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}}},
    "one of two outputs valid": {"1": {"class_type": "CRAdd", "inputs": {"a": 1}},
                                 "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": "bad"}},
                                 "3": {"class_type": "CRRecord", "inputs": {"value": 5, "label": "good"}}},
    "unknown class_type": {"1": {"class_type": "NoSuchNode", "inputs": {}}},
}


def _validate(harness, prompt):
    from pytest_comfyruntime.executor.harness import PromptValidationError

    work = copy.deepcopy(prompt)
    try:
        good = harness.validate(work, "validation")
    except PromptValidationError as exc:
        return {"valid": False, "error": exc.error, "node_errors": exc.node_errors, "prompt_after": work}
    except Exception as exc:  # era A raises KeyError for an unknown class, as ComfyUI does
        return {"raised": type(exc).__name__, "message": str(exc)}
    return {"valid": True, "good": sorted(good), "prompt_after": work}


@pytest.mark.parametrize("case", sorted(BAD_PROMPTS))
def test_validate_prompt_results(runtime, case):
    from realtier import backend_harness

    from pytest_comfyruntime.checks.parity import clean

    results = {}
    for backend in ("mock", "real"):
        with backend_harness(runtime, backend) as harness:
            results[backend] = clean(_validate(harness, BAD_PROMPTS[case]))
    diff = parity_diff([results["mock"]], [results["real"]], what=case)
    assert not diff, diff
