"""``comfy_api.latest.ui``, ``ComfyAPISync`` and 0.3.75's dynamic inputs on the mock and on real
ComfyUI: the same prompts give the same success flags, messages and history (and the same V1
view of the schemas, and the same validation errors). Runs where the era is C (0.3.75: its
dynamic inputs are 0.3.75's own, flat ones; era D's are read, not run).

The V3 classes are built on each backend's own ``comfy_api.latest`` while that backend is active,
and registered for the test only.
"""
from __future__ import annotations

import copy
import importlib
import random
from pathlib import Path
from typing import Any

import pytest
from realtier import backend_harness, run_on_both, validate_on_both

from pytest_comfyruntime.checks.parity import clean, normalise, parity_diff

CLIENT = {"client_id": "parity"}


@pytest.fixture(autouse=True)
def _needs_era_c(runtime):
    if runtime.backends["real"].era.key != "C":
        pytest.skip("0.3.75's V3 ui, ComfyAPISync and dynamic inputs are compared on era C")


def dynamic_node_classes() -> dict[str, type]:
    """V3 nodes using ``ui``, ``ComfyAPISync`` and 0.3.75's dynamic inputs, built on the
    ``comfy_api.latest`` now in ``sys.modules``."""
    latest = importlib.import_module("comfy_api.latest")
    io, ui = latest.io, latest.ui

    class DynText(io.ComfyNode):
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="DynText", inputs=[io.String.Input("value")], is_output_node=True)

        @classmethod
        def execute(cls, value: str) -> Any:
            return io.NodeOutput(ui=ui.PreviewText(value))

    class DynSaved(io.ComfyNode):
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="DynSaved", inputs=[io.String.Input("value")], outputs=[io.String.Output()],
                             is_output_node=True)

        @classmethod
        def execute(cls, value: str) -> Any:
            shown = ui.SavedImages([ui.SavedResult(value, "sub", io.FolderType.output)], is_animated=True)
            return io.NodeOutput(value, ui=shown)

    class DynMany(io.ComfyNode):
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="DynMany", inputs=[io.String.Input("value")], is_output_node=True)

        @classmethod
        def execute(cls, value: str) -> Any:
            kind = value.split(":")[0]
            if kind == "video":
                return io.NodeOutput(ui=ui.PreviewVideo([ui.SavedResult(value, "", io.FolderType.temp)]))
            if kind == "3d":
                return io.NodeOutput(ui=ui.PreviewUI3D(value, {"zoom": 2}))
            if kind == "audio":
                return io.NodeOutput(ui=ui.SavedAudios([ui.SavedResult(value, "a", io.FolderType.input)]))
            return io.NodeOutput(ui=ui.SavedImages([ui.SavedResult(value, "", io.FolderType.temp)]))

    class DynPreview(io.ComfyNode):
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="DynPreview", inputs=[io.Int.Input("height"), io.Int.Input("seed")],
                             is_output_node=True)

        @classmethod
        def execute(cls, height: int, seed: int) -> Any:
            import torch

            random.seed(seed)  # the preview's five random letters, the same on both backends
            return io.NodeOutput(ui=ui.PreviewImage(torch.full((2, height, 3, 3), 0.25), cls=cls))

    class DynBusy(io.ComfyNode):
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="DynBusy", inputs=[io.Int.Input("steps")], outputs=[io.Int.Output()])

        @classmethod
        def execute(cls, steps: int) -> Any:
            api = latest.ComfyAPISync()
            for step in range(1, steps + 1):
                api.execution.set_progress(step, steps)
            return io.NodeOutput(steps)

    class DynGrow(io.ComfyNode):
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="DynGrow", inputs=[
                io.AutogrowDynamic.Input("vals", template_input=io.Int.Input("v", display_name="V"), min=2, max=4)],
                outputs=[io.String.Output()])

        @classmethod
        def execute(cls, **kwargs: Any) -> Any:
            return io.NodeOutput(repr(sorted(kwargs.items())))

    class DynMatch(io.ComfyNode):
        @classmethod
        def define_schema(cls) -> Any:
            template = io.MatchType.Template("T", [io.Int, io.Float])
            return io.Schema(node_id="DynMatch", inputs=[io.MatchType.Input("value", template=template)],
                             outputs=[io.MatchType.Output("out", template=template)])

        @classmethod
        def execute(cls, value: Any) -> Any:
            return io.NodeOutput(value)

    class DynMulti(io.ComfyNode):
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="DynMulti", inputs=[
                io.MultiType.Input(io.Int.Input("n", default=3), types=[io.Float, io.Int])],
                outputs=[io.String.Output()])

        @classmethod
        def execute(cls, n: Any) -> Any:
            return io.NodeOutput(repr(n))

    class DynProgressText(io.ComfyNode):
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="DynProgressText", inputs=[io.String.Input("text")], outputs=[io.String.Output()],
                             hidden=[io.Hidden.unique_id])

        @classmethod
        def execute(cls, text: str) -> Any:
            server = importlib.import_module("server").PromptServer.instance
            server.send_progress_text(text, cls.hidden.unique_id)  # a str: sent as UTF-8, to every client
            server.send_progress_text(text.encode("utf-16-le"), cls.hidden.unique_id, CLIENT["client_id"])
            return io.NodeOutput(text)

    return {c.__name__: c for c in (DynText, DynSaved, DynMany, DynPreview, DynBusy, DynGrow, DynMatch, DynMulti,
                                    DynProgressText)}


def dyn_harness(runtime, backend: str):
    # ComfyUI's async_to_sync pool and copyreg's __slotnames__ are not residue (checks.residue)
    return backend_harness(runtime, backend, dynamic_node_classes)


def both(runtime, steps: list) -> tuple[list, list]:
    return run_on_both(runtime, lambda: copy.deepcopy(steps), dynamic_node_classes)


UI_PROMPT = {"1": {"class_type": "DynText", "inputs": {"value": "hello"}},
             "2": {"class_type": "DynSaved", "inputs": {"value": "a.png"}},
             "3": {"class_type": "DynMany", "inputs": {"value": "video:v.mp4"}},
             "4": {"class_type": "DynMany", "inputs": {"value": "3d:m.glb"}},
             "5": {"class_type": "DynMany", "inputs": {"value": "audio:s.flac"}},
             "6": {"class_type": "DynMany", "inputs": {"value": "still:i.png"}},
             "7": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": "passed on"}}}


def _edited(prompt: dict, node: str, name: str, value: Any) -> dict:
    edited = copy.deepcopy(prompt)
    edited[node]["inputs"][name] = value
    return edited


SERIES = {
    "ui outputs": [("first", UI_PROMPT, CLIENT), ("identical rerun", UI_PROMPT, CLIENT),
                   ("edited", _edited(UI_PROMPT, "1", "value", "bye"), CLIENT),
                   ("headless", _edited(UI_PROMPT, "1", "value", "again"), {})],
    "preview image": [("first", {"1": {"class_type": "DynPreview", "inputs": {"height": 4, "seed": 3}}},
                       {"client_id": "parity", "extra_pnginfo": {"workflow": {"id": 1}}}),
                      ("second", {"1": {"class_type": "DynPreview", "inputs": {"height": 5, "seed": 3}}}, CLIENT)],
    "ComfyAPISync progress": [
        ("first", {"1": {"class_type": "DynBusy", "inputs": {"steps": 3}},
                   "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}}, CLIENT),
        ("headless", {"1": {"class_type": "DynBusy", "inputs": {"steps": 2}},
                      "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}}, {})],
    "autogrow": [
        ("two of four", {"1": {"class_type": "CRInt", "inputs": {"value": 5}},
                         "2": {"class_type": "DynGrow", "inputs": {"v1_$vals_ag$": ["1", 0], "v2_$vals_ag$": ["1", 0]}},
                         "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}}}, CLIENT),
        ("with an optional one", {"1": {"class_type": "CRInt", "inputs": {"value": 5}},
                                  "2": {"class_type": "DynGrow", "inputs": {"v1_$vals_ag$": ["1", 0],
                                                                            "v2_$vals_ag$": ["1", 0],
                                                                            "v4_$vals_ag$": ["1", 0]}},
                                  "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}}}, CLIENT)],
    "multitype": [("widget value", {"1": {"class_type": "DynMulti", "inputs": {"n": 4}},
                                    "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}},
                   CLIENT)],
}


@pytest.mark.parametrize("name", sorted(SERIES))
def test_v3_ui_sync_and_dynamic_inputs_run_as_on_real_comfyui(runtime, name):
    mock, real = both(runtime, SERIES[name])
    diff = parity_diff(mock, real, what=name)
    assert not diff, diff
    if name == "ui outputs":
        executed = {d["node"]: d["output"] for event, d, _sid in mock[0]["sent"] if event == "executed"}
        assert executed["1"] == {"text": ["hello"]}
        assert executed["4"] == {"result": ["3d:m.glb", {"zoom": 2}]}
        assert mock[0]["history"]["outputs"]["2"] == {
            "images": [{"filename": "a.png", "subfolder": "sub", "type": "output"}], "animated": [True]}
    if name == "preview image":
        [shown] = [d["output"] for event, d, _sid in mock[0]["sent"] if event == "executed"]
        assert shown["animated"] == [False] and len(shown["images"]) == 2
        assert shown["images"][0]["filename"].startswith("ComfyUI_temp_") and shown["images"][0]["type"] == "temp"
    if name == "ComfyAPISync progress":
        values = [d["nodes"]["1"]["value"] for event, d, _sid in mock[0]["sent"]
                  if event == "progress_state" and "1" in d["nodes"]]
        assert values[:4] == [0.0, 1.0, 2.0, 3.0]


def test_send_progress_text_sends_the_same_text_message(runtime):
    """``PromptServer.instance.send_progress_text(text, node_id, sid=None)``: a ``BinaryEventTypes.TEXT``
    (3) message through ``send_sync``, the node id's length (4 bytes, big-endian), the node id, the
    text; the same bytes on both backends (``normalise`` shows bytes only as ``<bytes>``)."""
    prompt = {"7": {"class_type": "DynProgressText", "inputs": {"text": "Iteration 1 / 2 é"}},
              "8": {"class_type": "CRRecord", "inputs": {"value": ["7", 0], "label": ""}}}
    texts, records = {}, {}
    for backend in ("mock", "real"):
        with dyn_harness(runtime, backend) as harness:
            result = harness.run(copy.deepcopy(prompt), prompt_id="text", extra_data=CLIENT)
            assert result.success, result.error
            texts[backend] = [(m.event, bytes(m.data), m.sid, m.via) for m in result.messages if m.event == 3]
            records[backend] = normalise(result)
    assert texts["mock"] == texts["real"]
    assert texts["real"] == [(3, b"\x00\x00\x00\x017" + "Iteration 1 / 2 é".encode(), None, "send_sync"),
                             (3, b"\x00\x00\x00\x017" + "Iteration 1 / 2 é".encode("utf-16-le"), "parity",
                              "send_sync")]
    diff = parity_diff([records["mock"]], [records["real"]], what="progress text")
    assert not diff, diff


def test_a_preview_image_file_is_written_alike(runtime):
    files = {}
    prompt = {"1": {"class_type": "DynPreview", "inputs": {"height": 4, "seed": 5}}}
    extra = {"client_id": "parity", "extra_pnginfo": {"workflow": {"id": 2}}}
    for backend in ("mock", "real"):
        with dyn_harness(runtime, backend) as harness:
            import folder_paths
            from PIL import Image

            result = harness.run(copy.deepcopy(prompt), extra_data=extra)
            assert result.success, result.error
            seen = []
            for shown in result.outputs["1"]["images"]:
                with Image.open(Path(folder_paths.get_temp_directory(), shown["subfolder"], shown["filename"])) as png:
                    seen.append([shown["filename"], png.size, png.mode, dict(png.text), png.getpixel((0, 0))])
            files[backend] = seen
    assert files["mock"] == files["real"]
    assert files["real"][0][3]["workflow"] == '{"id": 2}'


def test_the_v1_view_of_dynamic_schemas_is_the_same(runtime):
    views = {}
    for backend in ("mock", "real"):
        with dyn_harness(runtime, backend):
            import nodes

            views[backend] = clean({name: [nodes.NODE_CLASS_MAPPINGS[name].INPUT_TYPES(),
                                           list(nodes.NODE_CLASS_MAPPINGS[name].RETURN_TYPES),
                                           list(nodes.NODE_CLASS_MAPPINGS[name].RETURN_NAMES)]
                                    for name in ("DynGrow", "DynMatch", "DynMulti")})
    assert views["mock"] == views["real"]


BAD = {
    "match type from an INT output": {"1": {"class_type": "CRInt", "inputs": {"value": 5}},
                                      "2": {"class_type": "DynMatch", "inputs": {"value": ["1", 0]}},
                                      "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}}},
    "autogrow required copy missing": {"1": {"class_type": "CRInt", "inputs": {"value": 5}},
                                       "2": {"class_type": "DynGrow", "inputs": {"v1_$vals_ag$": ["1", 0]}},
                                       "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}}},
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_dynamic_validation_errors_are_the_same(runtime, case):
    results = validate_on_both(runtime, BAD[case], "dyn", dynamic_node_classes)
    diff = parity_diff([results["mock"]], [results["real"]], what=case)
    assert not diff, diff
    [error] = results["mock"]["node_errors"]["2"]["errors"]
    expected = "return_type_mismatch" if case.startswith("match") else "required_input_missing"
    assert error["type"] == expected


def _attempts(io: Any) -> list:
    return [lambda: io.AutogrowDynamic.Input("g", template_input=io.Int.Input("v")).get_dynamic(),
            lambda: io.ComboDynamic.Input("c"),
            lambda: io.MatchType.Template("T", io.Int).as_dict(),
            lambda: io.MultiType.Input(io.Int.Input("n", default=3), types=[io.Float]).as_dict()]


def test_dynamic_inputs_fail_alike_where_0_3_75_fails(runtime):
    outcomes = {}
    for backend in ("mock", "real"):
        with dyn_harness(runtime, backend):
            seen = []
            for attempt in _attempts(importlib.import_module("comfy_api.latest").io):
                try:
                    seen.append(["ok", clean(attempt())])
                except Exception as exc:
                    seen.append([type(exc).__name__])
            outcomes[backend] = seen
    assert outcomes["mock"] == outcomes["real"]
    assert [x[0] for x in outcomes["real"]] == ["TypeError", "TypeError", "TypeError", "ok"]
