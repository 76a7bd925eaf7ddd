"""``run()`` checks what it is given before the server would see it: what is not a prompt at all
(a UI-format export, a list, a node without ``class_type`` or an ``inputs`` mapping), ``outputs``
that are not a list of the prompt's node ids and ``extra_data`` that is not a mapping are one
``PromptShapeError`` naming the mistake and the fix, on every era, never a ``TypeError`` from inside
the executor; a well-formed prompt keeps ComfyUI's own validation, era by era."""
from __future__ import annotations

import copy
import pickle

import pytest
from mockera import ALL_ERAS, four_node, mock_era

from pytest_comfyruntime import PromptShapeError, PromptValidationError, WorkflowError, validate_workflow

#: The top of what ComfyUI's "Save" (not "Save (API)") writes.
UI_EXPORT = {"last_node_id": 2, "last_link_id": 1, "version": 0.4,
             "nodes": [{"id": 1, "type": "CRInt", "widgets_values": [2]},
                       {"id": 2, "type": "CRRecord", "inputs": [{"name": "value", "link": 1}]}],
             "links": [[1, 1, 0, 2, 0, "INT"]]}
EXPORT_FIX = 'in ComfyUI, enable the dev mode options in the settings and export with "Save (API)"'
NODE_SHAPE = '{"class_type": "<node class>", "inputs": {...}}'
ALL_OUTPUTS = "None to run every output node that validates"


def _with(node_id: str, node: object) -> dict:
    prompt = four_node()
    prompt[node_id] = node
    return prompt


#: (id, run()'s arguments, the whole message).
REFUSED = [
    ("ui_export", {"prompt": UI_EXPORT},
     "run() prompt: this is a UI-format workflow (it has 'nodes' and 'links' lists), which the executor cannot "
     f'run. Fix: {EXPORT_FIX} instead of "Save".'),
    ("list", {"prompt": [1, 2]},
     "run() prompt: it is a list ([1, 2]), not a mapping of node ids to nodes. Fix: pass one API-format prompt, "
     f'{{"<node id>": {NODE_SHAPE}, ...}}; {EXPORT_FIX}.'),
    ("request_body", {"prompt": {"prompt": four_node(), "client_id": "x"}},
     'run() prompt: this is a /prompt request body ({"prompt": {...}, ...}), not a prompt. Fix: pass the value of '
     'its "prompt" key (and its "extra_data" as extra_data=).'),
    ("int_node_id", {"prompt": {int(k): v for k, v in four_node().items()}},
     "run() prompt: node id 1 is an int, not a string. Fix: use the string '1' as the key (node ids are JSON "
     "object keys)."),
    ("node_not_mapping", {"prompt": _with("3", ["CRAdd"])},
     f"run() prompt, node '3': the node is a list (['CRAdd']), not a mapping. Fix: each node is {NODE_SHAPE}."),
    ("no_class_type", {"prompt": _with("3", {"inputs": {"a": ["1", 0], "b": ["2", 0]}})},
     "run() prompt, node '3': the node has no 'class_type'. Fix: set \"class_type\" to the node's registered "
     "name (e.g. \"KSampler\")."),
    ("class_type_not_str", {"prompt": _with("3", {"class_type": None, "inputs": {}})},
     "run() prompt, node '3': 'class_type' is a NoneType (None), not a string. Fix: set \"class_type\" to the "
     "node's registered name (e.g. \"KSampler\")."),
    ("no_inputs", {"prompt": _with("3", {"class_type": "CRAdd"})},
     "run() prompt, node '3' (CRAdd): the node has no 'inputs'. Fix: 'inputs' maps input names to constants or "
     "[node_id, output_index] links (\"inputs\": {} when there are none)."),
    ("inputs_not_mapping", {"prompt": _with("3", {"class_type": "CRAdd", "inputs": [["1", 0], ["2", 0]]})},
     "run() prompt, node '3' (CRAdd): 'inputs' is a list ([['1', 0], ['2', 0]]), not a mapping. Fix: 'inputs' "
     "maps input names to constants or [node_id, output_index] links (\"inputs\": {} when there are none)."),
    ("outputs_missing_id", {"prompt": four_node(), "outputs": ["99"]},
     "run() outputs: names node '99', which is not in the prompt (its node ids: '1', '2', '3', '4'). Fix: name "
     f"nodes of the prompt, or pass {ALL_OUTPUTS}."),
    ("outputs_missing_ids", {"prompt": four_node(), "outputs": ["4", "98", "99"]},
     "run() outputs: names nodes '98', '99', which are not in the prompt (its node ids: '1', '2', '3', '4'). "
     f"Fix: name nodes of the prompt, or pass {ALL_OUTPUTS}."),
    ("outputs_string", {"prompt": four_node(), "outputs": "4"},
     f"run() outputs: it is a str ('4'), not a list of node ids. Fix: pass a list, outputs=['4'], or {ALL_OUTPUTS}."),
    ("outputs_int_id", {"prompt": four_node(), "outputs": [4]},
     "run() outputs: 4 is an int, not a node id (a string). Fix: write it as '4'."),
    ("extra_data_list", {"prompt": four_node(), "extra_data": [("client_id", "c")]},
     "run() extra_data: it is a list ([('client_id', 'c')]), not a mapping. Fix: pass a dict, e.g. "
     '{"client_id": "comfyruntime"}, or {} to run headless.'),
]


@pytest.fixture(params=ALL_ERAS)
def mock(request, tmp_path):
    with mock_era(request.param, tmp_path) as m:
        yield m


@pytest.mark.parametrize("kwargs, message", [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED])
def test_what_is_not_a_prompt_is_one_clear_refusal_before_the_server_sees_it(mock, kwargs, message) -> None:
    harness = mock.harness()
    posted = []
    harness.server.add_on_prompt_handler(lambda json_data: posted.append(json_data) or json_data)
    given = copy.deepcopy(kwargs)
    with pytest.raises(PromptShapeError) as info:  # a TypeError or KeyError from the executor fails here
        harness.run(**kwargs)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError) and not isinstance(info.value, (TypeError, KeyError))
    assert info.value.argument == next(iter(k for k in ("outputs", "extra_data") if k in kwargs), "prompt")
    # Refused before anything a ComfyUI server does: no on_prompt handler, no queue item, no message.
    assert posted == [] and harness.recorder.sent == [] and harness.queue.get_history() == {}
    assert kwargs == given
    assert str(pickle.loads(pickle.dumps(info.value))) == message


def test_a_ui_export_gets_the_words_comfy_workflow_gives_it(mock) -> None:
    with pytest.raises(WorkflowError) as loaded:
        validate_workflow(UI_EXPORT, node_classes=mock.nodes.NODE_CLASS_MAPPINGS, source="ui.json")
    with pytest.raises(PromptShapeError) as run:
        mock.harness().run(UI_EXPORT)
    assert (run.value.problem, run.value.fix) == (loaded.value.problem, loaded.value.fix)
    assert "Save (API)" in str(run.value)


#: What ComfyUI's validate_prompt says of a class_type no node pack registered, era by era. Era A
#: (2024) indexes NODE_CLASS_MAPPINGS and raises KeyError, as ComfyUI did then.
UNKNOWN_CLASS = {"B": ("invalid_prompt", "Cannot execute because node NoSuchNode does not exist."),
                 "C": ("invalid_prompt", "Cannot execute because node NoSuchNode does not exist."),
                 "D": ("missing_node_type", "Node 'NoSuchNode' not found. The custom node may not be installed.")}


def test_a_well_formed_prompt_keeps_comfyuis_own_validation(mock) -> None:
    prompt = _with("3", {"class_type": "NoSuchNode", "inputs": {"a": ["1", 0]}})
    if mock.gen == "A":
        with pytest.raises(KeyError, match="NoSuchNode"):
            mock.harness().run(prompt)
    else:
        with pytest.raises(PromptValidationError) as info:
            mock.harness().run(prompt)
        error = info.value.error
        assert (error["type"], error["message"], error["details"]) == (*UNKNOWN_CLASS[mock.gen], "Node ID '#3'")
    with pytest.raises(PromptValidationError, match="Prompt has no outputs"):  # empty: ComfyUI answers it
        mock.harness().run({})
    missing_input = _with("3", {"class_type": "CRAdd", "inputs": {"a": ["1", 0]}})
    with pytest.raises(PromptValidationError) as info:
        mock.harness().run(missing_input)
    assert info.value.node_errors["3"]["errors"][0]["type"] == "required_input_missing"


def test_what_run_accepts_still_runs(mock) -> None:
    for kwargs in ({"outputs": ["4"]}, {"outputs": ("4",)}, {"extra_data": {}}, {"extra_data": {"client_id": "c"}}):
        result = mock.harness().run(four_node(), **kwargs)  # a fresh executor each: nothing cached
        assert result.success and result.outputs["4"]["value"] == [5], kwargs


def test_the_failure_is_one_message_at_the_test_s_call(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(f'''
UI_EXPORT = {UI_EXPORT!r}

def test_ui_export(comfy_executor):
    comfy_executor.run(UI_EXPORT)
''')
    result = pytester.runpytest("-p", "no:cacheprovider", "-rN")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    errors = [line.split(None, 1)[1] for line in output.splitlines() if line.startswith("E ")]
    assert errors == ["pytest_comfyruntime.PromptShapeError: run() prompt: this is a UI-format workflow (it has "
                      "'nodes' and 'links' lists), which the executor cannot run. Fix: in ComfyUI, enable the dev "
                      'mode options in the settings and export with "Save (API)" instead of "Save".'], output
    assert "comfy_executor.run(UI_EXPORT)" in output
    assert "Traceback" not in output and "pytest_comfyruntime/" not in output and "harness.py" not in output, output
