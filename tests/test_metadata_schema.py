"""The ``ai_info.runtime`` schema (what ``comfyruntime schema metadata`` prints) and the reference
save node's output, pinned by the golden files in ``fixtures/metadata/``.

The PNG goldens are compared chunk by chunk: every chunk byte for byte except ``IDAT``, whose
inflated rows are compared (deflate's output may differ between zlib builds); sidecars and the
schema byte for byte. To regenerate them after a deliberate change:
``COMFYRUNTIME_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/test_metadata_schema.py`` (the tests then skip).
"""
from __future__ import annotations

import io
import json
import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from pydantic import ValidationError

from pytest_comfyruntime.capture import HookStats, NodeCapture, PromptCapture
from pytest_comfyruntime.cli import run_schema
from pytest_comfyruntime.metadata import AiInfo, RuntimeData, check_metadata, metadata_schema, read_metadata
from pytest_comfyruntime.nodes.metadata_save import build_runtime_section, write_image_with_runtime
from pytest_comfyruntime.nodes.txt2img import StandInImage

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "metadata"
REGENERATE = os.environ.get("COMFYRUNTIME_REGENERATE_GOLDEN") == "1"

PROMPT = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a glass bottle", "clip": ["4", 1]}},
    "10": {"class_type": "CRInt", "inputs": {"value": 20}},
    "11": {"class_type": "CRInt", "inputs": {"value": 25}},
    "12": {"class_type": "CRSwitch", "inputs": {"select": False, "on_true": ["10", 0], "on_false": ["11", 0]}},
    "3": {"class_type": "KSampler", "inputs": {"seed": 42, "steps": ["12", 0], "cfg": 7.0, "sampler_name": "euler",
                                               "scheduler": "normal", "denoise": 1.0, "model": ["4", 0],
                                               "positive": ["6", 0], "negative": ["6", 0],
                                               "latent_image": ["5", 0]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "ComfyRuntimeSaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "golden"}},
}
RESOLVED = {"4": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}, "5": {"width": 64, "height": 64, "batch_size": 1},
            "6": {"text": "a glass bottle"}, "11": {"value": 25},
            "12": {"select": False, "on_true": None, "on_false": 25},
            "3": {"seed": 42, "steps": 25, "cfg": 7.0, "sampler_name": "euler", "scheduler": "normal",
                  "denoise": 1.0},
            "8": {}, "9": {"filename_prefix": "golden", "inline_limit_kb": 32, "unique_id": "9"}}
SKIPPED = {"3": ["model", "positive", "negative", "latent_image"], "6": ["clip"], "8": ["samples", "vae"],
           "9": ["images", "prompt", "extra_pnginfo"]}


def record() -> PromptCapture:
    """A capture session as the reference capture would hand it out, with fixed timings."""
    order = ["4", "5", "6", "11", "12", "3", "8", "9"]
    nodes = {nid: NodeCapture(node_id=nid, class_type=PROMPT[nid]["class_type"], inputs=RESOLVED[nid],
                              skipped=SKIPPED.get(nid, []), started_s=0.001 * i,
                              duration_s=None if nid == "9" else 0.001)
             for i, nid in enumerate(order)}
    return PromptCapture(prompt_id="00000000-0000-4000-8000-000000000001", executor_id=1, started_at=0.0,
                         order=order, nodes=nodes, stats=HookStats(calls=17, total_s=0.0004, max_s=0.00005))


def write_goldens(folder: Path) -> dict[str, list[str]]:
    image = StandInImage(64, 64, "5e" * 32)
    section = build_runtime_section(record(), PROMPT, prompt_id=None)
    extra = {"workflow": {"id": "golden-workflow", "nodes": []}}
    written = {}
    for name, limit in (("reference_inline.png", 32), ("reference_sidecar.png", 1)):
        written[name] = write_image_with_runtime(folder / name, image, prompt=PROMPT, extra_pnginfo=extra,
                                                 section=section, inline_limit_kb=limit)
    return written


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    pos, chunks, idat = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos:pos + 12 + length]
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        else:
            chunks.append((kind, body))
        pos += 12 + length
    return [*chunks, (b"IDAT (inflated)", zlib.decompress(idat))]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    folder = tmp_path_factory.mktemp("golden")
    return folder, write_goldens(folder)


def test_regenerate_goldens_when_asked(written) -> None:
    if not REGENERATE:
        pytest.skip("set COMFYRUNTIME_REGENERATE_GOLDEN=1 to rewrite fixtures/metadata/")
    folder, files = written
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for paths in files.values():
        for path in paths:
            shutil.copyfile(path, GOLDEN / Path(path).name)
    buffer = io.StringIO()
    run_schema("metadata", out=buffer)
    (GOLDEN / "ai_info.schema.json").write_text(buffer.getvalue(), encoding="utf-8")


@pytest.mark.skipif(REGENERATE, reason="regenerating")
@pytest.mark.parametrize("name", ["reference_inline.png", "reference_sidecar.png"])
def test_the_reference_writer_matches_its_golden_file(written, name: str) -> None:
    folder, files = written
    assert [Path(p).name for p in files[name]] == [name] + ([f"{name}.runtime.json"] if "sidecar" in name else [])
    assert png_chunks((folder / name).read_bytes()) == png_chunks((GOLDEN / name).read_bytes())
    for extra in files[name][1:]:
        assert Path(extra).read_bytes() == (GOLDEN / Path(extra).name).read_bytes()


@pytest.mark.skipif(REGENERATE, reason="regenerating")
def test_the_golden_files_pass_the_check(tmp_path: Path) -> None:
    for name in os.listdir(GOLDEN):
        shutil.copyfile(GOLDEN / name, tmp_path / name)
    expect = record()
    inline = check_metadata(tmp_path / "reference_inline.png", expect=expect, env={})
    sidecar = check_metadata(tmp_path / "reference_sidecar.png", expect=expect, inline_limit_kb=1, env={})
    assert inline.ok and sidecar.ok, inline.message() + sidecar.message()
    assert [(f.placement, f.capture_mode) for f in (*inline.files, *sidecar.files)] == \
        [("inline", "parser+hooks"), ("sidecar", "parser+hooks")]
    assert inline.disagreements == ["Disagreement at 'ai_info.runtime.nodes.3.inputs.steps': parser=20 → runtime=25"]
    runtime = read_metadata(tmp_path / "reference_inline.png").json("ai_info")["runtime"]
    assert runtime["disagreements"] == [{"path": "ai_info.runtime.nodes.3.inputs.steps", "parser": 20, "runtime": 25}]
    assert runtime["nodes"]["3"]["inputs"]["steps"] == 25 and "10" not in runtime["nodes"]


@pytest.mark.skipif(REGENERATE, reason="regenerating")
def test_the_cli_prints_the_schema_pinned_in_fixtures() -> None:
    buffer = io.StringIO()
    assert run_schema("metadata", out=buffer) == 0
    assert buffer.getvalue() == (GOLDEN / "ai_info.schema.json").read_text(encoding="utf-8")
    schema = json.loads(buffer.getvalue())
    assert schema["required"] == ["runtime"] and {"RuntimeSection", "RuntimeData", "SidecarRef"} <= set(
        schema["$defs"])


def section(**changes: object) -> dict:
    base = {"version": 1, "prompt_id": "p", "capture_mode": "parser+hooks", "execution_order": ["1"],
            "nodes": {"1": {"class_type": "CRInt", "inputs": {"value": 2}}},
            "hook_stats": {"calls": 2, "total_s": 0.001, "max_s": 0.0005}}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


SIDECAR = {"path": "x.png.runtime.json", "size": 10, "sha256": "0" * 64}
STUB = {"version": 1, "prompt_id": "p", "capture_mode": "parser+hooks", "sidecar": SIDECAR}
INVALID = [
    ("sidecar_and_inline", section(sidecar=SIDECAR), "both a sidecar and inline data (execution_order, nodes, "
     "hook_stats); keep the data in one place"),
    ("hooks_without_stats", section(hook_stats=...), "capture_mode 'parser+hooks' needs hook_stats"),
    ("parser_with_stats", section(capture_mode="parser"), "capture_mode 'parser' with hook_stats: no hooks ran, or "
     "the mode is wrong"),
    ("node_not_in_order", section(execution_order=["2"]), "nodes ['1'] have runtime inputs but are not in "
     "execution_order"),
    ("absolute_sidecar", {**STUB, "sidecar": {**SIDECAR, "path": "/etc/x.json"}}, "'/etc/x.json' is not a relative "
     "path"),
    ("escaping_sidecar", {**STUB, "sidecar": {**SIDECAR, "path": "a/../../x.json"}}, "'a/../../x.json' leads outside "
     "the image's folder"),
    ("bad_hash", {**STUB, "sidecar": {**SIDECAR, "sha256": "XYZ"}}, "String should match pattern '^[0-9a-f]{64}$'"),
    ("max_over_total", section(hook_stats={"calls": 1, "total_s": 0.001, "max_s": 0.002}), "max_s (0.002) is more "
     "than total_s (0.001)"),
    ("unknown_mode", section(capture_mode="hooks"), "Input should be 'parser' or 'parser+hooks'"),
    ("unknown_field", section(extra=1), "Extra inputs are not permitted"),
    ("no_data", section(nodes=...), "'nodes' is missing: the section holds neither the data nor a sidecar "
     "reference"),
]


@pytest.mark.parametrize("runtime, message", [i[1:] for i in INVALID], ids=[i[0] for i in INVALID])
def test_the_schema_refuses(runtime: dict, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AiInfo.model_validate({"runtime": runtime})
    assert message in str(caught.value)


def test_the_schema_accepts_inline_data_a_sidecar_stub_and_parser_mode() -> None:
    assert AiInfo.model_validate({"runtime": section(), "generation": {"steps": 20}}).runtime.inline
    assert not AiInfo.model_validate({"runtime": STUB}).runtime.inline
    parser = section(capture_mode="parser", prompt_id=None, execution_order=None, hook_stats=...)
    assert AiInfo.model_validate({"runtime": parser}).runtime.capture_mode == "parser"
    assert RuntimeData.model_validate(section()).nodes["1"].inputs == {"value": 2}
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        RuntimeData.model_validate({**section(), "sidecar": SIDECAR})
    assert metadata_schema()["$defs"]["RuntimeData"]["title"] == "RuntimeData"
