"""The hardware settings, resolved in one place (command line > environment > ini > default), and
the per-worker GPU pinning that must happen before anything imports torch."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from .models import Capabilities
from .probe import Importer
from .simulate import HardwareSpecError, parse_hardware_spec

ENV_SIMULATE = "COMFYRUNTIME_SIMULATE_HARDWARE"
ENV_REQUIRE = "COMFYRUNTIME_REQUIRE_HARDWARE"
ENV_GPU_PER_WORKER = "COMFYRUNTIME_GPU_PER_WORKER"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


class HardwareConfigError(Exception):
    """A hardware setting is wrong; the message names it, where it was set and the fix."""


class HardwareSettings(BaseModel):
    """The effective hardware settings of one pytest process."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    simulate: Capabilities | None = None
    require: bool = False
    gpu_per_worker: bool = False


def _flag(value: Any, where: str, option: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise HardwareConfigError(f"pytest-comfyruntime: bad setting {option} ({where}): {value!r} is not a boolean; "
                              "fix: use true or false (1 or 0)")


def resolve_hardware_settings(*, cli: Mapping[str, Any], ini: Mapping[str, Any],
                              env: Mapping[str, str] | None = None, inifile: str | None = None) -> HardwareSettings:
    """Merges cli (None = not given), env and ini; a malformed value raises :class:`HardwareConfigError`."""
    env = os.environ if env is None else env
    ini_where = f"ini option in {inifile}" if inifile else "ini option"
    simulate = None
    for value, where in ((cli.get("simulate"), "--comfyruntime-simulate-hardware"),
                         (env.get(ENV_SIMULATE), f"environment variable {ENV_SIMULATE}"),
                         (ini.get("simulate"), f"comfyruntime_simulate_hardware, {ini_where}")):
        if value not in (None, ""):
            try:
                simulate = parse_hardware_spec(value, where=where)
            except HardwareSpecError as exc:
                raise HardwareConfigError(str(exc)) from None
            break
    flags = {}
    for key, option, env_name, ini_name in (
            ("require", "--comfyruntime-require-hardware", ENV_REQUIRE, "comfyruntime_require_hardware"),
            ("gpu_per_worker", "--comfyruntime-gpu-per-worker", ENV_GPU_PER_WORKER, "comfyruntime_gpu_per_worker")):
        if cli.get(key) is not None:
            flags[key] = bool(cli[key])
        elif env.get(env_name) not in (None, ""):
            flags[key] = _flag(env[env_name], f"environment variable {env_name}", option)
        elif ini.get(key) not in (None, ""):
            flags[key] = _flag(ini[key], f"{ini_name}, {ini_where}", option)
    return HardwareSettings(simulate=simulate, **flags)


def pin_worker(worker_id: str, *, simulated: Capabilities | None = None,
               environ: MutableMapping[str, str] | None = None,
               importer: Importer = importlib.import_module) -> tuple[int, str] | None:
    """Sets ``CUDA_VISIBLE_DEVICES`` so xdist worker ``gwN`` sees one GPU: the N-th (modulo their number).

    Returns (the device's index among those visible before, a description), or None where there is no
    GPU to pin. Raises :class:`HardwareConfigError` if torch is already imported (too late to pin).
    """
    environ = os.environ if environ is None else environ
    digits = worker_id.removeprefix("gw")
    if not digits.isdigit():
        raise HardwareConfigError(f"pytest-comfyruntime: --comfyruntime-gpu-per-worker: unexpected xdist worker id "
                                  f"{worker_id!r}; fix: run with pytest-xdist's -n")
    n = int(digits)
    if simulated is not None:
        ids = [str(d.index) for d in simulated.devices]
    else:
        if "torch" in sys.modules:
            raise HardwareConfigError(
                f"pytest-comfyruntime: --comfyruntime-gpu-per-worker: torch was imported before worker {worker_id} "
                "was configured (by a conftest or plugin), so CUDA_VISIBLE_DEVICES can no longer take effect; "
                "fix: import torch inside tests or fixtures, not at conftest import time")
        visible = environ.get("CUDA_VISIBLE_DEVICES")
        if visible is not None:
            ids = [e.strip() for e in visible.split(",") if e.strip()]
        else:
            ids = [str(i) for i in range(count_gpus_without_torch(importer))]
    if not ids:
        return None
    position = n % len(ids)
    environ["CUDA_VISIBLE_DEVICES"] = ids[position]
    return position, f"worker {worker_id} -> CUDA_VISIBLE_DEVICES={ids[position]} (device {position + 1} of {len(ids)})"


def count_gpus_without_torch(importer: Importer = importlib.import_module) -> int:
    """CUDA devices by NVML, else by ``torch.cuda.device_count()`` in a child process; 0 if neither works."""
    try:
        nvml = importer("pynvml")
        nvml.nvmlInit()
        try:
            return int(nvml.nvmlDeviceGetCount())
        finally:
            nvml.nvmlShutdown()
    except Exception:  # no nvidia-ml-py or no driver: ask torch, out of process
        pass
    try:
        proc = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.device_count())"],
                              capture_output=True, text=True, timeout=300)
        return int(proc.stdout.strip() or 0) if proc.returncode == 0 else 0
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return 0
