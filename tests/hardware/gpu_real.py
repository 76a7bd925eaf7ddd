"""The GPU module: runs for real on a CUDA GPU.

    pytest tests/hardware/gpu_real.py --comfyruntime-require-hardware      # on a GPU runner

Where there is no GPU, each test is skipped by its marker with a reason that says what was needed
and what was found, and ``--comfyruntime-require-hardware`` (the GPU runner's flag) turns that
skip into a failure: a runner that lost its GPU goes red, not green. Simulated hardware cannot run
tensors, so under ``--comfyruntime-simulate-hardware`` a test whose marker is met skips, saying so.

Not collected with the suite (the name does not match ``test_*.py``): ``test_gpu_module.py`` runs
it in a child process, so that torch is never imported into the suite's own process, where
pytester's in-process runs drop and re-import modules (torch cannot be imported twice), and
``test_hw_plugin.py`` runs it under a simulated "no GPU".
"""
from __future__ import annotations

import pytest

from pytest_comfyruntime.hardware import HardwareTarget, check_vram_sufficient, select_safe_dtype


@pytest.fixture
def real(comfy_hw: HardwareTarget) -> HardwareTarget:
    if comfy_hw.simulated:
        pytest.skip(f"runs tensors on real hardware; this session simulates {comfy_hw.capabilities.simulated_spec}")
    return comfy_hw


@pytest.mark.cuda
def test_matmul_on_the_gpu(real: HardwareTarget) -> None:
    import torch

    a = torch.randn(512, 512, device=real.device, dtype=real.torch_dtype)
    b = (a @ a).float()
    torch.cuda.synchronize()
    assert b.is_cuda and bool(torch.isfinite(b).all())


@pytest.mark.cuda
def test_capabilities_agree_with_torch(real: HardwareTarget) -> None:
    import torch

    caps = real.capabilities
    assert caps.source == "torch" and caps.gpu_count == torch.cuda.device_count()
    for dev in caps.devices:
        props = torch.cuda.get_device_properties(dev.index)
        assert dev.compute_capability == (props.major, props.minor)
        assert dev.total_memory_mb == torch.cuda.mem_get_info(dev.index)[1] // 2**20
    assert real.dtype == select_safe_dtype(None, caps, device=real.device)


@pytest.mark.bf16
def test_bfloat16_matmul(real: HardwareTarget) -> None:
    import torch

    assert real.dtype == "bfloat16" and torch.cuda.is_bf16_supported()
    a = torch.ones(256, 256, device=real.device, dtype=torch.bfloat16)
    assert (a @ a)[0, 0].item() == 256


@pytest.mark.cuda
def test_vram_check_agrees_with_torch(real: HardwareTarget) -> None:
    import torch

    index = int(real.device.split(":")[1])
    free_mb = torch.cuda.mem_get_info(index)[0] // 2**20
    assert check_vram_sufficient(free_mb // 2, real.capabilities, device=real.device, safety_margin_mb=0)
    assert not check_vram_sufficient(10 * free_mb + 10_000, real.capabilities, device=real.device)


@pytest.mark.hardware(device="cuda", dtype="bf16", on_missing="downgrade")
def test_runs_on_the_best_there_is(real: HardwareTarget) -> None:
    """On a GPU runner: bf16 (or fp16) on the GPU. Here: float32 on the CPU, for real, and it says so."""
    torch = pytest.importorskip("torch")
    x = torch.ones(64, 64, device=real.device, dtype=real.torch_dtype)
    assert (x @ x)[0, 0].item() == 64 and x.dtype == real.torch_dtype
    if real.device == "cpu":
        assert real.downgraded_from["device"] == "cuda" and real.dtype == "float32"
