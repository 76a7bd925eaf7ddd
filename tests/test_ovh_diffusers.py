"""The diffusers workload: tiny seeded UNet/VAE nodes with ComfyUI's names, run directly and through the mock.

torch and diffusers are needed (requirements/diffusers.txt): a test here fails, saying how to
install them, when they are missing. The models are built once for the module (``built``) before
any in-process pytester run, so the inner sessions reuse this process's torch, diffusers and cache.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import struct
import subprocess
import sys
import types
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_comfyruntime.nodes import TXT2IMG_NODE_CLASS_MAPPINGS, read_png_text
from pytest_comfyruntime.overhead import diffusers_models
from pytest_comfyruntime.overhead import diffusers_workload as dw

REPO = Path(__file__).resolve().parents[1]
FIXTURE = json.loads((REPO / "fixtures" / "workflows" / "txt2img.json").read_text(encoding="utf-8"))
HEAVY = ("torch", "diffusers", "numpy", "PIL")


@pytest.fixture(scope="module")
def built() -> Iterator[dict[str, type]]:
    """The cpu/float32 node classes, with the models built and one prompt's modules imported.

    torch runs on one thread here: these tensors are too small to gain from more, and on a busy
    machine (or under xdist) torch's spinning worker threads make each prompt 10 to 50 times slower.
    """
    reason = dw.diffusers_available()
    if reason is not None:
        pytest.fail(f"{reason} (this project's tests install requirements/diffusers.txt)", pytrace=False)
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        classes = dw.diffusers_node_mappings()
        _pipeline(classes, seed=0, steps=2)
        yield classes
    finally:
        torch.set_num_threads(threads)


def _pipeline(classes: dict[str, type], *, seed: int, steps: int = 3, size: int = 32, cfg: float = 8.0,
              sampler: str = "euler", scheduler: str = "normal", denoise: float = 1.0):
    model, clip, vae = classes["CheckpointLoaderSimple"]().load_checkpoint("v1-5-pruned-emaonly.safetensors")
    (positive,) = classes["CLIPTextEncode"]().encode(clip, FIXTURE["6"]["inputs"]["text"])
    (negative,) = classes["CLIPTextEncode"]().encode(clip, FIXTURE["7"]["inputs"]["text"])
    (latent,) = classes["EmptyLatentImage"]().generate(size, size, 1)
    (sampled,) = classes["KSampler"]().sample(model, seed, steps, cfg, sampler, scheduler, positive, negative,
                                               latent, denoise)
    (images,) = classes["VAEDecode"]().decode(vae, sampled)
    return images


def _png_pixels(path: Path) -> bytes:
    """The RGB bytes of a PNG written by nodes/_png.py (filter 0 on every row)."""
    data = path.read_bytes()
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width = struct.unpack(">I", body[:4])[0]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride = zlib.decompress(idat), 3 * width + 1
    assert all(raw[k] == 0 for k in range(0, len(raw), stride))
    return b"".join(raw[k + 1:k + stride] for k in range(0, len(raw), stride))


# -- import weight and availability -------------------------------------------------------------------

def test_importing_the_module_loads_no_heavy_package():
    code = (
        "import sys\n"
        "from pytest_comfyruntime.overhead import diffusers_workload as dw\n"
        "dw.diffusers_prompt(3)\n"
        "try:\n"
        "    dw.diffusers_node_mappings(dtype='float64')\n"
        "except ValueError:\n"
        "    pass\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_reason_when_diffusers_or_torch_is_hidden():
    code = (
        "import sys\n"
        "from pytest_comfyruntime.overhead import diffusers_workload as dw\n"
        "sys.modules['torch'] = None\n"
        "print(dw.diffusers_available())\n"
        "del sys.modules['torch']\n"
        "sys.modules['diffusers'] = None\n"
        "print(dw.diffusers_available())\n"
        "try:\n"
        "    dw.diffusers_node_mappings()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    no_torch, no_diffusers, raised = out.stdout.splitlines()
    fix = "fix: pip install 'pytest-comfyruntime[diffusers]'"
    assert "torch" in no_torch and no_torch.endswith(fix)
    assert "diffusers" in no_diffusers.split(";")[0] and no_diffusers.endswith(fix)
    assert "ModuleNotFoundError" in no_diffusers
    assert raised == no_diffusers


def test_available_here(built):
    assert dw.diffusers_available() is None


# -- arguments --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "fp16", "", None, 16])
def test_bad_dtype_names_the_argument_and_the_choices(dtype):
    with pytest.raises(ValueError) as info:
        dw.diffusers_node_mappings(dtype=dtype)
    message = str(info.value)
    assert message.startswith(f"dtype={dtype!r} ")
    assert "float32, float16, bfloat16" in message


def test_bad_device_names_the_argument(built):
    with pytest.raises(ValueError) as info:
        dw.diffusers_node_mappings(device="gpu-please")
    assert str(info.value).startswith("device='gpu-please' ")


def test_prompt_is_the_bundled_graph_with_seed_steps_and_size():
    prompt = dw.diffusers_prompt(12345, steps=3, size=48)
    assert {k: v["class_type"] for k, v in prompt.items()} == {k: v["class_type"] for k, v in FIXTURE.items()}
    for node_id, node in prompt.items():
        changed = {"3": {"seed": 12345, "steps": 3}, "5": {"width": 48, "height": 48}}.get(node_id, {})
        assert node["inputs"] == {**FIXTURE[node_id]["inputs"], **changed}
    assert dw.diffusers_prompt(1)["3"]["inputs"]["steps"] == 10 and dw.diffusers_prompt(1)["5"]["inputs"]["width"] == 32
    prompt["3"]["inputs"]["seed"] = 0
    assert dw.diffusers_prompt(12345)["3"]["inputs"]["seed"] == 12345  # each call is a fresh copy


@pytest.mark.parametrize("kwargs", [{"i": -1}, {"i": 2**64}, {"i": True}, {"i": 1, "steps": 0},
                                    {"i": 1, "size": 20}, {"i": 1, "size": 8}])
def test_prompt_rejects_what_the_graph_would_not_validate(kwargs):
    with pytest.raises(ValueError):
        dw.diffusers_prompt(**kwargs)


# -- the node classes ----------------------------------------------------------------------------------

def test_classes_keep_the_stand_ins_contracts(built):
    assert set(built) == {"CheckpointLoaderSimple", "CLIPTextEncode", "EmptyLatentImage", "KSampler", "VAEDecode",
                          "SaveImage", "PreviewImage"}
    for name, cls in built.items():
        stand_in = TXT2IMG_NODE_CLASS_MAPPINGS[name]
        assert cls.__name__ == name
        assert cls is not stand_in
        assert cls.INPUT_TYPES() == stand_in.INPUT_TYPES()
        for attribute in ("RETURN_TYPES", "FUNCTION", "CATEGORY"):
            assert getattr(cls, attribute) == getattr(stand_in, attribute), (name, attribute)
        assert getattr(cls, "OUTPUT_NODE", False) == getattr(stand_in, "OUTPUT_NODE", False)
    assert built["KSampler"].VALIDATE_INPUTS(sampler_name="my_sampler", scheduler="karras") is True


def test_models_are_built_once_per_device_and_dtype(built):
    import torch

    first = built["CheckpointLoaderSimple"]().load_checkpoint("a.safetensors")
    again = dw.diffusers_node_mappings()["CheckpointLoaderSimple"]().load_checkpoint("b.safetensors")
    assert all(x is y for x, y in zip(first, again))
    half = dw.diffusers_node_mappings(dtype="bfloat16")["CheckpointLoaderSimple"]().load_checkpoint("a")
    assert half[0].unet is not first[0].unet
    assert next(half[0].unet.parameters()).dtype == torch.bfloat16
    assert next(first[0].unet.parameters()).dtype == torch.float32
    assert first[0].unet.config.in_channels == dw.LATENT_CHANNELS
    assert sum(p.numel() for p in first[0].unet.parameters()) < 2_000_000


def test_the_global_random_state_is_left_alone(built):
    import torch

    state = torch.get_rng_state()
    diffusers_models._build("cpu", "float32")
    _pipeline(built, seed=5, steps=2, sampler="euler_ancestral")
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_runs(dtype, built):
    import torch

    images = _pipeline(dw.diffusers_node_mappings(dtype=dtype), seed=3, steps=2, size=16)
    assert images.shape == (1, 16, 16, 3) and images.dtype == torch.float32
    assert bool(torch.isfinite(images).all()) and float(images.std()) > 0.01


def test_same_seed_same_pixels_other_seed_other_pixels(built):
    import torch

    one = dw.image_rgb_bytes(_pipeline(built, seed=1)[0])
    assert len(one) == 32 * 32 * 3 and len(set(one)) > 16
    assert dw.image_rgb_bytes(_pipeline(built, seed=1)[0]) == one
    assert dw.image_rgb_bytes(_pipeline(built, seed=2)[0]) != one
    batch = _pipeline(built, seed=1, sampler="ddim", scheduler="karras", denoise=0.5, cfg=1.0)
    assert batch.shape == (1, 32, 32, 3) and float(batch.min()) >= 0.0 and float(batch.max()) <= 1.0
    assert dw.image_rgb_bytes(batch[0]) != one
    assert torch.equal(_pipeline(built, seed=4, denoise=0.0), _pipeline(built, seed=5, denoise=0.0))


def test_progress_and_interruption_go_through_the_loaded_comfy_modules(built, monkeypatch):
    class Interrupted(Exception):
        pass

    calls: list[tuple[int, int]] = []

    class Bar:
        def __init__(self, total: int) -> None:
            self.total = total

        def update_absolute(self, value: int, total: int | None = None, preview: object = None) -> None:
            calls.append((value, total or self.total))

    checks = {"n": 0}

    def check() -> None:
        checks["n"] += 1
        if checks["n"] > 3:
            raise Interrupted

    monkeypatch.setitem(sys.modules, "comfy.utils", types.SimpleNamespace(ProgressBar=Bar))
    monkeypatch.setitem(sys.modules, "comfy.model_management",
                        types.SimpleNamespace(throw_exception_if_processing_interrupted=check))
    _pipeline(built, seed=1, steps=3)
    assert calls == [(1, 3), (2, 3), (3, 3)]
    with pytest.raises(Interrupted):
        _pipeline(built, seed=1, steps=3)
    assert calls[3:] == []


def test_save_and_preview_write_the_tensor_pixels(built, tmp_path, monkeypatch):
    import torch

    def get_save_image_path(prefix, output_dir, width, height):
        folder = Path(output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder), f"{prefix}_{width}x{height}", 1, "", prefix

    folder_paths = types.SimpleNamespace(get_output_directory=lambda: str(tmp_path / "output"),
                                         get_temp_directory=lambda: str(tmp_path / "temp"),
                                         get_save_image_path=get_save_image_path)
    monkeypatch.setitem(sys.modules, "folder_paths", folder_paths)
    images = torch.rand(2, 16, 24, 3, generator=torch.Generator().manual_seed(0))
    out = built["SaveImage"]().save_images(images, "b%batch_num%", prompt={"9": {}}, extra_pnginfo={"k": "v"})
    assert out == {"ui": {"images": [{"filename": "b0_24x16_00001_.png", "subfolder": "", "type": "output"},
                                     {"filename": "b1_24x16_00002_.png", "subfolder": "", "type": "output"}]}}
    for index, entry in enumerate(out["ui"]["images"]):
        path = tmp_path / "output" / entry["filename"]
        assert read_png_text(path) == {"prompt": '{"9": {}}', "k": '"v"'}
        assert _png_pixels(path) == dw.image_rgb_bytes(images[index])
    assert dw.image_rgb_bytes(torch.tensor([[[0.0, 0.5, 1.0]]])) == bytes([0, 127, 255])  # 255 * x, truncated
    (preview,) = built["PreviewImage"]().save_images(images[:1])["ui"]["images"]
    assert preview["type"] == "temp" and preview["filename"].startswith("ComfyUI_temp_")
    assert (tmp_path / "temp" / preview["filename"]).is_file()


# -- through the mock executor, eras A and C --------------------------------------------------------------

INNER = '''
import hashlib, json, os, struct, zlib
from pathlib import Path
import folder_paths
from pytest_comfyruntime.nodes import read_png_text
from pytest_comfyruntime.overhead.diffusers_workload import diffusers_node_mappings, diffusers_prompt

def test_txt2img(comfy_executor, comfy_nodes, tmp_path):
    import comfy.utils

    comfy_nodes.add_all(diffusers_node_mappings())
    steps = []
    comfy.utils.set_progress_bar_global_hook(lambda value, total, preview, node_id=None: steps.append((value, total)))
    try:
        result = comfy_executor.run(diffusers_prompt(7, steps=4), prompt_id="p1")
    finally:
        comfy.utils.set_progress_bar_global_hook(None)
    assert result.success, result.messages[-3:]
    assert sorted(result.executed_nodes) == ["3", "4", "5", "6", "7", "8", "9"]
    assert steps == [(k, 4) for k in range(1, 5)]
    (entry,) = result.outputs["9"]["images"]
    path = os.path.join(folder_paths.get_output_directory(), entry["subfolder"], entry["filename"])
    assert json.loads(read_png_text(path)["prompt"])["3"]["inputs"]["seed"] == 7
    pixels = _png_pixels(Path(path))
    with open(os.path.join(OUT, comfy_executor.era + ".txt"), "w") as handle:
        handle.write(hashlib.sha256(pixels).hexdigest() + " " + str(len(set(pixels))))
'''


def test_nodes_run_through_the_mock_executor_on_eras_a_and_c(built, pytester):
    out = pytester.mkdir("out")
    source = f"OUT = {str(out)!r}\n" + INNER + "\n" + inspect.getsource(_png_pixels)
    pytester.makepyfile(test_inner=source)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-v", "--comfyruntime-era=A,C")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_txt2img?mock-A? PASSED*", "*test_txt2img?mock-C? PASSED*"])
    era_a, era_c = (out / "A.txt").read_text().split(), (out / "C.txt").read_text().split()
    assert era_a == era_c and int(era_a[1]) > 16  # the same pixels on both eras, and not a flat image
    direct = _pipeline(built, seed=7, steps=4, cfg=8.0)
    assert hashlib.sha256(dw.image_rgb_bytes(direct[0])).hexdigest() == era_a[0]


def test_importing_the_libraries_leaves_the_environment_as_it_was() -> None:
    """torch's inductor sets TORCHINDUCTOR_CACHE_DIR on import: the workload takes it out again."""
    code = ("import os, json\n"
            "before = dict(os.environ)\n"
            "from pytest_comfyruntime.overhead.diffusers_workload import diffusers_available\n"
            "assert diffusers_available() is None\n"
            "print(json.dumps(sorted(set(os.environ.items()) ^ set(before.items()))))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
