"""What published V3 extensions use beyond the node API itself, on the mock of eras C and D:
``comfy_api.latest.ui`` (the UI outputs a node hands ``io.NodeOutput(ui=...)``, shaped as ComfyUI
shapes them in the ``executed`` message and the history), ``ComfyAPISync`` (the synchronous twin
of ``ComfyAPI``), and dynamic inputs: 0.3.75's flat ``AutogrowDynamic`` / ``MatchType`` (era C)
and 2026's nested ``Autogrow`` / ``DynamicCombo`` / ``MatchType`` (era D), validated and handed
to the node as ComfyUI hands them. Era C is held to real ComfyUI 0.3.75 in
tests/real/test_v3_dynamic_parity_real.py; era D follows the 2026 source (read, not run).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading

import pytest
from mockera import mock_era

from pytest_comfyruntime.executor.harness import PromptValidationError

CLIENT = {"client_id": "dyn"}


@pytest.fixture(params=["C", "D-11", "D"])
def v3(request, tmp_path):
    with mock_era(request.param, tmp_path) as mock:
        yield mock


def _run(mock, prompt, extra_data=CLIENT):
    return mock.harness().run(prompt, extra_data=extra_data)


def _shower(io, ui, node_id, make_ui):
    """An output node whose ``ui`` is ``make_ui(value, cls)``."""

    class Shower(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            return io.Schema(node_id=node_id, inputs=[io.String.Input("value")], is_output_node=True)

        @classmethod
        def execute(cls, value):
            return io.NodeOutput(ui=make_ui(value, cls))

    return Shower


def test_ui_and_comfy_api_sync_are_exported_as_in_comfyui(v3):
    import comfy_api.latest as latest

    assert latest.ui is latest.UI and latest.io is latest.IO
    assert latest.ui.__name__ == "comfy_api.latest._ui"
    assert {"ComfyAPISync", "ui", "UI"} <= set(latest.__all__)
    assert issubclass(latest.ui.PreviewText, latest.io._UIOutput)
    expected = {"SavedResult", "SavedImages", "SavedAudios", "ImageSaveHelper", "AudioSaveHelper", "PreviewImage",
                "PreviewMask", "PreviewAudio", "PreviewVideo", "PreviewUI3D", "PreviewText"}
    if v3.gen == "D":
        expected.add("PreviewUI3DAdvanced")
    assert set(latest.ui.__all__) == expected


def test_importing_the_ui_module_imports_no_torch_numpy_pil_or_av(tmp_path):
    code = (
        "import sys, tempfile\n"
        "from pytest_comfyruntime.executor.eras import ERAS\n"
        "from pytest_comfyruntime.executor.standin import StandIn\n"
        "for era in ('C', 'D'):\n"
        "    standin = StandIn(ERAS[era]); undo = standin.activate()\n"
        "    standin.import_core(tempfile.mkdtemp())\n"
        "    import comfy_api.latest\n"
        "    comfy_api.latest.ui.PreviewText('x').as_dict()\n"
        "    undo()\n"
        "print(sorted(m for m in ('torch', 'numpy', 'PIL', 'av') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_ui_outputs_reach_executed_and_the_history_in_comfyuis_shape(v3):
    from comfy_api.latest import io, ui

    makers = {
        "ShowText": lambda value, cls: ui.PreviewText(value),
        "ShowSaved": lambda value, cls: ui.SavedImages([ui.SavedResult(value, "sub", io.FolderType.output)],
                                                       is_animated=True),
        "ShowStill": lambda value, cls: ui.SavedImages([ui.SavedResult(value, "", io.FolderType.temp)]),
        "ShowVideo": lambda value, cls: ui.PreviewVideo([ui.SavedResult(value, "", io.FolderType.output)]),
        "Show3D": lambda value, cls: ui.PreviewUI3D(value, {"zoom": 1}),
        "ShowAudio": lambda value, cls: ui.SavedAudios([ui.SavedResult(value, "a", io.FolderType.input)]),
    }
    for name, make in makers.items():
        v3.registry.add(name, _shower(io, ui, name, make))
    prompt = {str(i): {"class_type": name, "inputs": {"value": f"v{i}"}} for i, name in enumerate(makers, 1)}
    result = _run(v3, prompt)
    assert result.success, result.error
    expected = {
        "1": {"text": ["v1"]},
        "2": {"images": [{"filename": "v2", "subfolder": "sub", "type": "output"}], "animated": [True]},
        "3": {"images": [{"filename": "v3", "subfolder": "", "type": "temp"}]},
        "4": {"images": [{"filename": "v4", "subfolder": "", "type": "output"}], "animated": [True]},
        "5": {"result": ["v5", {"zoom": 1}] + ([None] if v3.gen == "D" else [])},
        "6": {"audio": [{"filename": "v6", "subfolder": "a", "type": "input"}]},
    }
    executed = {d["node"]: d["output"] for d in result.of("executed")}
    assert executed == expected
    assert result.outputs == expected
    saved = result.outputs["2"]["images"][0]
    assert type(saved).__name__ == "SavedResult" and saved.type is io.FolderType.output and saved.subfolder == "sub"


def test_preview_image_saves_a_png_into_the_temp_folder(v3):
    torch = pytest.importorskip("torch")
    pytest.importorskip("PIL")
    import folder_paths
    from comfy_api.latest import io, ui

    v3.registry.add("ShowImage", _shower(io, ui, "ShowImage", lambda value, cls: ui.PreviewImage(
        torch.full((2, 4, 3, 3), 0.5), cls=cls)))
    result = _run(v3, {"1": {"class_type": "ShowImage", "inputs": {"value": "x"}}},
                  extra_data={"client_id": "dyn", "extra_pnginfo": {"workflow": {"id": 7}}})
    assert result.success, result.error
    shown = result.outputs["1"]
    assert shown["animated"] == [False]
    letters = "[abcdefghijklmnopqrstupvxyz]{5}" if v3.gen == "C" else "[0-9a-f]{5}"
    names = [image["filename"] for image in shown["images"]]
    assert [(image["subfolder"], image["type"]) for image in shown["images"]] == [("", "temp"), ("", "temp")]
    assert re.fullmatch(rf"ComfyUI_temp_{letters}_00001_\.png", names[0]), names
    assert names[1] == names[0].replace("_00001_", "_00002_")
    from PIL import Image

    with Image.open(os.path.join(folder_paths.get_temp_directory(), names[0])) as png:
        assert png.size == (3, 4)
        assert png.text["workflow"] == '{"id": 7}' and '"class_type": "ShowImage"' in png.text["prompt"]


def test_comfy_api_sync_sets_the_progress_of_the_running_node(v3):
    from comfy_api.latest import ComfyAPISync, io

    threads = []

    class Busy(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            return io.Schema(node_id="Busy", inputs=[io.Int.Input("steps")], outputs=[io.Int.Output()])

        @classmethod
        def execute(cls, steps):
            api = ComfyAPISync()
            for step in range(1, steps + 1):
                api.execution.set_progress(step, steps)
            threads.append(threading.current_thread())
            return io.NodeOutput(steps)

    v3.registry.add("Busy", Busy)
    result = _run(v3, {"1": {"class_type": "Busy", "inputs": {"steps": 3}},
                       "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}})
    assert result.success, result.error
    seen = [(d["nodes"]["1"]["value"], d["nodes"]["1"]["max"], d["nodes"]["1"]["state"])
            for d in result.of("progress_state") if "1" in d["nodes"]]
    assert seen[:5] == [(0.0, 1.0, "running"), (1.0, 3.0, "running"), (2.0, 3.0, "running"),
                        (3.0, 3.0, "running"), (3.0, 3.0, "finished")]
    assert threads and all(not t.name.startswith("async_to_sync") for t in threads)
    # outside a running node there is no node id to report on
    with pytest.raises(ValueError, match="node_id must be provided if not in executing context"):
        ComfyAPISync().execution.set_progress(1, 2)
    assert not [t for t in threading.enumerate() if t.name.startswith("async_to_sync")]


# ---------------------------------------------------------------------------------------------
# Era C: 0.3.75's flat dynamic inputs


@pytest.fixture
def era_c(tmp_path):
    with mock_era("C", tmp_path) as mock:
        yield mock


def _c_dynamic_nodes(io):
    class Grow(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            return io.Schema(node_id="Grow", inputs=[
                io.AutogrowDynamic.Input("vals", template_input=io.Int.Input("v", display_name="V"), min=2, max=4)],
                outputs=[io.String.Output()])

        @classmethod
        def execute(cls, **kwargs):
            return io.NodeOutput(repr(sorted(kwargs.items())))

    class Match(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            template = io.MatchType.Template("T", [io.Int, io.Float])
            return io.Schema(node_id="Match", inputs=[io.MatchType.Input("value", template=template)],
                             outputs=[io.MatchType.Output("out", template=template)])

        @classmethod
        def execute(cls, value):
            return io.NodeOutput(value)

    return {"Grow": Grow, "Match": Match}


def test_c_autogrow_lists_numbered_flat_inputs_and_the_node_gets_them_by_name(era_c):
    from comfy_api.latest import io

    era_c.registry.add_all(_c_dynamic_nodes(io))
    grow = era_c.nodes.NODE_CLASS_MAPPINGS["Grow"]
    inputs = grow.INPUT_TYPES()
    assert inputs["required"] == {"v1_$vals_ag$": ("INT", {"display_name": "V1", "forceInput": True}),
                                  "v2_$vals_ag$": ("INT", {"display_name": "V2", "forceInput": True})}
    assert list(inputs["optional"]) == ["v3_$vals_ag$", "v4_$vals_ag$"]
    prompt = {"1": {"class_type": "CRInt", "inputs": {"value": 5}},
              "2": {"class_type": "Grow", "inputs": {"v1_$vals_ag$": ["1", 0], "v2_$vals_ag$": ["1", 0],
                                                     "v4_$vals_ag$": ["1", 0]}},
              "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}}}
    result = _run(era_c, prompt)
    assert result.success, result.error
    assert result.outputs["3"]["value"] == ["[('v1_$vals_ag$', 5), ('v2_$vals_ag$', 5), ('v4_$vals_ag$', 5)]"]
    del prompt["2"]["inputs"]["v2_$vals_ag$"]
    with pytest.raises(PromptValidationError) as info:
        era_c.harness().validate(prompt, "dyn")
    [error] = info.value.node_errors["2"]["errors"]
    assert error["type"] == "required_input_missing" and error["extra_info"]["input_name"] == "v2_$vals_ag$"


def test_c_match_type_keeps_its_own_io_type_so_a_typed_link_fails_validation(era_c):
    from comfy_api.latest import io

    era_c.registry.add_all(_c_dynamic_nodes(io))
    match = era_c.nodes.NODE_CLASS_MAPPINGS["Match"]
    assert match.INPUT_TYPES()["required"]["value"] == (
        "COMFY_MATCHTYPE_V3", {"template": {"template_id": "T", "allowed_types": "INTFLOAT"}})
    assert list(match.RETURN_TYPES) == ["COMFY_MATCHTYPE_V3"]
    prompt = {"1": {"class_type": "CRInt", "inputs": {"value": 5}},
              "2": {"class_type": "Match", "inputs": {"value": ["1", 0]}},
              "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}}}
    with pytest.raises(PromptValidationError) as info:
        era_c.harness().validate(prompt, "dyn")
    [error] = info.value.node_errors["2"]["errors"]
    assert error["type"] == "return_type_mismatch" and error["extra_info"]["input_name"] == "value"
    assert error["extra_info"]["received_type"] == "INT"


def test_c_dynamic_inputs_fail_where_0_3_75_fails(era_c):
    from comfy_api.latest import io

    no_max = io.AutogrowDynamic.Input("vals", template_input=io.Int.Input("v"))
    with pytest.raises(TypeError):
        no_max.get_dynamic()
    with pytest.raises(TypeError, match="abstract"):
        io.ComboDynamic.Input("choice")
    with pytest.raises(TypeError):  # a single type, not a list: 0.3.75 iterates the class
        io.MatchType.Template("T", io.Int).as_dict()
    assert not hasattr(io, "Autogrow") and not hasattr(io, "DynamicCombo")
    multi = io.MultiType.Input(io.Int.Input("n", default=3), types=[io.Float, io.Int])
    assert (multi.get_io_type(), multi.as_dict()) == ("INT,FLOAT", {"optional": False, "default": 3, "widgetType": "INT"})


# ---------------------------------------------------------------------------------------------
# Era D: 2026's nested dynamic inputs


@pytest.fixture
def era_d(tmp_path):
    with mock_era("D", tmp_path) as mock:
        yield mock


def _d_dynamic_nodes(io, seen):
    class Grow(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            return io.Schema(node_id="Grow", inputs=[
                io.Autogrow.Input("vals", template=io.Autogrow.TemplatePrefix(io.Int.Input("v"), prefix="v", min=1, max=3)),
                io.Autogrow.Input("names", optional=True, template=io.Autogrow.TemplateNames(
                    io.String.Input("s", optional=True), names=["a", "b"], min=0))],
                outputs=[io.Int.Output()])

        @classmethod
        def execute(cls, vals, names):
            seen.append(("Grow", vals, names))
            return io.NodeOutput(sum(vals.values()))

    class Pick(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            return io.Schema(node_id="Pick", inputs=[io.DynamicCombo.Input("mode", options=[
                io.DynamicCombo.Option("scale", [io.Int.Input("factor", min=1), io.Int.Input("value")]),
                io.DynamicCombo.Option("none", [])])], outputs=[io.Int.Output()])

        @classmethod
        def execute(cls, mode):
            seen.append(("Pick", mode))
            return io.NodeOutput(mode["factor"] * mode["value"] if mode["mode"] == "scale" else 0)

    class Match(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            template = io.MatchType.Template("T", [io.Int, io.Float])
            return io.Schema(node_id="Match", inputs=[io.MatchType.Input("value", template=template)],
                             outputs=[io.MatchType.Output(template)])

        @classmethod
        def execute(cls, value):
            seen.append(("Match", value))
            return io.NodeOutput(value)

    return {"Grow": Grow, "Pick": Pick, "Match": Match}


def test_d_autogrow_and_dynamic_combo_reach_the_node_as_nested_dicts(era_d):
    from comfy_api.latest import io

    seen = []
    era_d.registry.add_all(_d_dynamic_nodes(io, seen))
    prompt = {"1": {"class_type": "CRInt", "inputs": {"value": 5}},
              "2": {"class_type": "Grow", "inputs": {"vals.v0": ["1", 0], "vals.v2": 4}},
              "3": {"class_type": "Pick", "inputs": {"mode": "scale", "mode.factor": ["2", 0], "mode.value": 2}},
              "4": {"class_type": "Match", "inputs": {"value": ["3", 0]}},
              "5": {"class_type": "CRRecord", "inputs": {"value": ["4", 0], "label": ""}}}
    result = _run(era_d, prompt)
    assert result.success, result.error
    assert seen == [("Grow", {"v0": 5, "v2": 4}, {}), ("Pick", {"factor": 9, "mode": "scale"} | {"value": 2}),
                    ("Match", 18)]
    assert list(seen[1][1]) == ["factor", "value", "mode"]  # the option's inputs first, then the key
    assert result.outputs["5"]["value"] == [18]
    match = era_d.nodes.NODE_CLASS_MAPPINGS["Match"]
    assert match.GET_NODE_INFO_V1()["output_matchtypes"] == ["T"]
    assert list(match.RETURN_NAMES) == ["MATCHTYPE"]


def test_d_inputs_types_keep_the_dynamic_inputs_and_finalizing_expands_them(era_d):
    from comfy_api.latest import _io, io

    era_d.registry.add_all(_d_dynamic_nodes(io, []))
    grow = era_d.nodes.NODE_CLASS_MAPPINGS["Grow"].INPUT_TYPES()
    assert grow["required"]["vals"] == ("COMFY_AUTOGROW_V3", {"template": {
        "input": {"required": {"v": ("INT", {"forceInput": True})}}, "prefix": "v", "min": 1, "max": 3}})
    assert grow["optional"]["names"][1]["template"] == {
        "input": {"required": {}, "optional": {"s": ("STRING", {"multiline": False, "forceInput": True})}},
        "names": ["a", "b"], "min": 0}
    inputs, hidden, v3_data = _io.get_finalized_class_inputs(grow, {"vals.v1": 1})
    assert list(inputs["required"]) == ["vals.v0"] and list(inputs["optional"]) == ["vals.v1", "vals.v2", "names.a",
                                                                                   "names.b"]
    assert v3_data == {"dynamic_paths": {"vals.v1": "vals.v1", "names": "names"},
                       "dynamic_paths_default_value": {"names": "empty_dict"}}
    assert _io.build_nested_inputs({"vals.v1": [1]}, v3_data) == {"vals": {"v1": [1]}, "names": {}}


def test_d_validation_fails_with_comfyuis_error_types(era_d):
    from comfy_api.latest import io

    era_d.registry.add_all(_d_dynamic_nodes(io, []))

    class Rows(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            return io.Schema(node_id="Rows", inputs=[io._DynamicGroup.Input("rows", template=[io.Int.Input("n")])],
                             outputs=[io.Int.Output()])

        @classmethod
        def execute(cls, rows):
            return io.NodeOutput(len(rows))

    era_d.registry.add("Rows", Rows)
    missing = {"1": {"class_type": "Grow", "inputs": {"vals.v1": 3}},
               "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}}
    with pytest.raises(PromptValidationError) as info:
        era_d.harness().validate(missing, "dyn")
    [error] = info.value.node_errors["1"]["errors"]
    assert error["type"] == "required_input_missing" and error["extra_info"]["input_name"] == "vals.v0"
    bad_rows = {"1": {"class_type": "Rows", "inputs": {"rows.x.n": 1}},
                "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}}
    with pytest.raises(PromptValidationError) as info:
        era_d.harness().validate(bad_rows, "dyn")
    [error] = info.value.node_errors["1"]["errors"]
    assert error["type"] == "invalid_dynamic_input" and error["extra_info"] == {"input_name": "rows.x.n"}
    assert "expected 'rows.<index>.<template field>'" in error["details"]
    rows = {"1": {"class_type": "Rows", "inputs": {"rows.1.n": 4}},
            "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}}
    result = _run(era_d, rows)
    assert result.success, result.error
    assert result.outputs["2"]["value"] == [2]  # row 0 is a gap (a dict of None), row 1 was sent


def test_d_check_lazy_status_gets_value_and_input_name_pairs_for_dynamic_inputs(era_d):
    from comfy_api.latest import io

    asked = []

    class LazyGrow(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            return io.Schema(node_id="LazyGrow", inputs=[io.Autogrow.Input("vals", template=io.Autogrow.TemplatePrefix(
                io.Int.Input("v", lazy=True), prefix="v", min=0, max=2))], outputs=[io.Int.Output()])

        @classmethod
        def check_lazy_status(cls, vals):
            asked.append(vals)
            return [name for value, name in vals.values() if value is None]

        @classmethod
        def execute(cls, vals):
            return io.NodeOutput(sum(vals.values()))

    era_d.registry.add("LazyGrow", LazyGrow)
    prompt = {"1": {"class_type": "CRInt", "inputs": {"value": 5}},
              "2": {"class_type": "LazyGrow", "inputs": {"vals.v0": ["1", 0], "vals.v1": 2}},
              "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}}}
    result = _run(era_d, prompt)
    assert result.success, result.error
    assert asked == [{"v0": (None, "vals.v0"), "v1": (2, "vals.v1")}, {"v0": (5, "vals.v0"), "v1": (2, "vals.v1")}]
    assert result.outputs["3"]["value"] == [7]
