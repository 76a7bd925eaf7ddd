"""Settings resolution (command line > environment > ini) and per-worker GPU pinning."""
from __future__ import annotations

import sys
import types

import pytest

from pytest_comfyruntime.hardware import parse_hardware_spec
from pytest_comfyruntime.hardware.settings import (
    HardwareConfigError,
    count_gpus_without_torch,
    pin_worker,
    resolve_hardware_settings,
)


def test_command_line_beats_environment_beats_ini() -> None:
    s = resolve_hardware_settings(cli={"simulate": "mps"}, env={"COMFYRUNTIME_SIMULATE_HARDWARE": "cpu"},
                                  ini={"simulate": "cuda"})
    assert s.simulate is not None and s.simulate.simulated_spec == "mps"
    s = resolve_hardware_settings(cli={}, env={"COMFYRUNTIME_SIMULATE_HARDWARE": "cpu"}, ini={"simulate": "cuda"})
    assert s.simulate is not None and s.simulate.simulated_spec == "cpu"
    s = resolve_hardware_settings(cli={"require": None}, env={"COMFYRUNTIME_REQUIRE_HARDWARE": "0"},
                                  ini={"require": "true", "gpu_per_worker": "yes"})
    assert (s.require, s.gpu_per_worker, s.simulate) == (False, True, None)
    assert resolve_hardware_settings(cli={"require": True}, env={}, ini={}).require


def test_errors_name_the_setting_and_where_it_was_set() -> None:
    with pytest.raises(HardwareConfigError, match=r"bad hardware spec 'gpu' \(comfyruntime_simulate_hardware, "
                                                   r"ini option in /x/pytest.ini\): unknown kind 'gpu'"):
        resolve_hardware_settings(cli={}, env={}, ini={"simulate": "gpu"}, inifile="/x/pytest.ini")
    with pytest.raises(HardwareConfigError, match=r"bad setting --comfyruntime-gpu-per-worker \(comfyruntime_gpu_per"
                                                   r"_worker, ini option\): 'sometimes' is not a boolean"):
        resolve_hardware_settings(cli={}, env={}, ini={"gpu_per_worker": "sometimes"})


def test_pin_worker_under_simulation() -> None:
    env: dict[str, str] = {}
    caps = parse_hardware_spec("cuda:x3")
    assert pin_worker("gw4", simulated=caps, environ=env) == (1, "worker gw4 -> CUDA_VISIBLE_DEVICES=1 (device 2 of 3)")
    assert env == {"CUDA_VISIBLE_DEVICES": "1"}
    assert pin_worker("gw0", simulated=parse_hardware_spec("cpu"), environ={}) is None


def test_pin_worker_within_the_visible_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    env = {"CUDA_VISIBLE_DEVICES": "4,6"}
    assert pin_worker("gw1", environ=env) == (1, "worker gw1 -> CUDA_VISIBLE_DEVICES=6 (device 2 of 2)")
    assert env["CUDA_VISIBLE_DEVICES"] == "6"


def test_pin_worker_counts_gpus_by_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    nvml = types.ModuleType("pynvml")
    nvml.nvmlInit = lambda: None  # type: ignore[attr-defined]
    nvml.nvmlShutdown = lambda: None  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetCount = lambda: 2  # type: ignore[attr-defined]
    env: dict[str, str] = {}

    def importer(name: str) -> types.ModuleType:
        if name == "pynvml":
            return nvml
        raise ImportError(name)

    assert count_gpus_without_torch(importer) == 2
    assert pin_worker("gw3", environ=env, importer=importer) == (1, "worker gw3 -> CUDA_VISIBLE_DEVICES=1 "
                                                                   "(device 2 of 2)")


def test_pin_worker_too_late_or_not_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
    with pytest.raises(HardwareConfigError, match="torch was imported before worker gw0 was configured"):
        pin_worker("gw0", environ={"CUDA_VISIBLE_DEVICES": "0,1"})
    with pytest.raises(HardwareConfigError, match="unexpected xdist worker id 'main'"):
        pin_worker("main", simulated=parse_hardware_spec("cuda"), environ={})
