"""Simulated hardware for CPU CI: ``"cuda:sm_80:24GB:bf16"`` -> :class:`Capabilities`.

Every decision (markers, ``comfy_hw``, the dtype policy, VRAM checks) then runs as it would on
that hardware, so a runner without a GPU tests every path. Nothing is executed on a GPU: a test
that really moves tensors to ``comfy_hw.device`` under a simulated ``cuda`` will fail.
"""
from __future__ import annotations

import os
import platform
import re
from typing import Any

from .models import Capabilities, DeviceInfo, Platform
from .probe import installed_torch_version

GRAMMAR = """\
hardware spec grammar:  KIND[:TOKEN]...
  KIND    cpu (no GPU) | cuda | mps
  TOKEN   sm_XY          CUDA compute capability X.Y, e.g. sm_75, sm_80, sm_86, sm_90, sm_120 (default sm_80)
          <N>GB | <N>MB  memory per CUDA device, or MPS memory (default 24GB for cuda, 16GB for mps)
          free=<N>GB     free memory per CUDA device (default: all of it)
          x<N>           number of CUDA devices (default 1)
          bf16 | no-bf16 bf16 support (default: sm_80 or newer)
          linux | wsl2 | windows | macos   platform (default linux; macos for mps)
          ram=<N>GB      system RAM (default 32GB)
          name=<TEXT>    CUDA device name (default 'Simulated GPU')
examples: cpu | cuda:sm_80:24GB:bf16 | cuda:sm_75:16GB | cuda:sm_86:12GB:x4 | cuda:sm_89:24GB:windows | mps:16GB"""

_OS: dict[str, str] = {"linux": "Linux", "wsl2": "Linux", "windows": "Windows", "macos": "Darwin"}
_SM = re.compile(r"^sm_(\d+)(\d)$")
_MEM = re.compile(r"^(\d+(?:\.\d+)?)(GB|MB|GIB|MIB)$", re.IGNORECASE)
_COUNT = re.compile(r"^x(\d+)$")


class HardwareSpecError(ValueError):
    """A malformed simulation spec; the message shows the grammar."""

    def __init__(self, spec: str, problem: str, where: str = "--comfyruntime-simulate-hardware") -> None:
        super().__init__(f"pytest-comfyruntime: bad hardware spec {spec!r} ({where}): {problem}\n{GRAMMAR}")


def _mb(text: str) -> int | None:
    match = _MEM.match(text)
    if not match:
        return None
    value, unit = float(match.group(1)), match.group(2).upper()
    return int(value * 1024) if unit in ("GB", "GIB") else int(value)


def parse_hardware_spec(spec: str, *, where: str = "--comfyruntime-simulate-hardware") -> Capabilities:
    """The capabilities ``spec`` describes; :class:`HardwareSpecError` (with the grammar) if malformed."""
    if not isinstance(spec, str) or not spec.strip():
        raise HardwareSpecError(str(spec), "empty spec", where)
    kind, *tokens = [t.strip() for t in spec.strip().split(":")]
    kind = kind.lower()
    if kind not in ("cpu", "cuda", "mps"):
        raise HardwareSpecError(spec, f"unknown kind {kind!r}; start with cpu, cuda or mps", where)
    opts: dict[str, Any] = {}
    for token in tokens:
        low = token.lower()
        key, value = _token(low, token)
        if key is None:
            raise HardwareSpecError(spec, f"unknown token {token!r}", where)
        if key in opts:
            raise HardwareSpecError(spec, f"{key} given twice ({token!r})", where)
        if key in ("sm", "free", "count", "name", "bf16") and kind != "cuda":
            raise HardwareSpecError(spec, f"{token!r} only applies to cuda", where)
        if key == "memory" and kind == "cpu":
            raise HardwareSpecError(spec, f"{token!r}: cpu has no GPU memory (use ram=<N>GB)", where)
        opts[key] = value
    if opts.get("count") == 0:
        raise HardwareSpecError(spec, "x0: a cuda spec needs at least one device (use 'cpu' for none)", where)
    return _build(kind, opts, spec)


def _token(low: str, raw: str) -> tuple[str | None, Any]:
    if match := _SM.match(low):
        return "sm", (int(match.group(1)), int(match.group(2)))
    if low in ("bf16", "no-bf16"):
        return "bf16", low == "bf16"
    if low in _OS:
        return "platform", low
    if match := _COUNT.match(low):
        return "count", int(match.group(1))
    if low.startswith("free=") and (mb := _mb(low[5:])) is not None:
        return "free", mb
    if low.startswith("ram=") and (mb := _mb(low[4:])) is not None:
        return "ram", mb
    if low.startswith("name=") and len(raw) > 5:
        return "name", raw[5:]
    if (mb := _mb(low)) is not None:
        return "memory", mb
    return None, None


def _build(kind: str, opts: dict[str, Any], spec: str) -> Capabilities:
    plat: Platform = opts.get("platform", "macos" if kind == "mps" else "linux")
    devices: tuple[DeviceInfo, ...] = ()
    if kind == "cuda":
        cap = opts.get("sm", (8, 0))
        total = opts.get("memory", 24 * 1024)
        free = min(opts.get("free", total), total)
        name = opts.get("name", "Simulated GPU")
        bf16 = opts.get("bf16", cap >= (8, 0))
        devices = tuple(DeviceInfo(index=i, name=name, compute_capability=cap, total_memory_mb=total,
                                   free_memory_mb=free, bf16=bf16) for i in range(opts.get("count", 1)))
    return Capabilities(
        os=_OS.get(plat, "unknown"), platform=plat, python=platform.python_version(),
        torch_version=installed_torch_version(), cuda_available=bool(devices),
        cuda_runtime="simulated" if devices else None, devices=devices, mps_available=kind == "mps",
        mps_memory_mb=opts.get("memory", 16 * 1024) if kind == "mps" else None,
        cpu_count=os.cpu_count() or 1, ram_mb=opts.get("ram", 32 * 1024), source="simulated",
        simulated_spec=spec.strip())


def restrict_to_device(caps: Capabilities, index: int, pinned: str) -> Capabilities:
    """``caps`` as a process pinned to CUDA device ``index`` sees them (it becomes ``cuda:0``)."""
    chosen = tuple(d.model_copy(update={"index": 0}) for d in caps.devices if d.index == index)
    return caps.model_copy(update={"devices": chosen, "cuda_available": bool(chosen), "pinned": pinned})
