"""Loops on the era-D mock (ComfyUI of 2026): the Start/End Loop nodes (V3 stand-ins of
``comfy_extras/nodes_loop.py``, read at Comfy-Org/ComfyUI 023f153c) run on the executor of
``execution.py`` 04e2a914 with ``comfy_execution/graph.py`` 0b458120 (``inhibit_nodes``,
``override_node``, external blocks) and ``comfy_execution/validation.py`` 503745c9
(``validate_loops``). Read, not run: no 2026 ComfyUI could be run to confirm them.
"""
from __future__ import annotations

import struct

import pytest
from mockera import mock_era

from pytest_comfyruntime.executor.harness import PromptValidationError
from pytest_comfyruntime.nodes import loops
from pytest_comfyruntime.nodes.loops import LOOP_CLASS_TYPES, LoopsUnavailableError, loop_node_classes

CLIENT = {"client_id": "loops"}


class LoopTap:
    """Passes ``value`` on and shows it in its ``ui`` (a body node with UI that is no output node)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("*",)}, "optional": {"flag": ("BOOLEAN",), "item": ("*",)}}

    RETURN_TYPES = ("*",)
    FUNCTION = "run"

    def run(self, value, flag=None, item=None):
        return {"ui": {"seen": [[value, flag, item]]}, "result": (value,)}


@pytest.fixture
def mock(tmp_path):
    """Era D with the loop nodes registered (built on the mock io's DynamicCombo, Autogrow and
    MatchType, as ComfyUI's are)."""
    with mock_era("D", tmp_path) as m:
        m.registry.add_all(loop_node_classes())
        m.registry.add_all({"LoopTap": LoopTap})
        yield m


def carried_loop(iterations=3, accumulate=True) -> dict:
    """10 carried through ``iterations`` passes of ``value + iteration_index``."""
    return {
        "5": {"class_type": "CRInt", "inputs": {"value": 10}},
        "1": {"class_type": "StartLoop", "inputs": {"mode": "simple", "mode.num_iterations": iterations,
                                                    "cache_iterations": False, "initial_iteration_value": ["5", 0]}},
        "2": {"class_type": "CRAdd", "inputs": {"a": ["1", 4], "b": ["1", 0]}},
        "3": {"class_type": "EndLoop", "inputs": {"output_value": ["2", 0], "next_iteration_value": ["2", 0],
                                                  "accumulate": accumulate}},
        "4": {"class_type": "CRRecord", "inputs": {"value": ["3", 0], "label": "out"}},
    }


def _run(mock, prompt, **kwargs):
    return mock.harness().run(prompt, extra_data=CLIENT, **kwargs)


TEXT = 3  # ComfyUI's protocol.BinaryEventTypes.TEXT


def _texts(result) -> list:
    """The progress texts sent (``send_progress_text``), decoded: (node id, text, sid, via)."""
    decoded = []
    for m in result.messages:
        if m.event == TEXT:
            [length] = struct.unpack(">I", m.data[:4])
            decoded.append((m.data[4:4 + length].decode(), m.data[4 + length:].decode(), m.sid, m.via))
    return decoded


def test_the_stand_ins_have_comfyuis_names_and_loop_boundaries(mock):
    from comfy_api.latest import io

    assert sorted(LOOP_CLASS_TYPES) == sorted(loops.loop_node_classes())
    classes = {name: mock.nodes.NODE_CLASS_MAPPINGS[name] for name in LOOP_CLASS_TYPES}
    assert all(issubclass(cls, io.ComfyNode) for cls in classes.values())
    assert classes["StartLoop"].GET_SCHEMA().loop_boundary == "start"
    assert classes["EndLoop"].GET_SCHEMA().loop_boundary == "end"
    assert classes["StartLoop"].GET_SCHEMA().display_name == "Start Loop"
    # ComfyUI's dynamic inputs: a DynamicCombo mode, an Autogrow of terminations, MatchType values
    start_inputs = {i.id: i for i in classes["StartLoop"].GET_SCHEMA().inputs}
    assert isinstance(start_inputs["mode"], io.DynamicCombo.Input)
    assert [option.key for option in start_inputs["mode"].options] == ["simple", "For", "List"]
    assert isinstance(start_inputs["initial_iteration_value"], io.MatchType.Input)
    end_inputs = {i.id: i for i in classes["EndLoop"].GET_SCHEMA().inputs}
    assert isinstance(end_inputs["terminations"], io.Autogrow.Input)
    assert isinstance(end_inputs["output_value"], io.MatchType.Input)
    assert classes["LoopProgress"].OUTPUT_NODE is True and classes["LoopResult"].OUTPUT_NODE is True
    assert list(classes["EndLoop"].OUTPUT_IS_LIST) == [True]


def test_a_loop_runs_its_body_once_per_iteration_and_carries_the_value(mock):
    result = _run(mock, carried_loop())
    assert result.success, result.error
    assert result.outputs["4"]["value"] == [10, 11, 13]  # 10+0, 10+1, 11+2: every iteration accumulated
    executing = [(d["node"], d["display_node"]) for d in result.of("executing") if d["node"] is not None]
    assert executing == [
        ("5", "5"), ("1", "1"),
        ("1.0.0.iteration_0", "1"), ("1.0.0.0_2", "2"), ("1.0.0.progress_0", "1"),
        ("1.0.0.iteration_1", "1"), ("1.0.0.1_2", "2"), ("1.0.0.progress_1", "1"),
        ("1.0.0.iteration_2", "1"), ("1.0.0.2_2", "2"), ("1.0.0.progress_2", "1"),
        ("1.0.0.result", "1"), ("3", "3"), ("4", "4"),
    ]
    # the submitted prompt carries the pairing validate_loops wrote into the Start node
    start = result.history["prompt"][2]["1"]
    assert start["_loop_body"] == ["2"] and start["_loop_end"] == "3"


def test_without_accumulate_the_end_returns_the_last_iteration_only(mock):
    result = _run(mock, carried_loop(iterations=4, accumulate=False))
    assert result.success, result.error
    assert result.outputs["4"]["value"] == [16]  # 10, 11, 13, 16: only the last reaches the End node
    copies = [n for n in result.executed_nodes if n.startswith("1.0.0.") and n.split(".")[-1][0].isdigit()]
    assert copies == ["1.0.0.0_2", "1.0.0.1_2", "1.0.0.2_2", "1.0.0.3_2"]


def test_for_and_list_modes_and_the_position_flags(mock):
    prompt = {
        "1": {"class_type": "StartLoop", "inputs": {"mode": "For", "mode.start_iteration_index": 2,
                                                    "mode.max_iteration": 9, "mode.step": 3,
                                                    "cache_iterations": False}},
        "2": {"class_type": "LoopTap", "inputs": {"value": ["1", 0], "flag": ["1", 2]}},
        "3": {"class_type": "EndLoop", "inputs": {"output_value": ["2", 0], "accumulate": True}},
        "4": {"class_type": "CRRecord", "inputs": {"value": ["3", 0], "label": "for"}},
    }
    result = _run(mock, prompt)
    assert result.success, result.error
    assert result.outputs["4"]["value"] == [2, 5, 8]
    # is_last is read (socket 2), so the last copy gets True; is_first is not read and stays False
    assert [result.outputs[f"1.0.0.{i}_2"]["seen"][0][1] for i in range(3)] == [False, False, True]

    listed = {
        "7": {"class_type": "CRRange", "inputs": {"start": 100, "count": 3, "step": 10}},
        "1": {"class_type": "StartLoop", "inputs": {"mode": "List", "mode.list": ["7", 0], "cache_iterations": False}},
        "2": {"class_type": "LoopTap", "inputs": {"value": ["1", 3], "item": ["1", 0], "flag": ["1", 1]}},
        "3": {"class_type": "EndLoop", "inputs": {"output_value": ["2", 0], "accumulate": True}},
        "4": {"class_type": "CRRecord", "inputs": {"value": ["3", 0], "label": "list"}},
    }
    result = _run(mock, listed)
    assert result.success, result.error
    assert result.outputs["4"]["value"] == [100, 110, 120]
    assert [result.outputs[f"1.0.0.{i}_2"]["seen"][0][2] for i in range(3)] == [0, 1, 2]  # iteration_index
    assert [result.outputs[f"1.0.0.{i}_2"]["seen"][0][1] for i in range(3)] == [True, False, False]  # is_first


def test_executed_and_the_history_show_each_iterations_copy_as_its_original(mock):
    prompt = carried_loop(iterations=2)
    prompt["6"] = {"class_type": "LoopTap", "inputs": {"value": ["2", 0]}}
    prompt["3"]["inputs"]["terminations.termination0"] = ["6", 0]
    result = _run(mock, prompt)
    assert result.success, result.error
    executed = [(d["node"], d["display_node"], d["output"]) for d in result.of("executed")]
    assert ("1.0.0.0_6", "6", {"seen": [[10, None, None]]}) in executed
    assert ("1.0.0.1_6", "6", {"seen": [[11, None, None]]}) in executed
    assert "6" not in result.outputs and "2" not in result.executed_nodes  # the originals never run
    assert result.history["meta"]["1.0.0.1_6"] == {"node_id": "1.0.0.1_6", "display_node": "6",
                                                  "parent_node": "1", "real_node_id": "1"}
    assert result.outputs["1.0.0.1_6"] == {"seen": [[11, None, None]]}


def test_hooks_on_get_input_data_and_execute_see_the_looped_nodes(mock):
    execution = mock.execution
    gid, per_node = execution.get_input_data, execution.execute
    gathered: list = []
    staged: list = []

    def get_input_data(*args, **kwargs):
        gathered.append((args[2], dict(args[0]), args[3] is not None))
        return gid(*args, **kwargs)

    async def execute(*args):
        staged.append(args[3])
        return await per_node(*args)

    execution.get_input_data, execution.execute = get_input_data, execute
    try:
        assert _run(mock, carried_loop(iterations=2)).success
    finally:
        execution.get_input_data, execution.execute = gid, per_node
    # With the ExecutionList: the nodes as they run, the loop body as per-iteration copies.
    running = [node_id for node_id, _, listed in gathered if listed]
    assert running == ["5", "1", "1.0.0.iteration_0", "1.0.0.0_2", "1.0.0.progress_0", "1.0.0.iteration_1",
                       "1.0.0.1_2", "1.0.0.progress_1", "1.0.0.result", "3", "4"]
    # Without it (IsChangedCache, constants only): the nodes with fingerprint_inputs, the loop's
    # helpers among them as soon as the expansion's subcache is made.
    fingerprinted = [node_id for node_id, _, listed in gathered if not listed]
    assert fingerprinted[0] == "1"  # (the subgraph's nodes come in the order of a set)
    assert sorted(fingerprinted[1:]) == ["1.0.0.iteration_0", "1.0.0.iteration_1", "1.0.0.progress_0",
                                         "1.0.0.progress_1", "1.0.0.result"]
    inputs = {node_id: given for node_id, given, listed in gathered if listed}
    assert inputs["1.0.0.1_2"] == {"a": ["1.0.0.iteration_1", 4], "b": ["1.0.0.iteration_1", 0]}
    assert inputs["1.0.0.iteration_1"]["current_iteration_value"] == ["1.0.0.0_2", 0]
    assert inputs["3"] == {"accumulate": True}  # the End node, overridden without its loop inputs
    # is_first / is_last are read by no node: every iteration gets False (stable cache keys)
    assert [inputs[f"1.0.0.iteration_{i}"]["is_first"] for i in range(2)] == [False, False]
    assert [inputs[f"1.0.0.iteration_{i}"]["is_last"] for i in range(2)] == [False, False]
    assert staged.count("1") == 2 and staged.count("3") == 1  # Start staged again for its expansion


def test_a_loop_body_that_escapes_fails_validation_with_comfyuis_error(mock):
    prompt = carried_loop()
    prompt["6"] = {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": "escape"}}
    with pytest.raises(PromptValidationError) as info:
        _run(mock, prompt)
    error = {
        "type": "custom_validation_failed",
        "message": "Loop body is not closed",
        "details": "Start Loop 1 reaches 6 without passing through End Loop 3",
        "extra_info": {"input_name": "loop boundary", "loop_error_type": "loop_escape",
                       "node_ids": ["1", "3", "6"], "output_ids": ["4", "6"]},
    }
    assert info.value.error == {"type": "prompt_outputs_failed_validation",
                                "message": "Prompt outputs failed validation",
                                "details": "Loop body is not closed: Start Loop 1 reaches 6 without passing "
                                           "through End Loop 3",
                                "extra_info": {}}
    assert info.value.node_errors == {
        node_id: {"errors": [error], "dependent_outputs": ["4", "6"], "class_type": class_type}
        for node_id, class_type in (("1", "StartLoop"), ("3", "EndLoop"), ("6", "CRRecord"))}


def test_an_end_without_a_start_fails_validation(mock):
    prompt = {"1": {"class_type": "CRInt", "inputs": {"value": 1}},
              "3": {"class_type": "EndLoop", "inputs": {"output_value": ["1", 0], "accumulate": False}},
              "4": {"class_type": "CRRecord", "inputs": {"value": ["3", 0], "label": "out"}}}
    with pytest.raises(PromptValidationError) as info:
        _run(mock, prompt)
    [reason] = info.value.node_errors["3"]["errors"]
    assert reason["details"] == "End Loop 3 has no available Start Loop"
    assert reason["extra_info"] == {"input_name": "loop boundary", "loop_error_type": "loop_end_without_start",
                                    "node_ids": ["3"], "output_ids": ["4"]}


def test_validate_loops_pairs_nested_loops_innermost_first(mock):
    from comfy_execution.validation import LoopValidationError, validate_loops

    prompt = {
        "1": {"inputs": {}}, "2": {"inputs": {"parent_iteration": ["1", 0]}},
        "3": {"inputs": {"v": ["2", 0]}}, "4": {"inputs": {"output_value": ["3", 0]}},
        "5": {"inputs": {"output_value": ["4", 0]}}, "6": {"inputs": {"value": ["5", 0]}},
    }
    validated = dict.fromkeys(prompt)  # validate_prompt passes what it validated: the outputs' ancestry
    assert validate_loops(prompt, {"6"}, validated, {"1", "2"}, {"4", "5"}) == {"2": "4", "1": "5"}
    assert prompt["1"]["_loop_body"] == ["2", "3", "4"] and prompt["2"]["_loop_body"] == ["3"]
    assert validate_loops({}, set(), {}, set(), set()) == {}
    prompt["7"] = {"inputs": {"x": ["1", 0]}}
    prompt["5"]["inputs"]["accumulate"] = ["7", 0]
    with pytest.raises(LoopValidationError) as info:
        validate_loops(prompt, {"6"}, dict.fromkeys(prompt), {"1", "2"}, {"4", "5"})
    assert info.value.error["details"] == "End Loop 5 accumulate is driven by loop node 7 under Start Loop 1"
    assert info.value.error["extra_info"]["loop_error_type"] == "loop_accumulate_from_body"
    assert info.value.error["extra_info"]["node_ids"] == ["1", "5", "7"]
    prompt["5"]["inputs"]["accumulate"] = ["3", 0]  # the inner body reaching the outer End: an escape
    with pytest.raises(LoopValidationError) as info:
        validate_loops(prompt, {"6"}, dict.fromkeys(prompt), {"1", "2"}, {"4", "5"})
    assert info.value.error["extra_info"]["loop_error_type"] == "loop_escape"


@pytest.mark.parametrize("era", ["A", "B", "C"])
def test_eras_before_2026_have_no_loop_nodes(era, tmp_path):
    with mock_era(era, tmp_path) as m:
        with pytest.raises(LoopsUnavailableError, match=r"need the 2026 executor \(era D\)") as info:
            loop_node_classes()
        if era == "C":  # V3 nodes exist, the loop machinery does not
            assert "ExecutionList.inhibit_nodes" in str(info.value)
            assert "Hidden.execution_list" in str(info.value)
        # unregistered, a loop prompt is refused as ComfyUI of that era refuses an unknown class_type
        with pytest.raises(KeyError if era == "A" else PromptValidationError, match="StartLoop"):
            m.harness().run(carried_loop(), extra_data=CLIENT)


def test_a_lazy_dynamic_input_is_not_pulled_into_the_graph(mock):
    """TopologicalSort.get_input_info reads a V3 node's inputs finalized for the prompt: an input
    inside a DynamicCombo option that is lazy is not scheduled until the node asks for it."""
    from comfy_api.latest import io

    class LazyPick(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            return io.Schema(node_id="LazyPick", inputs=[io.DynamicCombo.Input("pick", options=[
                io.DynamicCombo.Option("fixed", [io.AnyType.Input("unused", lazy=True, optional=True)])])],
                outputs=[io.Int.Output()])

        @classmethod
        def check_lazy_status(cls, pick):
            return []

        @classmethod
        def execute(cls, pick):
            return io.NodeOutput(7)

    mock.registry.add_all({"LazyPick": LazyPick})
    prompt = {"1": {"class_type": "CRFail", "inputs": {"value": 1, "message": "must not run"}},
              "2": {"class_type": "LazyPick", "inputs": {"pick": "fixed", "pick.unused": ["1", 0]}},
              "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": "lazy"}}}
    result = _run(mock, prompt)
    assert result.success, result.error
    assert result.outputs["3"]["value"] == [7] and "1" not in result.executed_nodes


def test_a_loop_sends_its_iterations_as_progress_texts_on_the_start_node(mock):
    result = _run(mock, carried_loop(iterations=3))
    assert result.success, result.error
    assert _texts(result) == [("1", f"Iteration {n} / 3", None, "send_sync") for n in range(4)]
    # "Iteration 0" as the Start node expands, then one as each iteration's LoopProgress runs
    order = [("text", m.data[5:].decode()) if m.event == TEXT else ("executing", m.data["node"])
             for m in result.messages if m.event in (TEXT, "executing")]
    assert order[order.index(("executing", "1")) + 1] == ("text", "Iteration 0 / 3")
    for n in range(3):
        assert order[order.index(("executing", f"1.0.0.progress_{n}")) + 1] == ("text", f"Iteration {n + 1} / 3")
    # the wire format: the node id's length (4 bytes, big-endian), the node id, the text
    first = next(m for m in result.messages if m.event == TEXT)
    assert first.data == b"\x00\x00\x00\x01" + b"1" + b"Iteration 0 / 3"


class TextSender:
    """Sends its ``text`` as a progress text on itself (``PromptServer.instance.send_progress_text``)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": ("STRING",)}, "hidden": {"unique_id": "UNIQUE_ID"}}

    RETURN_TYPES = ()
    OUTPUT_NODE = True
    FUNCTION = "run"

    def run(self, text, unique_id):
        import server

        server.PromptServer.instance.send_progress_text(text, unique_id)
        server.PromptServer.instance.send_progress_text(text.encode("utf-16-le"), unique_id, "loops")
        return {}


@pytest.mark.parametrize("era", ["C", "D", "D-11"])
def test_send_progress_text_sends_comfyuis_text_message(era, tmp_path):
    with mock_era(era, tmp_path) as m:
        import server

        assert server.BinaryEventTypes.TEXT == TEXT
        m.registry.add_all({"TextSender": TextSender})
        result = m.harness().run({"42": {"class_type": "TextSender", "inputs": {"text": "héllo"}}},
                                 extra_data=CLIENT)
    assert result.success, result.error
    sent = [(m.data, m.sid, m.via) for m in result.messages if m.event == TEXT]
    assert sent == [(b"\x00\x00\x00\x0242" + "héllo".encode(), None, "send_sync"),  # a str: UTF-8
                    (b"\x00\x00\x00\x0242" + "héllo".encode("utf-16-le"), "loops", "send_sync")]  # bytes as given


def test_the_d11_variant_refuses_the_loop_nodes_naming_what_it_lacks(tmp_path):
    """D-11 (2026 up to v0.33) shares era D's V3 io (Hidden.execution_list, the dynamic inputs,
    Schema.loop_boundary) but not its ExecutionList / DynamicPrompt."""
    with mock_era("D-11", tmp_path) as m:
        from comfy_api.latest import io

        assert hasattr(io.Hidden, "execution_list")
        with pytest.raises(LoopsUnavailableError, match=r"need the 2026 executor \(era D\)") as info:
            loop_node_classes()
        message = str(info.value)
        assert "lacks comfy_execution.graph.ExecutionList.inhibit_nodes" in message
        assert "comfy_execution.graph.DynamicPrompt.override_node" in message
        assert "Hidden.execution_list" not in message
        with pytest.raises(PromptValidationError, match="StartLoop"):
            m.harness().run(carried_loop(), extra_data=CLIENT)
