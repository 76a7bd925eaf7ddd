"""Marker evaluation: a requirement and the runner's capabilities -> run, downgrade, skip or fail.

Each need is checked in turn (device, number of GPUs, memory, dtype) on the device chosen so far.
A need that is missing either downgrades (recorded, the test runs on the best there is) or adds a
sentence saying exactly what was needed, from which marker, and what was found.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .models import Capabilities, DeviceInfo, Downgrade, DType, HardwareTarget
from .policy import best_dtype, select_safe_dtype
from .requirements import HardwareRequirement, Need, OnMissing

Outcome = Literal["run", "downgrade", "skip", "fail"]
PREFIX = "comfyruntime hardware: "


@dataclass(frozen=True)
class Decision:
    """What happens to one test: ``outcome``, the ``target`` it runs on, and why (``missing``)."""

    outcome: Outcome
    target: HardwareTarget
    missing: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        if self.missing:
            return PREFIX + "; ".join(self.missing)
        if self.target.downgrades:
            return PREFIX + "downgraded: " + "; ".join(map(str, self.target.downgrades))
        return PREFIX + self.target.describe()


@dataclass
class _State:
    caps: Capabilities
    req: HardwareRequirement
    device: str = "cpu"
    device_count: int = 1
    scale: float = 1.0
    memory_mb: int | None = None
    downgrades: list[Downgrade] = field(default_factory=list)
    missing: list[tuple[OnMissing, str]] = field(default_factory=list)

    def unmet(self, need: Need, requested: str, effective: str, needs: str, found: str) -> None:
        policy = self.req.on_missing(need)
        if policy == "downgrade":
            self.downgrades.append(Downgrade(what=need, requested=requested, effective=effective, reason=found))
        else:
            self.missing.append((policy, f"needs {needs} ({self.req.origin.get(need, need)}); found {found}"))


def decide(req: HardwareRequirement | None, caps: Capabilities) -> Decision:
    """The decision for a test with requirement ``req`` (None: no hardware marker) on ``caps``."""
    state = _State(caps, req or HardwareRequirement())
    _device(state)
    if not state.missing:
        _gpus(state)
        _vram(state)
        dtype = _dtype(state)
    else:
        dtype = "float32"
    kind = state.device.split(":", 1)[0]
    if state.memory_mb is None and kind != "cpu":
        state.memory_mb = _memory(caps, state.device)
    target = HardwareTarget(device=state.device, dtype=dtype, scale=state.scale, device_count=state.device_count,
                            memory_mb=state.memory_mb, downgrades=tuple(state.downgrades), capabilities=caps)
    if state.missing:
        outcome: Outcome = "fail" if any(p == "fail" for p, _ in state.missing) else "skip"
        return Decision(outcome, target, tuple(text for _, text in state.missing))
    return Decision("downgrade" if state.downgrades else "run", target)


def _device(state: _State) -> None:
    caps, want, cap = state.caps, state.req.device, state.req.min_capability
    best = caps.best_cuda_device()
    if want == "cpu":
        state.device = "cpu"
        return
    if want is None or want == "gpu":
        if best is not None:
            state.device = f"cuda:{_roomiest(caps.devices, state.req.vram_mb).index}"
        elif caps.mps_available:
            state.device = "mps"
        elif want == "gpu":
            state.unmet("device", "gpu", "cpu", "a GPU (CUDA or Apple MPS)", caps.found())
        return
    if want == "mps":
        if caps.mps_available:
            state.device = "mps"
        else:
            state.unmet("device", "mps", "cpu", "Apple MPS", caps.found())
        return
    able = [d for d in caps.devices if cap is None or (d.compute_capability or (0, 0)) >= cap] if caps.gpu_count else []
    if able:
        state.device = f"cuda:{_roomiest(able, state.req.vram_mb).index}"
        return
    needs = (f"{state.req.gpus} CUDA GPUs" if state.req.gpus else "a CUDA GPU") + (
        f" with compute capability >= {cap[0]}.{cap[1]}" if cap else "")
    requested = "cuda" + (f" (sm_{cap[0]}{cap[1]}+)" if cap else "")
    fallback = f"cuda:{best.index}" if best is not None else "cpu"  # a lesser GPU beats the CPU
    state.device = fallback
    state.unmet("device", requested, fallback, needs, caps.found())


def _roomiest(devices: tuple[DeviceInfo, ...] | list[DeviceInfo], vram_mb: int | None) -> DeviceInfo:
    """The device to run on: one with enough memory if any, the best capability, then the most memory."""
    return max(devices, key=lambda d: (vram_mb is None or d.available_mb >= vram_mb,
                                       d.compute_capability or (0, 0), d.available_mb))


def _gpus(state: _State) -> None:
    n = state.req.gpus
    if n is None:
        return
    have = state.caps.gpu_count if state.device.startswith("cuda") else 0
    if have >= n:
        state.device_count = have
        return
    state.device_count = max(have, 1)
    state.unmet("gpus", str(n), str(have) if have else "1 (cpu)", f"{n} CUDA GPUs", state.caps.found())


def _memory(caps: Capabilities, device: str) -> int | None:
    if device.startswith("cuda:"):
        index = int(device.split(":", 1)[1])
        return next(d.available_mb for d in caps.devices if d.index == index)
    if device == "mps":
        return caps.mps_memory_mb or caps.ram_mb
    return caps.ram_mb


def _vram(state: _State) -> None:
    need = state.req.vram_mb
    if need is None:
        return
    caps, device = state.caps, state.device
    on_gpu = device != "cpu"
    if not on_gpu and state.req.device != "cpu" and state.req.on_missing("vram") != "downgrade":
        state.unmet("vram", f"{need} MB", "cpu", f"a GPU with {need} MB of memory", caps.found())
        return
    have = _memory(caps, device)
    state.memory_mb = have
    if have is None:  # RAM unknown on an exotic OS: run at full scale, and say so
        state.downgrades.append(Downgrade(what="vram", requested=f"{need} MB", effective="unknown",
                                          reason=f"the memory of {device} is unknown; scale kept at 1"))
        return
    if have >= need:
        return
    scale = max(0.01, int(have / need * 100) / 100)
    if device == "cpu":
        found = f"{have} MB of RAM on the CPU ({caps.found()})"
    elif device == "mps":
        found = f"{have} MB on Apple MPS [{caps.origin()}]"
    else:
        dev = next(d for d in caps.devices if f"cuda:{d.index}" == device)
        found = f"{have} MB {'free' if dev.free_memory_mb is not None else 'in all'} on {dev.describe()} " \
                f"[{caps.origin()}]"
    state.unmet("vram", f"{need} MB", f"{have} MB (scale {scale:g})", f"{need} MB of {'GPU memory' if on_gpu else 'RAM'}", found)
    if state.req.on_missing("vram") == "downgrade":
        state.scale = scale


def _dtype(state: _State) -> DType:
    caps, device = state.caps, state.device
    wanted = state.req.dtype
    if wanted is None:
        return best_dtype(caps, device)
    got: DType = select_safe_dtype(wanted, caps, device=device)
    if got != wanted:
        where = dtype_reason(caps, device)
        state.unmet("dtype", wanted, got, wanted, f"{where}, where the safe-dtype policy gives {got}")
    return got


def dtype_reason(caps: Capabilities, device: str) -> str:
    """Where the test runs, in words, for a dtype the policy does not allow there."""
    if device == "cpu":
        return f"only the CPU ({caps.found()})" if not caps.has_gpu else "the CPU (the device this test runs on)"
    if device == "mps":
        return f"Apple MPS [{caps.origin()}]"
    dev = next((d for d in caps.devices if f"cuda:{d.index}" == device), None)
    text = dev.describe() if dev else device
    if caps.is_windows_native:
        return f"{text} on native Windows (WDDM) [{caps.origin()}]"
    return f"{text}, without bfloat16 (needs sm_80+) [{caps.origin()}]"
