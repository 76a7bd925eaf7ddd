"""Every marker path, decided on simulated hardware: run, downgrade (to what), skip or fail (and why)."""
from __future__ import annotations

import pytest

from pytest_comfyruntime.hardware import Capabilities, DeviceInfo, decide, parse_hardware_spec, requirement_from_marks

mark = pytest.mark
A100 = "cuda:sm_80:40GB"


def run(spec: str | Capabilities, *decorators: pytest.MarkDecorator):
    caps = parse_hardware_spec(spec) if isinstance(spec, str) else spec
    return decide(requirement_from_marks(d.mark for d in decorators), caps)


@pytest.mark.parametrize(("spec", "decorators", "device", "dtype"), [
    ("cpu", (), "cpu", "float32"),
    (A100, (), "cuda:0", "bfloat16"),
    ("mps", (), "mps", "float16"),
    (A100, (mark.gpu,), "cuda:0", "bfloat16"),
    ("mps", (mark.gpu,), "mps", "float16"),
    (A100, (mark.cuda(min_capability=(8, 0)),), "cuda:0", "bfloat16"),
    ("cuda:sm_75", (mark.cuda,), "cuda:0", "float16"),
    (A100, (mark.bf16,), "cuda:0", "bfloat16"),
    ("cuda:sm_86:wsl2", (mark.bf16,), "cuda:0", "bfloat16"),
    (A100, (mark.vram(30000),), "cuda:0", "bfloat16"),
    ("mps:32GB", (mark.vram(30000),), "mps", "float16"),
    ("cuda:sm_80:x4", (mark.multi_gpu(4),), "cuda:0", "bfloat16"),
    ("mps", (mark.mps,), "mps", "float16"),
    (A100, (mark.hardware(device="cpu"),), "cpu", "float32"),
    (A100, (mark.hardware(device="cuda", dtype="fp16", vram_mb=1000),), "cuda:0", "float16"),
    ("cpu:ram=64GB", (mark.hardware(device="cpu", vram_mb=32000),), "cpu", "float32"),
])
def test_runs_as_asked(spec: str, decorators: tuple[pytest.MarkDecorator, ...], device: str, dtype: str) -> None:
    decision = run(spec, *decorators)
    assert decision.outcome == "run", decision.reason
    assert (decision.target.device, decision.target.dtype, decision.target.scale) == (device, dtype, 1.0)
    assert not decision.target.downgraded and decision.target.downgraded_from == {}


@pytest.mark.parametrize(("spec", "decorator", "reason"), [
    ("cpu", mark.gpu, "needs a GPU (CUDA or Apple MPS) (@pytest.mark.gpu); found no GPU [simulated: cpu]"),
    ("cpu", mark.cuda, "needs a CUDA GPU (@pytest.mark.cuda); found no GPU [simulated: cpu]"),
    ("mps", mark.cuda, "needs a CUDA GPU (@pytest.mark.cuda); found Apple MPS (16384 MB) [simulated: mps]"),
    ("cuda:sm_75:16GB", mark.cuda(min_capability=(8, 0)),
     "needs a CUDA GPU with compute capability >= 8.0 (@pytest.mark.cuda(min_capability=(8, 0))); "
     "found cuda:0 Simulated GPU (sm_75, 16384 MB, 16384 MB free) [simulated: cuda:sm_75:16GB]"),
    ("cpu", mark.bf16, "needs bfloat16 (@pytest.mark.bf16); found only the CPU (no GPU [simulated: cpu]), "
     "where the safe-dtype policy gives float32"),
    ("cuda:sm_75", mark.bf16, "needs bfloat16 (@pytest.mark.bf16); found cuda:0 Simulated GPU (sm_75, 24576 MB, "
     "24576 MB free), without bfloat16 (needs sm_80+) [simulated: cuda:sm_75], where the safe-dtype policy gives float16"),
    ("cuda:sm_89:windows", mark.bf16, "needs bfloat16 (@pytest.mark.bf16); found cuda:0 Simulated GPU (sm_89, 24576 MB, "
     "24576 MB free, bf16) on native Windows (WDDM) [simulated: cuda:sm_89:windows], where the safe-dtype policy "
     "gives float16"),
    ("mps", mark.bf16, "needs bfloat16 (@pytest.mark.bf16); found Apple MPS [simulated: mps], where the safe-dtype "
     "policy gives float16"),
    ("cuda:sm_80:8GB:free=6GB", mark.vram(12000), "needs 12000 MB of GPU memory (@pytest.mark.vram(12000)); found "
     "6144 MB free on cuda:0 Simulated GPU (sm_80, 8192 MB, 6144 MB free, bf16) [simulated: cuda:sm_80:8GB:free=6GB]"),
    ("cpu", mark.vram(12000), "needs a GPU (CUDA or Apple MPS) (@pytest.mark.vram(12000)); found no GPU [simulated: cpu]"),
    ("cuda:sm_80:x2", mark.multi_gpu(4), "needs 4 CUDA GPUs (@pytest.mark.multi_gpu(4)); found cuda:0 Simulated GPU "
     "(sm_80, 24576 MB, 24576 MB free, bf16); cuda:1 Simulated GPU (sm_80, 24576 MB, 24576 MB free, bf16) "
     "[simulated: cuda:sm_80:x2]"),
    ("cpu", mark.multi_gpu(2), "needs 2 CUDA GPUs (@pytest.mark.multi_gpu(2)); found no GPU [simulated: cpu]"),
    (A100, mark.mps, "needs Apple MPS (@pytest.mark.mps); found cuda:0 Simulated GPU (sm_80, 40960 MB, 40960 MB free, "
     "bf16) [simulated: cuda:sm_80:40GB]"),
    ("cpu", mark.hardware(device="cuda", dtype="bf16"),
     "needs a CUDA GPU (@pytest.mark.hardware(device='cuda', dtype='bf16')); found no GPU [simulated: cpu]"),
    ("cpu:ram=8GB", mark.hardware(device="cpu", vram_mb=16000),
     "needs 16000 MB of RAM (@pytest.mark.hardware(device='cpu', vram_mb=16000)); found 8192 MB of RAM on the CPU"),
])
def test_skips_saying_what_was_missing_and_what_was_found(spec: str, decorator: pytest.MarkDecorator,
                                                         reason: str) -> None:
    decision = run(spec, decorator)
    assert decision.outcome == "skip"
    assert decision.reason.startswith("comfyruntime hardware: " + reason), decision.reason


def test_fail_instead_of_skip() -> None:
    decision = run("cpu", mark.cuda(on_missing="fail"), mark.bf16)
    assert decision.outcome == "fail" and "needs a CUDA GPU (@pytest.mark.cuda(on_missing='fail'))" in decision.reason


def test_several_missing_needs_are_all_named() -> None:
    decision = run("cuda:sm_75:8GB", mark.vram(16000), mark.bf16(on_missing="fail"))
    assert decision.outcome == "fail"
    assert decision.missing[0].startswith("needs 16000 MB of GPU memory") and decision.missing[1].startswith("needs bfloat16")


@pytest.mark.parametrize(("spec", "decorators", "device", "dtype", "scale", "downgraded_from"), [
    # cuda -> cpu, bf16 -> fp32
    ("cpu", (mark.hardware(device="cuda", dtype="bf16", on_missing="downgrade"),), "cpu", "float32", 1.0,
     {"device": "cuda", "dtype": "bfloat16"}),
    # bf16 -> fp16 on an older GPU, and on native Windows
    ("cuda:sm_75", (mark.bf16(on_missing="downgrade"),), "cuda:0", "float16", 1.0, {"dtype": "bfloat16"}),
    ("cuda:sm_86:windows", (mark.bf16(on_missing="downgrade"),), "cuda:0", "float16", 1.0, {"dtype": "bfloat16"}),
    ("mps", (mark.hardware(dtype="bf16", on_missing="downgrade"),), "mps", "float16", 1.0, {"dtype": "bfloat16"}),
    # fp16 -> fp32 on the CPU
    ("cpu", (mark.hardware(dtype="fp16", on_missing="downgrade"),), "cpu", "float32", 1.0, {"dtype": "float16"}),
    # a smaller workload when VRAM is short
    ("cuda:sm_80:16GB", (mark.vram(32768, on_missing="downgrade"),), "cuda:0", "bfloat16", 0.5, {"vram": "32768 MB"}),
    ("mps:8GB", (mark.vram(16384, on_missing="downgrade"),), "mps", "float16", 0.5, {"vram": "16384 MB"}),
    # no GPU at all: the CPU, with RAM as its memory
    ("cpu:ram=8GB", (mark.vram(16384, on_missing="downgrade"),), "cpu", "float32", 0.5,
     {"device": "gpu", "vram": "16384 MB"}),
    ("cpu:ram=64GB", (mark.vram(16384, on_missing="downgrade"),), "cpu", "float32", 1.0, {"device": "gpu"}),
    # a lesser GPU beats the CPU
    ("cuda:sm_75", (mark.cuda(min_capability=(8, 0), on_missing="downgrade"),), "cuda:0", "float16", 1.0,
     {"device": "cuda (sm_80+)"}),
    ("cpu", (mark.gpu(on_missing="downgrade"),), "cpu", "float32", 1.0, {"device": "gpu"}),
    ("cpu", (mark.mps(on_missing="downgrade"),), "cpu", "float32", 1.0, {"device": "mps"}),
])
def test_downgrades_to_the_best_there_is(spec: str, decorators: tuple[pytest.MarkDecorator, ...], device: str,
                                         dtype: str, scale: float, downgraded_from: dict[str, str]) -> None:
    decision = run(spec, *decorators)
    assert decision.outcome == "downgrade", decision.reason
    target = decision.target
    assert (target.device, target.dtype, target.scale, target.downgraded_from) == (device, dtype, scale, downgraded_from)
    assert decision.reason.startswith("comfyruntime hardware: downgraded: ")


def test_multi_gpu_downgrade_uses_the_gpus_there_are() -> None:
    target = run("cuda:sm_80:x2", mark.multi_gpu(4, on_missing="downgrade")).target
    assert (target.device, target.device_count, target.downgraded_from) == ("cuda:0", 2, {"gpus": "4"})
    target = run("cpu", mark.multi_gpu(2, on_missing="downgrade")).target
    assert (target.device, target.device_count) == ("cpu", 1)
    assert target.downgraded_from == {"device": "cuda", "gpus": "2"}
    assert run("cuda:sm_80:x8", mark.multi_gpu(4)).target.device_count == 8
    assert target.scaled(10) == 10


def test_a_downgrade_and_a_skip_together_skip() -> None:
    decision = run("cuda:sm_75", mark.bf16(on_missing="downgrade"), mark.vram(100_000))
    assert decision.outcome == "skip" and len(decision.missing) == 1


def test_the_device_with_room_is_chosen() -> None:
    caps = Capabilities(os="Linux", platform="linux", python="3.11", cuda_available=True, devices=(
        DeviceInfo(index=0, name="busy A100", compute_capability=(8, 0), total_memory_mb=40960, free_memory_mb=1000),
        DeviceInfo(index=1, name="idle A100", compute_capability=(8, 0), total_memory_mb=40960, free_memory_mb=40000),
        DeviceInfo(index=2, name="T4", compute_capability=(7, 5), total_memory_mb=15360, free_memory_mb=15000)))
    assert run(caps, mark.vram(30000)).target.device == "cuda:1"
    assert run(caps, mark.vram(12000)).target.device == "cuda:1"
    assert run(caps).target.memory_mb == 40000
    assert run(caps, mark.cuda(min_capability=(7, 5)), mark.vram(30000)).target.device == "cuda:1"


def test_target_helpers() -> None:
    target = run("cuda:sm_80:8GB", mark.vram(32768, on_missing="downgrade")).target
    assert target.scale == 0.25 and target.scaled(10) == 2 and target.scaled(1) == 1
    assert target.device_type == "cuda" and target.simulated and target.memory_mb == 8192
    assert target.describe() == "device=cuda:0 dtype=bfloat16 scale=0.25"
    assert str(target.downgrades[0]).startswith("vram 32768 MB -> 8192 MB (scale 0.25) (8192 MB free on cuda:0")
