"""Unit tests of the mock ``execution`` modules: messages, staging, caching, errors, hidden inputs.

Expected values are ComfyUI's, as recorded by running the real eras A-C (see the contract document
and scripts/probe_real_comfyui.py); era D's come from reading ComfyUI's 2026 source, not running
it (tests/test_era_d.py). The era-specific ones say which era they belong to.
"""
from __future__ import annotations

import pytest
from mockera import ALL_ERAS, POLLED_PROMPT, four_node, mock_era, polled_node

NO_CLIENT: dict = {}


@pytest.fixture(params=ALL_ERAS)
def mock(request, tmp_path):
    with mock_era(request.param, tmp_path) as m:
        yield m


def _strip(messages):
    return [(m.event, {k: v for k, v in m.data.items() if k != "timestamp"}) for m in messages]


def test_four_node_order_and_output(mock):
    result = mock.harness().run(four_node(), prompt_id="p1")
    assert result.success
    assert result.outputs["4"]["value"] == [5]
    # A runs inputs depth-first (1, 2, 3, 4); B and C's staging picks node 2 first.
    expected = ["1", "2", "3", "4"] if mock.gen == "A" else ["2", "1", "3", "4"]
    assert result.executed_nodes == expected


def test_message_sequence_with_client(mock):
    result = mock.harness().run(four_node(), prompt_id="p1")
    events = [e for e in result.events if e != "progress_state"]
    # task_done's queue status (to every client), then main.py's closing executing
    tail = ["executing", "executed"] + ([] if mock.gen == "A" else ["execution_success"]) + ["status", "executing"]
    assert events == ["execution_start", "execution_cached", "executing", "executing", "executing"] + tail
    assert result.messages[-1].data == {"node": None, "prompt_id": "p1"}
    start = result.of("execution_start")[0]
    assert list(start) == (["prompt_id"] if mock.gen == "A" else ["prompt_id", "timestamp"])
    executing = result.of("executing")[0]
    assert list(executing) == (["node", "prompt_id"] if mock.gen == "A" else ["node", "display_node", "prompt_id"])
    assert ("progress_state" in result.events) == (mock.gen in ("C", "D"))


def test_without_client_only_status_messages(mock):
    result = mock.harness().run(four_node(), prompt_id="p1", extra_data=NO_CLIENT)
    assert result.success
    sent = {m.event for m in result.messages}
    assert sent == ({"progress_state", "status"} if mock.gen in ("C", "D") else {"status"})
    assert all(m.sid is None for m in result.messages)
    names = [e for e, _ in result.status_messages]
    assert names == ["execution_start", "execution_cached"] + ([] if mock.gen == "A" else ["execution_success"])


def test_identical_rerun_is_cached(mock):
    harness = mock.harness()
    harness.run(four_node(), prompt_id="p1")
    again = harness.run(four_node(), prompt_id="p2")
    assert sorted(again.cached_nodes) == ["1", "2", "3", "4"]
    assert again.executed_nodes == []
    if mock.gen == "A":
        assert [e for e in again.events] == ["execution_start", "execution_cached", "status", "executing"]
    else:  # the output node is staged and re-sends its cached UI, without 'executing'
        assert [d["node"] for d in again.of("executed")] == ["4"]


def test_changed_constant_reruns_only_descendants(mock):
    harness = mock.harness()
    harness.run(four_node(), prompt_id="p1")
    edited = harness.run(four_node(b=10), prompt_id="p2")
    assert edited.outputs["4"]["value"] == [12]
    assert sorted(edited.executed_nodes) == ["2", "3", "4"]
    assert edited.cached_nodes == ["1"]


def test_renumbered_graph(mock):
    harness = mock.harness()
    harness.run(four_node(), prompt_id="p1")
    renumbered = harness.run(four_node(ids=("11", "12", "13", "14")), prompt_id="p2")
    if mock.gen == "A":  # cache keyed by node id: everything runs again
        assert sorted(renumbered.executed_nodes) == ["11", "12", "13", "14"]
    else:  # input signature cache: only CRRecord (hidden UNIQUE_ID) runs again
        assert renumbered.executed_nodes == ["14"]


def test_failing_node_error_payload(mock):
    prompt = four_node()
    prompt["5"] = {"class_type": "CRFail", "inputs": {"value": ["3", 0], "message": "boom"}}
    prompt["4"]["inputs"]["value"] = ["5", 0]
    result = mock.harness().run(prompt, prompt_id="p1")
    assert not result.success
    error = result.error
    keys = ["prompt_id", "node_id", "node_type", "executed", "exception_message", "exception_type",
            "traceback", "current_inputs", "current_outputs"]
    assert list(error) == keys + ([] if mock.gen == "A" else ["timestamp"])
    assert error["node_id"] == "5" and error["node_type"] == "CRFail"
    assert error["exception_type"] == "ValueError"
    assert error["exception_message"] == ("boom\n" if mock.gen in ("C", "D") else "boom")
    assert error["current_inputs"] == {"value": [5], "message": ["boom"]}
    assert sorted(error["executed"]) == ["1", "2", "3"]
    assert "execution_success" not in result.events
    assert result.history["status"]["status_str"] == "error"


def test_interrupt_requested_by_a_node(mock, tmp_path):
    import nodes

    class Interrupter:
        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"value": ("INT",)}}
        RETURN_TYPES = ("INT",)
        FUNCTION = "run"

        def run(self, value):
            nodes.interrupt_processing()
            return (value,)

    mock.registry.add("Interrupter", Interrupter)
    prompt = {"1": {"class_type": "CRInt", "inputs": {"value": 1}},
              "2": {"class_type": "Interrupter", "inputs": {"value": ["1", 0]}},
              "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}}}
    result = mock.harness().run(prompt, prompt_id="p1")
    assert not result.success
    interrupted = result.of("execution_interrupted")
    assert len(interrupted) == 1
    assert interrupted[0]["node_id"] == "3" and sorted(interrupted[0]["executed"]) == ["1", "2"]
    assert [k for k in interrupted[0] if k != "timestamp"] == ["prompt_id", "node_id", "node_type", "executed"]


def test_is_changed_forces_rerun(mock):
    """Only IS_CHANGED differs between these prompts (the prompt itself is the same every time):
    a new IS_CHANGED value reruns the node and what depends on it, the same value is cached."""
    polled = polled_node()
    mock.registry.add("Polled", polled)
    harness = mock.harness()
    runs = []
    for step, token in enumerate(["x", "x", "y", "y", "x"]):
        polled.token[0] = token
        result = harness.run(POLLED_PROMPT, prompt_id=f"p{step}")
        assert result.success and result.outputs["2"]["value"] == [7]
        runs.append((token, sorted(result.executed_nodes), sorted(result.cached_nodes)))
    assert runs == [("x", ["1", "2"], []),
                    ("x", [], ["1", "2"]),   # same IS_CHANGED value: cached
                    ("y", ["1", "2"], []),   # new value, same inputs: runs again
                    ("y", [], ["1", "2"]),
                    ("x", ["1", "2"], [])]   # back to the first value: a change too
    assert polled.runs == [7, 7, 7]


def test_list_nodes(mock):
    prompt = {"1": {"class_type": "CRRange", "inputs": {"start": 1, "count": 4, "step": 1}},
              "2": {"class_type": "CRSum", "inputs": {"values": ["1", 0]}},
              "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}},
              "4": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": "each"}}}
    result = mock.harness().run(prompt, prompt_id="p1")
    assert result.outputs["3"]["value"] == [10]
    assert result.outputs["4"]["value"] == [1, 2, 3, 4]  # one call per list item, UI merged


def test_hidden_inputs(mock):
    class Hidden:
        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {}, "hidden": {"prompt": "PROMPT", "extra": "EXTRA_PNGINFO", "uid": "UNIQUE_ID"}}
        RETURN_TYPES = ()
        OUTPUT_NODE = True
        FUNCTION = "run"

        def run(self, prompt, extra, uid):
            return {"ui": {"seen": [{"nodes": sorted(prompt), "extra": extra, "uid": uid}]}}

    mock.registry.add("Hidden", Hidden)
    result = mock.harness().run({"7": {"class_type": "Hidden", "inputs": {}}}, prompt_id="p1",
                                extra_data={"client_id": "c", "extra_pnginfo": {"workflow": 1}})
    assert result.outputs["7"]["seen"] == [{"nodes": ["7"], "extra": {"workflow": 1}, "uid": "7"}]


def test_history_meta_shape(mock):
    result = mock.harness().run(four_node(), prompt_id="p1")
    assert set(result.history) >= {"prompt", "outputs", "status"}
    if mock.gen != "A":
        assert result.history["meta"]["4"] == {"node_id": "4", "display_node": "4", "parent_node": None,
                                               "real_node_id": "4"}
    assert result.history["prompt"][1] == "p1"


def test_validation_error_is_raised_with_node(mock):
    from pytest_comfyruntime.executor.harness import PromptValidationError

    prompt = four_node()
    del prompt["3"]["inputs"]["b"]
    with pytest.raises(PromptValidationError) as info:
        mock.harness().run(prompt)
    assert info.value.error["type"] == "prompt_outputs_failed_validation"
    assert info.value.node_errors["3"]["errors"][0]["type"] == "required_input_missing"
    assert "node 3 (CRAdd)" in str(info.value)


def test_executor_exception_escapes(mock):
    harness = mock.harness()
    with pytest.raises(Exception) as info:
        harness.executor.execute(four_node(), "p1", {}, ["99"])
    assert type(info.value).__name__ in ("KeyError", "NodeNotFoundError")


def test_real_staging_order_ux_pick(mock):
    if mock.gen == "A":
        pytest.skip("era A has no staging: it recurses from each output")
    # Output nodes first: the CRRecord fed by node 1 runs before node 2 is picked.
    prompt = {"1": {"class_type": "CRInt", "inputs": {"value": 1}},
              "2": {"class_type": "CRInt", "inputs": {"value": 2}},
              "3": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}},
              "4": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}}}
    order = mock.harness().run(prompt, prompt_id="p", outputs=None).executed_nodes
    assert order.index("3") == order.index("1") + 1 or order.index("4") == order.index("2") + 1
