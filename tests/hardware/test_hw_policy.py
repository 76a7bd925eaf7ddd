"""select_safe_dtype, normalize_dtype, the VRAM estimate and check: plain functions, plain tests."""
from __future__ import annotations

import sys
import types

import pytest

from pytest_comfyruntime.hardware import (
    Capabilities,
    DeviceInfo,
    check_vram_sufficient,
    estimate_model_memory_mb,
    normalize_dtype,
    parse_hardware_spec,
    select_safe_dtype,
    use_capabilities,
)


@pytest.mark.parametrize(("spec", "requested", "expected"), [
    # CPU-only: float32 whatever is asked
    ("cpu", None, "float32"), ("cpu", "bf16", "float32"), ("cpu", "fp16", "float32"), ("cpu", "fp32", "float32"),
    # Ampere or newer on Linux / WSL2: bf16 as asked
    ("cuda:sm_80", None, "bfloat16"), ("cuda:sm_80", "bf16", "bfloat16"), ("cuda:sm_86:wsl2", "bf16", "bfloat16"),
    ("cuda:sm_90", "fp16", "float16"), ("cuda:sm_80", "float32", "float32"),
    # native Windows: float16 (WDDM)
    ("cuda:sm_89:windows", None, "float16"), ("cuda:sm_89:windows", "bfloat16", "float16"),
    ("cuda:sm_89:windows", "fp32", "float32"),
    # older CUDA (or a GPU whose bf16 is off): float16
    ("cuda:sm_75", None, "float16"), ("cuda:sm_75", "bf16", "float16"), ("cuda:sm_80:no-bf16", "bf16", "float16"),
    # Apple MPS: float16
    ("mps", None, "float16"), ("mps", "bf16", "float16"), ("mps", "fp32", "float32"),
])
def test_select_safe_dtype_follows_the_seed_policy(spec: str, requested: str | None, expected: str) -> None:
    assert select_safe_dtype(requested, parse_hardware_spec(spec)) == expected


def test_select_safe_dtype_decides_per_device() -> None:
    caps = Capabilities(os="Linux", platform="linux", python="3.11", cuda_available=True, devices=(
        DeviceInfo(index=0, name="T4", compute_capability=(7, 5), total_memory_mb=15360),
        DeviceInfo(index=1, name="A10", compute_capability=(8, 6), total_memory_mb=24576, bf16=True)))
    assert select_safe_dtype("bf16", caps) == "bfloat16"  # the best device
    assert select_safe_dtype("bf16", caps, device="cuda:0") == "float16"
    assert select_safe_dtype("bf16", caps, device="cuda:1") == "bfloat16"
    assert select_safe_dtype("bf16", caps, device="cpu") == "float32"
    with pytest.raises(ValueError, match="no device 'cuda:5'; this runner has cuda:0 T4"):
        select_safe_dtype("bf16", caps, device="cuda:5")


def test_select_safe_dtype_answers_a_torch_dtype_with_a_torch_dtype(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a stand-in torch: the suite's own process never imports the real one (see gpu_real.py)."""

    class dtype:
        def __init__(self, name: str) -> None:
            self.name = name

        def __str__(self) -> str:
            return f"torch.{self.name}"

    dtype.__module__ = "torch"
    torch = types.ModuleType("torch")
    for name in ("float32", "float16", "bfloat16"):
        setattr(torch, name, dtype(name))
    monkeypatch.setitem(sys.modules, "torch", torch)
    assert select_safe_dtype(torch.bfloat16, parse_hardware_spec("cuda:sm_75")) is torch.float16
    assert select_safe_dtype(torch.bfloat16, parse_hardware_spec("cuda:sm_80")) is torch.bfloat16
    assert select_safe_dtype("bf16", parse_hardware_spec("cpu")) == "float32"


def test_select_safe_dtype_uses_the_capabilities_in_force() -> None:
    undo = use_capabilities(parse_hardware_spec("cuda:sm_86:windows"))
    try:
        assert select_safe_dtype("bf16") == "float16"
    finally:
        undo()
    undo()  # idempotent


@pytest.mark.parametrize(("alias", "name"), [
    ("bf16", "bfloat16"), ("torch.bfloat16", "bfloat16"), ("BFloat16", "bfloat16"), ("half", "float16"),
    ("fp16", "float16"), ("float", "float32"), ("fp32", "float32")])
def test_normalize_dtype(alias: str, name: str) -> None:
    assert normalize_dtype(alias) == name


def test_normalize_dtype_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown dtype 'int8'; use float32 \(fp32\), float16 \(fp16\) or bfloat16"):
        normalize_dtype("int8")


def test_estimate_model_memory() -> None:
    assert estimate_model_memory_mb("sdxl", "fp16") == int(3_500e6 * 2 * 1.2 / 2**20 + 0.5)
    assert estimate_model_memory_mb("flux-schnell", "bf16") > estimate_model_memory_mb("sdxl", "bf16")
    assert estimate_model_memory_mb("sd15", "fp32") == 2 * estimate_model_memory_mb("sd15", "fp16")
    assert estimate_model_memory_mb(1_000_000_000, "fp16", overhead=1.0) == 1907
    with pytest.raises(ValueError, match="unknown model 'sd9'; known: sd15, sd21, sdxl"):
        estimate_model_memory_mb("sd9")
    with pytest.raises(ValueError, match="positive parameter count"):
        estimate_model_memory_mb(0)
    with pytest.raises(TypeError):
        estimate_model_memory_mb(True)


def test_check_vram_sufficient_on_a_gpu() -> None:
    caps = parse_hardware_spec("cuda:sm_80:24GB:free=20GB")
    ok = check_vram_sufficient(8000, caps)
    assert ok and ok.available_mb == 20480 and ok.device == "cuda:0"
    assert ok.message == "Sufficient VRAM: need 9024MB (8000MB + 1024MB margin), have 20480MB on cuda:0"
    short = check_vram_sufficient(20000, caps)
    assert not short and short.message.startswith("Insufficient VRAM: need 21024MB")
    assert check_vram_sufficient(20000, caps, safety_margin_mb=0)


def test_check_vram_sufficient_without_a_gpu() -> None:
    caps = parse_hardware_spec("cpu:ram=64GB")
    check = check_vram_sufficient(1000, caps)
    assert not check and check.device is None
    assert check.message == "Insufficient VRAM: need 2024MB, found no GPU [simulated: cpu:ram=64GB]"
    assert check_vram_sufficient(1000, caps, device="cpu").available_mb == 65536  # RAM, when asked for
    assert check_vram_sufficient(8000, parse_hardware_spec("mps:16GB")).device == "mps"
    with pytest.raises(ValueError, match=">= 0"):
        check_vram_sufficient(-1, caps)
