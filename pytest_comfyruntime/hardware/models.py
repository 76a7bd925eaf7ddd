"""The pydantic models at this package's boundaries: what a runner has, and what a test runs on."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

DType = Literal["float32", "float16", "bfloat16"]
"""A dtype by its torch name; the package never needs torch to talk about one."""

Platform = Literal["linux", "windows", "wsl2", "macos", "other"]
Source = Literal["torch", "nvml", "none", "simulated"]
LIGHT_PROBE_NOTE = "torch not imported (light probe)"


class DeviceInfo(BaseModel):
    """One CUDA device as the runner sees it (indices are those after ``CUDA_VISIBLE_DEVICES``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int
    name: str
    compute_capability: tuple[int, int] | None = None
    total_memory_mb: int
    free_memory_mb: int | None = None
    bf16: bool = False

    @property
    def available_mb(self) -> int:
        """Free memory where it is known, else total memory."""
        return self.free_memory_mb if self.free_memory_mb is not None else self.total_memory_mb

    def describe(self) -> str:
        cap = f"sm_{self.compute_capability[0]}{self.compute_capability[1]}" if self.compute_capability else "sm_?"
        free = f", {self.free_memory_mb} MB free" if self.free_memory_mb is not None else ""
        return f"cuda:{self.index} {self.name} ({cap}, {self.total_memory_mb} MB{free}{', bf16' if self.bf16 else ''})"


class Capabilities(BaseModel):
    """What this runner has. ``source`` says how it was learnt: torch, NVML, nothing, or a simulation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    os: str
    platform: Platform
    python: str
    torch_version: str | None = None
    cuda_available: bool = False
    cuda_runtime: str | None = None
    devices: tuple[DeviceInfo, ...] = ()
    mps_available: bool = False
    mps_memory_mb: int | None = None
    cpu_count: int = 1
    ram_mb: int | None = None
    source: Source = "none"
    simulated_spec: str | None = None
    pinned: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def is_windows_native(self) -> bool:
        return self.platform == "windows"

    @property
    def gpu_count(self) -> int:
        return len(self.devices) if self.cuda_available else 0

    @property
    def has_gpu(self) -> bool:
        return self.gpu_count > 0 or self.mps_available

    def best_cuda_device(self) -> DeviceInfo | None:
        """The device with the highest compute capability, then the most available memory."""
        if not self.gpu_count:
            return None
        return max(self.devices, key=lambda d: (d.compute_capability or (0, 0), d.available_mb))

    def found(self) -> str:
        """What a skip reason says was found, e.g. ``no GPU (torch 2.14.1, CUDA not available)``."""
        if self.gpu_count:
            text = "; ".join(d.describe() for d in self.devices)
        elif self.mps_available:
            text = f"Apple MPS ({self.mps_memory_mb} MB)" if self.mps_memory_mb else "Apple MPS"
        else:
            text = "no GPU"
        return f"{text} [{self.origin()}]"

    def origin(self) -> str:
        if self.source == "simulated":
            return f"simulated: {self.simulated_spec}"
        if self.source == "torch":
            cuda = f"CUDA {self.cuda_runtime}" if self.cuda_available else (
                f"CUDA not available, torch built for CUDA {self.cuda_runtime}" if self.cuda_runtime
                else "CUDA not available")
            return f"torch {self.torch_version}, {cuda}"
        detail = "; ".join(self.notes)
        if self.source == "nvml":
            return "NVML" + (f"; {detail}" if detail else "")
        return detail or "neither torch nor NVML answered"

    def summary(self) -> str:
        """One line for logs and pytest's header."""
        ram = f"{self.ram_mb / 1024:.1f} GB" if self.ram_mb else "?"
        head = [f"OS: {self.os} ({self.platform})", f"Python {self.python}",
                f"torch {self.torch_version or 'not installed'}"]
        tail = [f"CPU: {self.cpu_count}", f"RAM: {ram}",
                f"source: {self.source}" + (f" ({self.simulated_spec})" if self.simulated_spec else "")]
        if self.source == "none" and LIGHT_PROBE_NOTE in self.notes:
            gpu = ["GPU: not inspected yet (torch is imported by the first test that needs hardware facts)"]
        else:
            cuda = f"yes ({self.cuda_runtime})" if self.cuda_available else "no"
            gpus = "; ".join(d.describe() for d in self.devices) if self.gpu_count else "none"
            gpu = [f"CUDA: {cuda}", f"GPU: {gpus}", f"MPS: {'yes' if self.mps_available else 'no'}"]
        parts = head + gpu + tail
        if self.pinned:
            parts.append(f"pinned: {self.pinned}")
        return " | ".join(parts)


class Downgrade(BaseModel):
    """One thing a test asked for and did not get, and what it runs with instead."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    what: Literal["device", "gpus", "vram", "dtype"]
    requested: str
    effective: str
    reason: str

    def __str__(self) -> str:
        return f"{self.what} {self.requested} -> {self.effective} ({self.reason})"


class HardwareTarget(BaseModel):
    """The hardware a test runs on: what the ``comfy_hw`` fixture returns.

    ``device`` is a torch device string (``cpu``, ``cuda:0``, ``mps``), ``dtype`` a torch dtype name,
    ``scale`` the share of its workload the test should run (1.0 unless VRAM was short and the
    test accepted a downgrade), and ``downgrades`` what it asked for and did not get.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    device: str
    dtype: DType
    scale: float = 1.0
    device_count: int = 1
    memory_mb: int | None = None
    downgrades: tuple[Downgrade, ...] = ()
    capabilities: Capabilities

    @property
    def device_type(self) -> str:
        return self.device.split(":", 1)[0]

    @property
    def downgraded(self) -> bool:
        return bool(self.downgrades)

    @property
    def downgraded_from(self) -> dict[str, str]:
        """``{"device": "cuda", "dtype": "bfloat16"}``: what was asked for, where it was not given."""
        return {d.what: d.requested for d in self.downgrades}

    @property
    def simulated(self) -> bool:
        return self.capabilities.source == "simulated"

    def scaled(self, n: int) -> int:
        """``n`` scaled to this target's workload share, at least 1."""
        return max(1, int(n * self.scale))

    @property
    def torch_dtype(self) -> Any:
        """The ``torch.dtype`` (imports torch)."""
        import torch

        return getattr(torch, self.dtype)

    @property
    def torch_device(self) -> Any:
        """The ``torch.device`` (imports torch)."""
        import torch

        return torch.device(self.device)

    def describe(self) -> str:
        text = f"device={self.device} dtype={self.dtype} scale={self.scale:g}"
        if self.device_count != 1:
            text += f" gpus={self.device_count}"
        return text
