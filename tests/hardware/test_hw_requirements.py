"""Marker arguments: validated, merged; a wrong one names the marker and the argument."""
from __future__ import annotations

import pytest

from pytest_comfyruntime.hardware import MarkerError, requirement_from_marks
from pytest_comfyruntime.hardware.requirements import MARKERS

mark = pytest.mark


def req(*decorators: pytest.MarkDecorator):
    return requirement_from_marks(d.mark for d in decorators)


def test_no_hardware_marker_no_requirement() -> None:
    assert req(mark.skip, mark.parametrize("x", [1])) is None


def test_each_marker() -> None:
    assert req(mark.gpu).device == "gpu"
    assert req(mark.mps).device == "mps"
    cuda = req(mark.cuda(min_capability=(8, 6)))
    assert (cuda.device, cuda.min_capability) == ("cuda", (8, 6))
    assert req(mark.cuda((9, 0))).min_capability == (9, 0)
    assert req(mark.cuda(min_capability="7.5")).min_capability == (7, 5)
    assert req(mark.cuda).min_capability is None
    assert req(mark.bf16).dtype == "bfloat16" and req(mark.bf16).device is None
    vram = req(mark.vram(8000))
    assert (vram.vram_mb, vram.device) == (8000, "gpu")
    assert req(mark.vram(min_mb=100)).vram_mb == 100
    multi = req(mark.multi_gpu(4))
    assert (multi.gpus, multi.device) == (4, "cuda") and req(mark.multi_gpu).gpus == 2
    hw = req(mark.hardware(device="cuda", dtype="fp16", vram_mb=2000, on_missing="downgrade"))
    assert (hw.device, hw.dtype, hw.vram_mb) == ("cuda", "float16", 2000)
    assert hw.policy == {"device": "downgrade", "dtype": "downgrade", "vram": "downgrade"}
    assert req(mark.hardware(device="cpu", vram_mb=100)).device == "cpu"  # vram_mb on the CPU means RAM


def test_merging_takes_the_stricter_need_and_policy() -> None:
    merged = req(mark.cuda(min_capability=(8, 0), on_missing="downgrade"), mark.gpu(on_missing="fail"),
                 mark.cuda(min_capability=(9, 0)), mark.vram(4000, on_missing="downgrade"), mark.vram(16000),
                 mark.multi_gpu(2), mark.multi_gpu(3), mark.hardware(dtype="bf16", on_missing="downgrade"))
    assert merged.device == "cuda" and merged.min_capability == (9, 0)
    assert merged.vram_mb == 16000 and merged.gpus == 3 and merged.dtype == "bfloat16"
    assert merged.policy == {"device": "fail", "vram": "skip", "gpus": "skip", "dtype": "downgrade"}
    assert merged.origin["device"] == "@pytest.mark.cuda(min_capability=(8, 0), on_missing='downgrade')"
    assert merged.origin["vram"] == "@pytest.mark.vram(16000)"


@pytest.mark.parametrize(("decorator", "message"), [
    (mark.vram, "@pytest.mark.vram: min_mb is required, e.g. @pytest.mark.vram(8000)"),
    (mark.vram("lots"), "@pytest.mark.vram('lots'): min_mb='lots' must be a positive whole number"),
    (mark.vram(0), "min_mb=0 must be a positive whole number"),
    (mark.vram(True), "min_mb=True must be a positive whole number"),
    (mark.vram(10, 20), "takes at most 1 positional argument (min_mb), got 2"),
    (mark.vram(10, min_mb=20), "min_mb given twice"),
    (mark.cuda(min_capability=8), "min_capability=8 must be a (major, minor) tuple such as (8, 0)"),
    (mark.cuda(min_capability=(8, 0, 1)), "min_capability=(8, 0, 1) must be"),
    (mark.cuda(capability=(8, 0)), "unknown argument(s) capability; accepted: min_capability=, on_missing="),
    (mark.gpu(2), "@pytest.mark.gpu(2): takes keyword arguments only, got 1"),
    (mark.gpu(on_missing="ignore"), "on_missing='ignore' is not one of 'skip', 'downgrade', 'fail'"),
    (mark.multi_gpu(1), "n=1 is not several GPUs; use @pytest.mark.cuda for one"),
    (mark.multi_gpu(n="2"), "n='2' must be a positive whole number"),
    (mark.bf16(dtype="fp16"), "unknown argument(s) dtype; accepted: on_missing="),
    (mark.hardware, "@pytest.mark.hardware: give at least one of device=, dtype=, vram_mb="),
    (mark.hardware("cuda"), "takes keyword arguments only, got 1"),
    (mark.hardware(device="tpu"), "device='tpu' is not one of 'cpu', 'gpu', 'cuda', 'mps'"),
    (mark.hardware(dtype="int8"), "dtype=: unknown dtype 'int8'"),
    (mark.hardware(vram_mb=-5), "vram_mb=-5 must be a positive whole number"),
])
def test_wrong_arguments_name_marker_and_argument(decorator: pytest.MarkDecorator, message: str) -> None:
    with pytest.raises(MarkerError) as info:
        req(decorator)
    assert message in str(info.value)


@pytest.mark.parametrize(("first", "second", "message"), [
    (mark.mps, mark.cuda, "@pytest.mark.cuda: conflicts with @pytest.mark.mps (device cuda and mps)"),
    (mark.hardware(device="cpu"), mark.gpu, "conflicts with @pytest.mark.hardware(device='cpu') (device gpu and cpu)"),
    (mark.bf16, mark.hardware(dtype="fp16"), "conflicts with @pytest.mark.bf16 (dtype float16 and bfloat16)"),
])
def test_conflicting_markers(first: pytest.MarkDecorator, second: pytest.MarkDecorator, message: str) -> None:
    with pytest.raises(MarkerError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        req(first, second)


def test_every_marker_has_a_registration_line() -> None:
    assert set(MARKERS) == {"gpu", "cuda", "bf16", "vram", "multi_gpu", "mps", "hardware"}
    assert all(line.startswith(name + "(") for name, line in MARKERS.items())
