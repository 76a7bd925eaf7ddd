"""The simulation spec: its grammar, defaults, and the errors that show the grammar."""
from __future__ import annotations

import pytest

from pytest_comfyruntime.hardware import GRAMMAR, HardwareSpecError, parse_hardware_spec
from pytest_comfyruntime.hardware.simulate import restrict_to_device


def test_the_issue_example() -> None:
    caps = parse_hardware_spec("cuda:sm_80:24GB:bf16")
    assert caps.source == "simulated" and caps.simulated_spec == "cuda:sm_80:24GB:bf16"
    assert caps.cuda_available and caps.gpu_count == 1 and caps.platform == "linux" and caps.os == "Linux"
    (dev,) = caps.devices
    assert (dev.compute_capability, dev.total_memory_mb, dev.free_memory_mb, dev.bf16) == ((8, 0), 24576, 24576, True)


def test_defaults_and_tokens() -> None:
    assert parse_hardware_spec("cuda").devices[0].compute_capability == (8, 0)
    assert parse_hardware_spec("cuda:sm_75").devices[0].bf16 is False
    assert parse_hardware_spec("cuda:sm_120").devices[0].compute_capability == (12, 0)
    caps = parse_hardware_spec("cuda:sm_86:12GB:free=8GB:x4:name=RTX 3060:windows:ram=16GB")
    assert caps.gpu_count == 4 and [d.index for d in caps.devices] == [0, 1, 2, 3]
    assert caps.devices[3].free_memory_mb == 8192 and caps.devices[0].name == "RTX 3060"
    assert caps.is_windows_native and caps.os == "Windows" and caps.ram_mb == 16384
    assert parse_hardware_spec("cuda:512MB").devices[0].total_memory_mb == 512
    mps = parse_hardware_spec("mps:32GB")
    assert mps.mps_available and mps.mps_memory_mb == 32768 and mps.platform == "macos" and not mps.gpu_count
    cpu = parse_hardware_spec(" cpu ")
    assert not cpu.has_gpu and cpu.simulated_spec == "cpu"


@pytest.mark.parametrize(("spec", "problem"), [
    ("", "empty spec"),
    ("tpu", "unknown kind 'tpu'; start with cpu, cuda or mps"),
    ("cuda:sm80", "unknown token 'sm80'"),
    ("cuda:sm_80:sm_86", "sm given twice ('sm_86')"),
    ("cpu:24GB", "'24GB': cpu has no GPU memory (use ram=<N>GB)"),
    ("mps:sm_80", "'sm_80' only applies to cuda"),
    ("cpu:bf16", "'bf16' only applies to cuda"),
    ("cuda:x0", "x0: a cuda spec needs at least one device"),
    ("cuda:24 GB", "unknown token '24 GB'"),
])
def test_malformed_specs_show_the_grammar(spec: str, problem: str) -> None:
    with pytest.raises(HardwareSpecError) as info:
        parse_hardware_spec(spec, where="env X")
    message = str(info.value)
    assert f"bad hardware spec {spec!r} (env X): {problem}" in message
    assert message.endswith(GRAMMAR)


def test_restrict_to_device_is_what_a_pinned_worker_sees() -> None:
    caps = parse_hardware_spec("cuda:sm_86:x3")
    pinned = restrict_to_device(caps, 2, "worker gw2")
    assert [d.index for d in pinned.devices] == [0] and pinned.pinned == "worker gw2"
    assert "pinned: worker gw2" in pinned.summary()
