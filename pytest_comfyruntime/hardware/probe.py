"""Capability inspection: torch first, then NVML (nvidia-ml-py), then nothing, never failing.

``get_capabilities()`` inspects once per process and caches the answer; torch is imported there
and nowhere else, so a process imports it at most once, and only when something asks.
``inspect_capabilities(use_torch=False)`` is the light probe for pytest's header: it never
imports torch (NVML is used when nvidia-ml-py is installed).
"""
from __future__ import annotations

import importlib
import importlib.metadata
import os
import platform
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .models import LIGHT_PROBE_NOTE, Capabilities, DeviceInfo, Platform

Importer = Callable[[str], ModuleType]

_LOCK = threading.Lock()
_CACHE: Capabilities | None = None
_INSPECTIONS = 0
_OVERRIDES: list[Capabilities] = []


def get_capabilities(*, force_refresh: bool = False) -> Capabilities:
    """This process's capabilities, inspected on the first call (torch imported then) and cached.

    While :func:`use_capabilities` is in force (a simulated session), its capabilities instead.
    """
    global _CACHE, _INSPECTIONS
    if _OVERRIDES:
        return _OVERRIDES[-1]
    with _LOCK:
        if _CACHE is None or force_refresh:
            _CACHE = inspect_capabilities()
            _INSPECTIONS += 1
        return _CACHE


def use_capabilities(caps: Capabilities) -> Callable[[], None]:
    """Makes ``get_capabilities()`` answer ``caps`` (a simulation); returns the undo."""
    _OVERRIDES.append(caps)

    def undo() -> None:  # idempotent; removes this entry even if others were pushed after it
        for i in range(len(_OVERRIDES) - 1, -1, -1):
            if _OVERRIDES[i] is caps:
                del _OVERRIDES[i]
                return

    return undo


def cached_capabilities() -> Capabilities | None:
    """The cached capabilities if this process inspected already, else None (never inspects)."""
    return _CACHE


def inspection_count() -> int:
    """How many full inspections this process ran (1 after the first ``get_capabilities``)."""
    return _INSPECTIONS


def inspect_capabilities(*, use_torch: bool = True, importer: Importer = importlib.import_module) -> Capabilities:
    """Inspects now, uncached. ``importer`` imports torch / pynvml (tests pass fakes)."""
    base = _base_facts()
    notes: list[str] = []
    if use_torch:
        facts = _torch_facts(importer, notes)
        if facts is not None:
            return Capabilities(**{**base, **facts}, source="torch", notes=tuple(notes))
    else:
        notes.append(LIGHT_PROBE_NOTE)
    facts = _nvml_facts(importer, notes)
    if facts is not None:
        return Capabilities(**{**base, **facts}, source="nvml", notes=tuple(notes))
    return Capabilities(**base, source="none", notes=tuple(notes))


def detect_platform(system: str | None = None, release: str | None = None,
                    proc_version: str | None = None) -> Platform:
    """``windows`` (native), ``wsl2``, ``linux``, ``macos`` or ``other``."""
    system = platform.system() if system is None else system
    release = platform.release() if release is None else release
    if system == "Windows":
        return "windows"
    if system == "Darwin":
        return "macos"
    if system == "Linux":
        if proc_version is None:
            try:
                with open("/proc/version", encoding="utf-8", errors="replace") as fh:
                    proc_version = fh.read()
            except OSError:
                proc_version = ""
        if "microsoft" in release.lower() or "microsoft" in proc_version.lower():
            return "wsl2"
        return "linux"
    return "other"


def ram_mb() -> int | None:
    """Total physical memory in MB, or None where it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (AttributeError, ValueError, OSError):
        pass
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows runners only
        import ctypes

        class _Status(ctypes.Structure):
            _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                        ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                        ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                        ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                        ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

        status = _Status()
        status.dwLength = ctypes.sizeof(_Status)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
            return int(status.ullTotalPhys // 2**20)
    return None


def installed_torch_version() -> str | None:
    """torch's version from its distribution metadata: no import."""
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def _base_facts() -> dict[str, Any]:
    return {"os": platform.system() or "unknown", "platform": detect_platform(),
            "python": platform.python_version(), "cpu_count": os.cpu_count() or 1, "ram_mb": ram_mb(),
            "torch_version": installed_torch_version()}


def _torch_facts(importer: Importer, notes: list[str]) -> dict[str, Any] | None:
    try:
        torch = importer("torch")
    except ImportError as exc:
        notes.append(f"torch not importable ({exc})")
        return None
    except Exception as exc:  # a broken install raises anything at import; say so and fall back
        notes.append(f"importing torch failed: {type(exc).__name__}: {exc}")
        return None
    try:
        return _read_torch(torch)
    except Exception as exc:  # a broken driver raises from torch.cuda; say so and fall back
        notes.append(f"torch could not inspect the GPUs: {type(exc).__name__}: {exc}")
        return None


def _read_torch(torch: Any) -> dict[str, Any]:
    cuda = torch.cuda.is_available()
    devices = []
    if cuda:
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            free, total = torch.cuda.mem_get_info(i)
            cap = (int(props.major), int(props.minor))
            devices.append(DeviceInfo(index=i, name=str(props.name), compute_capability=cap,
                                      total_memory_mb=int(total) // 2**20, free_memory_mb=int(free) // 2**20,
                                      bf16=cap >= (8, 0)))
    mps_backend = getattr(getattr(torch, "backends", None), "mps", None)
    mps = bool(mps_backend is not None and mps_backend.is_available())
    mps_mb = None
    if mps:
        recommended = getattr(getattr(torch, "mps", None), "recommended_max_memory", None)
        mps_mb = int(recommended()) // 2**20 if recommended else ram_mb()
    return {"torch_version": str(torch.__version__).split("+")[0], "cuda_available": cuda and bool(devices),
            "cuda_runtime": getattr(torch.version, "cuda", None), "devices": tuple(devices),
            "mps_available": mps, "mps_memory_mb": mps_mb}


def _nvml_facts(importer: Importer, notes: list[str]) -> dict[str, Any] | None:
    try:
        nvml = importer("pynvml")
    except ImportError:
        notes.append("NVML not used (nvidia-ml-py is not installed)")
        return None
    try:
        nvml.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound / DriverNotLoaded: no NVIDIA driver here
        notes.append(f"NVML unavailable: {type(exc).__name__}: {exc}")
        return None
    try:
        version = nvml.nvmlSystemGetCudaDriverVersion_v2()
        handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
        devices = []
        for index, handle in enumerate(_visible(nvml, handles)):
            name = nvml.nvmlDeviceGetName(handle)
            cap = tuple(int(x) for x in nvml.nvmlDeviceGetCudaComputeCapability(handle))
            mem = nvml.nvmlDeviceGetMemoryInfo(handle)
            devices.append(DeviceInfo(index=index, name=name.decode() if isinstance(name, bytes) else str(name),
                                      compute_capability=(cap[0], cap[1]), total_memory_mb=int(mem.total) // 2**20,
                                      free_memory_mb=int(mem.free) // 2**20, bf16=cap >= (8, 0)))
    except Exception as exc:  # a half-working driver: report it, fall back to nothing
        notes.append(f"NVML query failed: {type(exc).__name__}: {exc}")
        return None
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception as exc:
            notes.append(f"NVML shutdown failed: {type(exc).__name__}: {exc}")
    return {"cuda_available": bool(devices), "cuda_runtime": f"{version // 1000}.{version % 1000 // 10}",
            "devices": tuple(devices)}


def _visible(nvml: Any, handles: list[Any]) -> list[Any]:
    """NVML sees every GPU; keep those ``CUDA_VISIBLE_DEVICES`` lets CUDA see, in its order."""
    spec = os.environ.get("CUDA_VISIBLE_DEVICES")
    if spec is None:
        return handles
    chosen = []
    for entry in (e.strip() for e in spec.split(",")):
        if entry.isdigit() and int(entry) < len(handles):
            chosen.append(handles[int(entry)])
        elif entry.startswith(("GPU-", "MIG-")):
            match = [h for h in handles if _uuid(nvml, h).startswith(entry)]
            if not match:
                break
            chosen.append(match[0])
        else:
            break  # CUDA stops at the first invalid entry
    return chosen


def _uuid(nvml: Any, handle: Any) -> str:
    uuid = nvml.nvmlDeviceGetUUID(handle)
    return uuid.decode() if isinstance(uuid, bytes) else str(uuid)
