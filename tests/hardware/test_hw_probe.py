"""Capability inspection: torch, then NVML, then nothing; never failing; once per process."""
from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest

from pytest_comfyruntime.hardware import (
    Capabilities,
    inspect_capabilities,
    parse_hardware_spec,
    probe,
    use_capabilities,
)
from pytest_comfyruntime.hardware.probe import detect_platform, get_capabilities


def importer(**modules: Any) -> Callable[[str], Any]:
    """An importer that knows only ``modules``; a value that is an exception is raised."""
    asked: list[str] = []

    def load(name: str) -> Any:
        asked.append(name)
        value = modules.get(name)
        if value is None:
            raise ImportError(f"No module named {name!r}")
        if isinstance(value, BaseException):
            raise value
        return value

    load.asked = asked  # type: ignore[attr-defined]
    return load


def fake_nvml(devices: list[tuple[str | bytes, tuple[int, int], int, int, str]], *, init_error: bool = False) -> Any:
    mem = types.SimpleNamespace
    nvml = types.SimpleNamespace(calls=[])

    def init() -> None:
        if init_error:
            raise RuntimeError("NVML Shared Library Not Found")
        nvml.calls.append("init")

    nvml.nvmlInit = init
    nvml.nvmlShutdown = lambda: nvml.calls.append("shutdown")
    nvml.nvmlSystemGetCudaDriverVersion_v2 = lambda: 12040
    nvml.nvmlDeviceGetCount = lambda: len(devices)
    nvml.nvmlDeviceGetHandleByIndex = lambda i: devices[i]
    nvml.nvmlDeviceGetName = lambda h: h[0]
    nvml.nvmlDeviceGetCudaComputeCapability = lambda h: h[1]
    nvml.nvmlDeviceGetMemoryInfo = lambda h: mem(total=h[2] * 2**20, free=h[3] * 2**20, used=0)
    nvml.nvmlDeviceGetUUID = lambda h: h[4]
    return nvml


TWO_GPUS: list[tuple[str | bytes, tuple[int, int], int, int, str]] = [(b"NVIDIA T4", (7, 5), 15360, 15000, "GPU-aaaa-1111"), ("NVIDIA A100", (8, 0), 81920, 80000, "GPU-bbbb-2222")]


def fake_torch(devices: list[tuple[str, int, int, int, int]], *, mps: bool = False, broken: bool = False) -> Any:
    def props(i: int) -> Any:
        name, major, minor, _, _ = devices[i]
        return types.SimpleNamespace(name=name, major=major, minor=minor)

    def count() -> int:
        if broken:
            raise RuntimeError("CUDA driver initialization failed")
        return len(devices)

    cuda = types.SimpleNamespace(is_available=lambda: bool(devices) or broken, device_count=count,
                                 get_device_properties=props,
                                 mem_get_info=lambda i: (devices[i][4] * 2**20, devices[i][3] * 2**20))
    return types.SimpleNamespace(__version__="2.14.1+cu130", version=types.SimpleNamespace(cuda="13.0"), cuda=cuda,
                                 backends=types.SimpleNamespace(mps=types.SimpleNamespace(is_available=lambda: mps)),
                                 mps=types.SimpleNamespace(recommended_max_memory=lambda: 12 * 2**30))


def test_torch_first() -> None:
    torch = fake_torch([("NVIDIA A100", 8, 0, 81920, 80000), ("Tesla V100", 7, 0, 16384, 16000)])
    caps = inspect_capabilities(importer=importer(torch=torch, pynvml=fake_nvml(TWO_GPUS)))
    assert caps.source == "torch" and caps.torch_version == "2.14.1" and caps.cuda_runtime == "13.0"
    assert [(d.name, d.compute_capability, d.bf16, d.total_memory_mb, d.free_memory_mb) for d in caps.devices] == [
        ("NVIDIA A100", (8, 0), True, 81920, 80000), ("Tesla V100", (7, 0), False, 16384, 16000)]
    best = caps.best_cuda_device()
    assert best is not None and best.name == "NVIDIA A100" and not caps.mps_available


def test_torch_mps() -> None:
    caps = inspect_capabilities(importer=importer(torch=fake_torch([], mps=True)))
    assert caps.source == "torch" and caps.mps_available and caps.mps_memory_mb == 12288 and not caps.cuda_available


def test_nvml_when_torch_is_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    nvml = fake_nvml(TWO_GPUS)
    caps = inspect_capabilities(importer=importer(pynvml=nvml))
    assert caps.source == "nvml" and caps.cuda_available and caps.cuda_runtime == "12.4"
    assert [(d.index, d.name, d.bf16, d.free_memory_mb) for d in caps.devices] == [
        (0, "NVIDIA T4", False, 15000), (1, "NVIDIA A100", True, 80000)]
    assert nvml.calls == ["init", "shutdown"]
    assert "torch not importable" in caps.notes[0] and "NVML" in caps.found()


@pytest.mark.parametrize(("visible", "names"), [
    ("1", ["NVIDIA A100"]), ("1,0", ["NVIDIA A100", "NVIDIA T4"]), ("GPU-bbbb", ["NVIDIA A100"]),
    ("", []), ("0,7,1", ["NVIDIA T4"]), ("GPU-zzzz", [])])
def test_nvml_honours_cuda_visible_devices(monkeypatch: pytest.MonkeyPatch, visible: str, names: list[str]) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    caps = inspect_capabilities(importer=importer(pynvml=fake_nvml(TWO_GPUS)))
    assert [d.name for d in caps.devices] == names and [d.index for d in caps.devices] == list(range(len(names)))


def test_a_broken_torch_falls_back_to_nvml_and_says_why() -> None:
    caps = inspect_capabilities(importer=importer(torch=OSError("libcudart.so: cannot open"), pynvml=fake_nvml(TWO_GPUS)))
    assert caps.source == "nvml" and caps.notes[0] == "importing torch failed: OSError: libcudart.so: cannot open"
    caps = inspect_capabilities(importer=importer(torch=fake_torch([], broken=True)))
    assert caps.source == "none"
    assert caps.notes[0] == "torch could not inspect the GPUs: RuntimeError: CUDA driver initialization failed"


def test_nothing_at_all_is_no_failure() -> None:
    caps = inspect_capabilities(importer=importer())
    assert caps.source == "none" and not caps.has_gpu and caps.cpu_count >= 1
    assert caps.notes == ("torch not importable (No module named 'torch')",
                          "NVML not used (nvidia-ml-py is not installed)")
    assert caps.found().startswith("no GPU [torch not importable")
    caps = inspect_capabilities(importer=importer(pynvml=fake_nvml([], init_error=True)))
    assert caps.notes[-1] == "NVML unavailable: RuntimeError: NVML Shared Library Not Found"


def test_the_light_probe_never_imports_torch() -> None:
    load = importer(torch=fake_torch([("X", 8, 0, 1, 1)]))
    caps = inspect_capabilities(use_torch=False, importer=load)
    assert "torch" not in load.asked and caps.source == "none"  # type: ignore[attr-defined]
    assert "GPU: not inspected yet" in caps.summary()


def test_inspected_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def inspect() -> Capabilities:
        calls.append(1)
        return parse_hardware_spec("cpu")

    monkeypatch.setattr(probe, "_CACHE", None)
    monkeypatch.setattr(probe, "_INSPECTIONS", 0)
    monkeypatch.setattr(probe, "inspect_capabilities", inspect)
    first = get_capabilities()
    assert get_capabilities() is first and calls == [1] and probe.inspection_count() == 1
    get_capabilities(force_refresh=True)
    assert calls == [1, 1]


def test_use_capabilities_overrides_and_undoes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe, "_CACHE", parse_hardware_spec("cpu"))
    a, b = parse_hardware_spec("cuda"), parse_hardware_spec("mps")
    undo_a, undo_b = use_capabilities(a), use_capabilities(b)
    assert get_capabilities() is b
    undo_a()
    assert get_capabilities() is b
    undo_b()
    assert get_capabilities().simulated_spec == "cpu"


@pytest.mark.parametrize(("system", "release", "proc", "expected"), [
    ("Windows", "10", "", "windows"), ("Darwin", "23.1", "", "macos"),
    ("Linux", "5.15.153.1-microsoft-standard-WSL2", "", "wsl2"),
    ("Linux", "6.1", "Linux version 6.1 (gcc) Microsoft", "wsl2"), ("Linux", "6.1", "Linux version 6.1", "linux"),
    ("FreeBSD", "14", "", "other")])
def test_detect_platform(system: str, release: str, proc: str, expected: str) -> None:
    assert detect_platform(system, release, proc) == expected


def test_this_runner_inspects_without_failing() -> None:
    """The real thing, in a child process: whatever this machine has, a valid model comes back."""
    code = "from pytest_comfyruntime.hardware import get_capabilities as g; print(g().model_dump_json())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    caps = Capabilities.model_validate_json(out)
    assert caps.source in ("torch", "nvml", "none") and caps.python and caps.cpu_count >= 1
