"""Hardware capabilities, the safe-dtype policy, VRAM checks and hardware-marker evaluation.

Usable without pytest. Importing this package never imports torch: ``get_capabilities()`` does,
once per process, on its first call (then NVML, then nothing, if torch is absent or broken).
"""
from __future__ import annotations

from .decide import Decision, decide
from .models import Capabilities, DeviceInfo, Downgrade, DType, HardwareTarget
from .policy import (
    VramCheck,
    best_dtype,
    check_vram_sufficient,
    estimate_model_memory_mb,
    normalize_dtype,
    select_safe_dtype,
)
from .probe import get_capabilities, inspect_capabilities, inspection_count, use_capabilities
from .requirements import HARDWARE_MARKERS, HardwareRequirement, MarkerError, requirement_from_marks
from .simulate import GRAMMAR, HardwareSpecError, parse_hardware_spec

__all__ = [
    "GRAMMAR",
    "HARDWARE_MARKERS",
    "Capabilities",
    "DType",
    "Decision",
    "DeviceInfo",
    "Downgrade",
    "HardwareRequirement",
    "HardwareSpecError",
    "HardwareTarget",
    "MarkerError",
    "VramCheck",
    "best_dtype",
    "check_vram_sufficient",
    "decide",
    "estimate_model_memory_mb",
    "get_capabilities",
    "inspect_capabilities",
    "inspection_count",
    "normalize_dtype",
    "parse_hardware_spec",
    "requirement_from_marks",
    "select_safe_dtype",
    "use_capabilities",
]
