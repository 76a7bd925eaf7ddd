"""The built-in node packs, called directly (no executor): the CR test pack and the txt2img stand-ins."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from pytest_comfyruntime.nodes import (
    ANY,
    TEST_NODE_CLASS_MAPPINGS,
    TEST_NODE_DISPLAY_NAME_MAPPINGS,
    TXT2IMG_NODE_CLASS_MAPPINGS,
    TXT2IMG_NODE_DISPLAY_NAME_MAPPINGS,
    basic,
    read_png_text,
    txt2img,
)
from pytest_comfyruntime.nodes._png import png_bytes, read_png_size, write_png

REPO = Path(__file__).resolve().parents[1]
ALL_CLASSES = {**TEST_NODE_CLASS_MAPPINGS, **TXT2IMG_NODE_CLASS_MAPPINGS}


# -- import weight ----------------------------------------------------------------------------------

def test_importing_the_packs_loads_nothing_heavy():
    code = (
        "import sys; import pytest_comfyruntime.nodes, pytest_comfyruntime.workflows; "
        "heavy = {'torch', 'numpy', 'PIL', 'diffusers', 'folder_paths', 'nodes', 'execution', 'comfy', 'server'}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- protocol shape of every class ------------------------------------------------------------------

@pytest.mark.parametrize("class_type", sorted(ALL_CLASSES))
def test_class_follows_the_v1_node_protocol(class_type):
    cls = ALL_CLASSES[class_type]
    declared = cls.INPUT_TYPES()
    assert isinstance(declared["required"], dict)  # era A reads ["required"] directly
    assert set(declared) <= {"required", "optional", "hidden"}
    for section in ("required", "optional"):
        for name, spec in declared.get(section, {}).items():
            assert isinstance(spec, tuple) and 1 <= len(spec) <= 2, (name, spec)
            assert isinstance(spec[0], (str, list)), (name, spec)
            if len(spec) == 2:
                assert isinstance(spec[1], dict)
    for name, value in declared.get("hidden", {}).items():
        assert value in {"PROMPT", "EXTRA_PNGINFO", "UNIQUE_ID"}, (name, value)
    assert isinstance(cls.RETURN_TYPES, tuple)
    assert callable(getattr(cls, cls.FUNCTION))
    assert isinstance(cls.CATEGORY, str)
    json.dumps(declared)  # what /object_info would send


def test_cr_names_and_display_names():
    assert all(name.startswith("CR") for name in TEST_NODE_CLASS_MAPPINGS)
    assert set(TEST_NODE_DISPLAY_NAME_MAPPINGS) == set(TEST_NODE_CLASS_MAPPINGS)
    assert set(TXT2IMG_NODE_DISPLAY_NAME_MAPPINGS) == set(TXT2IMG_NODE_CLASS_MAPPINGS)
    assert {n for n, c in TEST_NODE_CLASS_MAPPINGS.items() if getattr(c, "OUTPUT_NODE", False)} == {"CRRecord"}
    assert CR_EXPECTED_NAMES == set(TEST_NODE_CLASS_MAPPINGS)


CR_EXPECTED_NAMES = {"CRInt", "CRFloat", "CRString", "CRAdd", "CRMultiply", "CRJoin", "CRSwitch", "CRFail",
                     "CRBurn", "CRChanging", "CRRange", "CRSum", "CRRecord"}


def test_mappings_are_read_only():
    with pytest.raises(TypeError):
        TEST_NODE_CLASS_MAPPINGS["X"] = object  # type: ignore[index]
    with pytest.raises(TypeError):
        TXT2IMG_NODE_CLASS_MAPPINGS["X"] = object  # type: ignore[index]


# -- the ANY type -----------------------------------------------------------------------------------

@pytest.mark.parametrize("other", ["INT", "STRING", "IMAGE", "*", "INT,FLOAT"])
def test_any_links_both_ways_under_every_eras_comparison(other):
    # Eras A and B: ``received_type != input_type`` means mismatch.
    assert not (other != ANY)
    assert not (ANY != other)
    # Era C: validate_node_input returns True first thing when ``not received_type != input_type``.
    assert not other != ANY and not ANY != other
    assert ANY == "*" and hash(ANY) == hash("*") and json.dumps([ANY]) == '["*"]'


def test_concrete_types_still_mismatch():
    assert "INT" != "STRING"
    assert basic.CRJoin.INPUT_TYPES()["required"]["a"][0] != basic.CRInt.RETURN_TYPES[0]


# -- the CR pack, one node at a time ----------------------------------------------------------------

def test_constants_and_arithmetic():
    assert basic.CRInt().run(7) == (7,)
    assert basic.CRFloat().run(2.5) == (2.5,)
    assert basic.CRString().run("x") == ("x",)
    assert basic.CRAdd().run(2, 3) == (5,)
    assert basic.CRMultiply().run(4, 5) == (20,)
    assert basic.CRJoin().run("a", "b", "-") == ("a-b",)


def test_switch_picks_and_asks_only_for_the_chosen_branch():
    node = basic.CRSwitch()
    assert node.run(True, "t", "f") == ("t",)
    assert node.run(False, "t", "f") == ("f",)
    assert node.check_lazy_status(True, None, None) == ["on_true"]
    assert node.check_lazy_status(False, None, None) == ["on_false"]
    assert node.check_lazy_status(True, "t", None) == []
    lazy = basic.CRSwitch.INPUT_TYPES()["required"]
    assert lazy["on_true"][1] == {"lazy": True} and lazy["on_false"][1] == {"lazy": True}


def test_fail_raises_value_error_with_the_message():
    with pytest.raises(ValueError, match="^boom$"):
        basic.CRFail().run(1, "boom")


def test_burn_spends_cpu_time_and_passes_the_value_on():
    start = time.thread_time_ns()
    assert basic.CRBurn().run("v", 3000) == ("v",)
    assert time.thread_time_ns() - start >= 3_000_000
    assert basic.CRBurn().run(None, 0) == (None,)


def test_changing_reports_its_token_as_is_changed():
    assert basic.CRChanging.IS_CHANGED(token="a") == "a"
    # era A passes hidden and linked inputs too; B and C pass linked inputs as None
    assert basic.CRChanging.IS_CHANGED(token="b", value=None, extra=1) == "b"
    assert basic.CRChanging().run("tok") == ("tok",)
    assert basic.CRChanging().run("tok", 5) == (5,)
    assert basic.CRChanging.INPUT_TYPES()["optional"]["value"][0] is ANY


def test_range_outputs_a_list_and_sum_takes_the_whole_list():
    assert basic.CRRange.OUTPUT_IS_LIST == (True,)
    assert basic.CRRange().run(1, 4, 2) == ([1, 3, 5, 7],)
    assert basic.CRRange().run(5, 0, 1) == ([],)
    assert basic.CRSum.INPUT_IS_LIST is True
    assert basic.CRSum().run([1, 3, 5, 7]) == (16,)


def test_record_reports_value_id_and_label_as_mergeable_ui_lists():
    out = basic.CRRecord().run(5, "label", unique_id="4")
    assert out == {"ui": {"value": [5], "type": ["int"], "unique_id": ["4"], "label": ["label"]}, "result": ()}
    assert basic.CRRecord.INPUT_TYPES()["hidden"] == {"unique_id": "UNIQUE_ID"}
    assert basic.CRRecord.RETURN_TYPES == () and basic.CRRecord.OUTPUT_NODE is True
    json.dumps(out["ui"])


def test_record_falls_back_to_repr_for_values_json_cannot_carry():
    value = txt2img.StandInTensor((1, 2), "ab")
    ui = basic.CRRecord().run(value, "", unique_id="9")["ui"]
    assert ui["value"] == [repr(value)] and ui["type"] == ["StandInTensor"]
    json.dumps(ui)


def test_nodes_keep_no_state_between_instances():
    first = basic.CRRecord().run(1, "a", unique_id="1")
    second = basic.CRRecord().run(2, "b", unique_id="2")
    assert first["ui"]["value"] == [1] and second["ui"]["value"] == [2]
    assert not [k for k, v in vars(basic).items() if isinstance(v, (list, dict, set)) and not k.startswith("__")]


# -- txt2img stand-ins: real names, inputs, outputs ----------------------------------------------------

REAL_SHAPE = {
    # class_type: (required inputs in order, hidden, RETURN_TYPES, FUNCTION, CATEGORY, OUTPUT_NODE)
    "CheckpointLoaderSimple": (["ckpt_name"], {}, ("MODEL", "CLIP", "VAE"), "load_checkpoint", "loaders", False),
    "CLIPTextEncode": (["text", "clip"], {}, ("CONDITIONING",), "encode", "conditioning", False),
    "EmptyLatentImage": (["width", "height", "batch_size"], {}, ("LATENT",), "generate", "latent", False),
    "KSampler": (["model", "seed", "steps", "cfg", "sampler_name", "scheduler", "positive", "negative",
                  "latent_image", "denoise"], {}, ("LATENT",), "sample", "sampling", False),
    "VAEDecode": (["samples", "vae"], {}, ("IMAGE",), "decode", "latent", False),
    "SaveImage": (["images", "filename_prefix"], {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}, (),
                  "save_images", "image", True),
    "PreviewImage": (["images"], {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}, (), "save_images",
                     "image", True),
}


@pytest.mark.parametrize("class_type", sorted(REAL_SHAPE))
def test_txt2img_classes_have_comfyuis_interface(class_type):
    required, hidden, returns, function, category, output_node = REAL_SHAPE[class_type]
    cls = TXT2IMG_NODE_CLASS_MAPPINGS[class_type]
    declared = cls.INPUT_TYPES()
    assert list(declared["required"]) == required
    assert declared.get("hidden", {}) == hidden
    assert cls.RETURN_TYPES == returns and cls.FUNCTION == function and cls.CATEGORY == category
    assert getattr(cls, "OUTPUT_NODE", False) is output_node


def test_ksampler_and_latent_input_types_match_comfyui():
    req = txt2img.KSampler.INPUT_TYPES()["required"]
    assert req["seed"][0] == "INT" and req["seed"][1]["max"] == 0xFFFFFFFFFFFFFFFF
    assert req["steps"][1]["min"] == 1 and req["cfg"][0] == "FLOAT" and req["denoise"][1]["max"] == 1.0
    assert {"euler", "euler_ancestral", "dpmpp_2m", "ddim", "uni_pc_bh2", "lcm"} <= set(req["sampler_name"][0])
    schedulers = {"normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform", "beta"}
    assert schedulers <= set(req["scheduler"][0])
    latent = txt2img.EmptyLatentImage.INPUT_TYPES()["required"]
    assert latent["width"][1] == {"default": 512, "min": 16, "max": 16384, "step": 8,
                                  "tooltip": "The width of the latent images in pixels."}


def test_any_checkpoint_sampler_and_scheduler_name_validates():
    assert txt2img.CheckpointLoaderSimple.VALIDATE_INPUTS(ckpt_name="anything/at all.safetensors") is True
    assert txt2img.KSampler.VALIDATE_INPUTS(sampler_name="my_sampler", scheduler="my_scheduler") is True
    assert "non-empty" in txt2img.CheckpointLoaderSimple.VALIDATE_INPUTS(ckpt_name="")
    assert "sampler_name" in txt2img.KSampler.VALIDATE_INPUTS(sampler_name=None, scheduler="x")


def test_checkpoint_list_extends_with_what_folder_paths_lists(monkeypatch):
    base = txt2img.CheckpointLoaderSimple.INPUT_TYPES()["required"]["ckpt_name"][0]
    assert "v1-5-pruned-emaonly.safetensors" in base
    fake = types.ModuleType("folder_paths")
    fake.get_filename_list = lambda folder: ["mine.safetensors", base[0]] if folder == "checkpoints" else []
    monkeypatch.setitem(sys.modules, "folder_paths", fake)
    names = txt2img.CheckpointLoaderSimple.INPUT_TYPES()["required"]["ckpt_name"][0]
    assert names == [*base, "mine.safetensors"]


def _pipeline(seed=1, steps=3, text="a cat", width=64, height=48, batch=2, ckpt="m.safetensors"):
    model, clip, vae = txt2img.CheckpointLoaderSimple().load_checkpoint(ckpt)
    (positive,) = txt2img.CLIPTextEncode().encode(clip, text)
    (negative,) = txt2img.CLIPTextEncode().encode(clip, "bad")
    (latent,) = txt2img.EmptyLatentImage().generate(width, height, batch)
    (sampled,) = txt2img.KSampler().sample(model, seed, steps, 8.0, "euler", "normal", positive, negative, latent, 1.0)
    (images,) = txt2img.VAEDecode().decode(vae, sampled)
    return latent, sampled, images


def test_pipeline_shapes_follow_comfyui():
    latent, sampled, images = _pipeline(width=64, height=48, batch=2)
    assert latent["samples"].shape == (2, 4, 6, 8)
    assert sampled["samples"].shape == (2, 4, 6, 8)
    assert images.shape == (2, 48, 64, 3) and len(images) == 2
    assert images[0].shape == (48, 64, 3)
    (cond,) = txt2img.CLIPTextEncode().encode(txt2img.StandInClip("m", "00" * 32), "x")
    assert isinstance(cond, list) and isinstance(cond[0][1], dict) and "pooled_output" in cond[0][1]


def test_pipeline_is_deterministic_and_depends_on_its_inputs():
    digests = lambda **kw: [im.digest for im in _pipeline(**kw)[2]]  # noqa: E731
    assert digests() == digests()
    assert digests()[0] != digests()[1]  # batch items differ
    for change in ({"seed": 2}, {"steps": 4}, {"text": "a dog"}, {"ckpt": "other.ckpt"}):
        assert digests(**change) != digests(), change


def test_clip_text_encode_rejects_a_missing_clip_like_comfyui():
    with pytest.raises(RuntimeError, match="clip input is invalid: None"):
        txt2img.CLIPTextEncode().encode(None, "x")


def test_ksampler_reports_progress_and_honours_interrupts(monkeypatch):
    calls = []

    class Interrupted(Exception):
        pass

    state = {"interrupt": False}
    utils = types.ModuleType("comfy.utils")

    class ProgressBar:
        def __init__(self, total):
            self.total = total

        def update_absolute(self, value, total=None, preview=None):
            calls.append((value, total))
            if value == 2:
                state["interrupt"] = True

    utils.ProgressBar = ProgressBar
    management = types.ModuleType("comfy.model_management")

    def throw():
        if state["interrupt"]:
            raise Interrupted

    management.throw_exception_if_processing_interrupted = throw
    monkeypatch.setitem(sys.modules, "comfy.utils", utils)
    monkeypatch.setitem(sys.modules, "comfy.model_management", management)
    with pytest.raises(Interrupted):
        _pipeline(steps=5)
    assert calls == [(1, 5), (2, 5)]


# -- SaveImage / PreviewImage with a stand-in folder_paths -----------------------------------------------

def _fake_folder_paths(base: Path) -> types.ModuleType:
    """A tiny folder_paths with ComfyUI's get_save_image_path return shape."""
    module = types.ModuleType("folder_paths")
    module.get_output_directory = lambda: str(base / "output")
    module.get_temp_directory = lambda: str(base / "temp")

    def get_save_image_path(filename_prefix, output_dir, image_width=0, image_height=0):
        filename_prefix = filename_prefix.replace("%width%", str(image_width)).replace("%height%", str(image_height))
        subfolder = os.path.dirname(os.path.normpath(filename_prefix))
        filename = os.path.basename(os.path.normpath(filename_prefix))
        full_output_folder = os.path.join(output_dir, subfolder)
        os.makedirs(full_output_folder, exist_ok=True)
        counter = 1 + sum(1 for f in os.listdir(full_output_folder) if f.startswith(filename + "_"))
        return full_output_folder, filename, counter, subfolder, filename_prefix

    module.get_save_image_path = get_save_image_path
    return module


@pytest.fixture
def folder_paths(tmp_path, monkeypatch):
    module = _fake_folder_paths(tmp_path)
    monkeypatch.setitem(sys.modules, "folder_paths", module)
    return tmp_path


PROMPT = {"9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "x", "images": ["8", 0]},
                "_meta": {"title": "Save Image"}}}


def test_save_image_writes_pngs_with_comfyuis_metadata(folder_paths):
    _, _, images = _pipeline(width=32, height=24, batch=2)
    extra = {"workflow": {"nodes": [], "links": []}, "note": "été"}
    out = txt2img.SaveImage().save_images(images, "run/img", prompt=PROMPT, extra_pnginfo=extra)
    assert out == {"ui": {"images": [
        {"filename": "img_00001_.png", "subfolder": "run", "type": "output"},
        {"filename": "img_00002_.png", "subfolder": "run", "type": "output"},
    ]}}
    path = folder_paths / "output" / "run" / "img_00001_.png"
    text = read_png_text(path)
    assert list(text) == ["prompt", "workflow", "note"]
    assert text["prompt"] == json.dumps(PROMPT)
    assert json.loads(text["workflow"]) == extra["workflow"]
    assert json.loads(text["note"]) == "été"  # json.dumps escapes it, so it stays a tEXt chunk
    assert read_png_size(path) == (32, 24)
    again = txt2img.SaveImage().save_images(images, "run/img", prompt=None, extra_pnginfo=None)
    assert [i["filename"] for i in again["ui"]["images"]] == ["img_00003_.png", "img_00004_.png"]
    assert read_png_text(folder_paths / "output" / "run" / "img_00003_.png") == {}


def test_save_image_substitutes_batch_number_and_size(folder_paths):
    _, _, images = _pipeline(width=32, height=24, batch=2)
    out = txt2img.SaveImage().save_images(images, "b%batch_num%_%width%x%height%")
    assert [i["filename"] for i in out["ui"]["images"]] == ["b0_32x24_00001_.png", "b1_32x24_00002_.png"]


def test_save_image_reads_the_directory_when_it_runs(folder_paths, tmp_path_factory, monkeypatch):
    node = txt2img.SaveImage()
    other = tmp_path_factory.mktemp("other")
    monkeypatch.setitem(sys.modules, "folder_paths", _fake_folder_paths(other))
    _, _, images = _pipeline(width=16, height=16, batch=1)
    node.save_images(images, "late")
    assert (other / "output" / "late_00001_.png").is_file()


def test_disable_metadata_is_honoured(folder_paths, monkeypatch):
    cli_args = types.ModuleType("comfy.cli_args")
    cli_args.args = types.SimpleNamespace(disable_metadata=True)
    monkeypatch.setitem(sys.modules, "comfy.cli_args", cli_args)
    _, _, images = _pipeline(width=16, height=16, batch=1)
    txt2img.SaveImage().save_images(images, "nometa", prompt=PROMPT, extra_pnginfo={"a": 1})
    assert read_png_text(folder_paths / "output" / "nometa_00001_.png") == {}


def test_preview_image_writes_to_temp(folder_paths):
    _, _, images = _pipeline(width=16, height=16, batch=1)
    node = txt2img.PreviewImage()
    assert node.prefix_append.startswith("_temp_") and len(node.prefix_append) == 11
    out = node.save_images(images, prompt=PROMPT)
    (entry,) = out["ui"]["images"]
    assert entry["type"] == "temp" and entry["subfolder"] == ""
    assert entry["filename"].startswith("ComfyUI_temp_") and entry["filename"].endswith("_00001_.png")
    assert read_png_text(folder_paths / "temp" / entry["filename"]) == {"prompt": json.dumps(PROMPT)}


def test_pillow_reads_the_stand_in_pngs(folder_paths):
    image_module = pytest.importorskip("PIL.Image")
    _, _, images = _pipeline(width=40, height=24, batch=1)
    txt2img.SaveImage().save_images(images, "pil", prompt=PROMPT, extra_pnginfo={"k": "v"})
    with image_module.open(folder_paths / "output" / "pil_00001_.png") as im:
        im.load()
        assert im.size == (40, 24) and im.mode == "RGB"
        assert im.text == {"prompt": json.dumps(PROMPT), "k": '"v"'}


# -- the PNG helpers ------------------------------------------------------------------------------------

def test_png_text_roundtrip_latin1_and_unicode(tmp_path):
    path = tmp_path / "t.png"
    rows = [bytes([10, 20, 30]) * 3] * 2
    write_png(path, 3, 2, rows, [("a", "plain"), ("b", "café"), ("c", "snow ☃")])
    assert read_png_text(path) == {"a": "plain", "b": "café", "c": "snow ☃"}
    assert read_png_size(path) == (3, 2)


def test_png_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="row 0"):
        png_bytes(2, 1, [b"\x00" * 5])
    with pytest.raises(ValueError, match="rows"):
        png_bytes(1, 2, [b"\x00" * 3])
    bad = tmp_path / "x.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="not a PNG"):
        read_png_text(bad)


def test_png_reader_handles_ztxt_and_compressed_itxt(tmp_path):
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    base = png_bytes(1, 1, [b"\x00\x00\x00"])
    iend = chunk(b"IEND", b"")
    extra = (chunk(b"zTXt", b"z\x00\x00" + zlib.compress(b"zipped"))
             + chunk(b"iTXt", b"i\x00\x01\x00en\x00\x00" + zlib.compress("ü".encode())))
    path = tmp_path / "z.png"
    path.write_bytes(base[: -len(iend)] + extra + iend)
    assert read_png_text(path) == {"z": "zipped", "i": "ü"}
