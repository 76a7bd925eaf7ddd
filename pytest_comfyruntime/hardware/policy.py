"""Seed 004's policy as plain functions: the safe dtype, and VRAM estimates and checks.

Each takes the capabilities to decide on (default: this process's, which a pytest session under
``--comfyruntime-simulate-hardware`` replaces with the simulated ones) and imports no torch.
"""
from __future__ import annotations

import sys
from typing import Any

from pydantic import BaseModel, ConfigDict

from .models import Capabilities, DeviceInfo, DType
from .probe import get_capabilities

DTYPE_CHAIN: tuple[DType, ...] = ("bfloat16", "float16", "float32")
"""The downgrade order: bf16, then fp16, then fp32 (which every device runs)."""

_ALIASES: dict[str, DType] = {
    "float32": "float32", "fp32": "float32", "float": "float32", "f32": "float32",
    "float16": "float16", "fp16": "float16", "half": "float16", "f16": "float16",
    "bfloat16": "bfloat16", "bf16": "bfloat16",
}
_BYTES: dict[DType, int] = {"float32": 4, "float16": 2, "bfloat16": 2}

MODEL_PARAMS_MILLIONS: dict[str, int] = {
    # every component a pipeline loads: denoiser + text encoders + VAE (approximate public figures)
    "sd15": 1_066,          # UNet 860M + CLIP-L 123M + VAE 84M
    "sd21": 1_300,          # UNet 865M + OpenCLIP-H 354M + VAE 84M
    "sdxl": 3_500,          # UNet 2.6B + CLIP-L + OpenCLIP-bigG 695M + VAE
    "sd3-medium": 7_700,    # MMDiT 2B + CLIP-L + CLIP-G + T5-XXL 4.7B + VAE
    "flux-schnell": 16_900,  # transformer 12B + T5-XXL 4.7B + CLIP-L + VAE
    "flux-dev": 16_900,
}


def normalize_dtype(value: Any) -> DType:
    """``"bf16"``, ``"torch.bfloat16"`` or ``torch.bfloat16`` -> ``"bfloat16"``; ValueError otherwise."""
    key = str(value).strip().lower().removeprefix("torch.")
    try:
        return _ALIASES[key]
    except KeyError:
        raise ValueError(f"unknown dtype {value!r}; use float32 (fp32), float16 (fp16) or bfloat16 (bf16)") from None


def device_type_of(device: str | None, caps: Capabilities) -> str:
    """``cuda``, ``mps`` or ``cpu``: the given device's type, or the best one the runner has."""
    if device is not None:
        return device.split(":", 1)[0]
    if caps.gpu_count:
        return "cuda"
    return "mps" if caps.mps_available else "cpu"


def best_dtype(caps: Capabilities, device: str | None = None) -> DType:
    """The seed's table: CPU fp32; native Windows fp16; Ampere or newer bf16; older CUDA fp16; MPS fp16."""
    kind = device_type_of(device, caps)
    if kind == "cpu":
        return "float32"
    if kind == "mps":
        return "float16"
    if caps.is_windows_native:
        return "float16"  # WDDM: bf16 kernels are where the seed's segfaults came from
    dev = _cuda_device(caps, device)
    return "bfloat16" if dev is not None and dev.bf16 else "float16"


def select_safe_dtype(requested: Any = None, caps: Capabilities | None = None, *, device: str | None = None) -> Any:
    """The dtype to use: ``requested`` when the platform runs it safely, else the next one down.

    ``requested`` is a name (``"bf16"``), a ``torch.dtype`` or None (the platform's best). The
    answer has the form of the question: a ``torch.dtype`` for a ``torch.dtype``, else a name.
    """
    caps = get_capabilities() if caps is None else caps
    best = best_dtype(caps, device)
    if requested is None:
        return best
    wanted = normalize_dtype(requested)
    chosen = DTYPE_CHAIN[max(DTYPE_CHAIN.index(wanted), DTYPE_CHAIN.index(best))]
    if type(requested).__module__ == "torch" and "torch" in sys.modules:
        return getattr(sys.modules["torch"], chosen)
    return chosen


def estimate_model_memory_mb(model: str | int, dtype: Any = "float16", *, overhead: float = 1.2) -> int:
    """Weights plus ``overhead`` (activations, workspace) in MB, for a known model or a parameter count."""
    if isinstance(model, bool) or not isinstance(model, (str, int)):
        raise TypeError(f"model must be a model name or a parameter count, got {model!r}")
    if isinstance(model, str):
        try:
            params = MODEL_PARAMS_MILLIONS[model.lower()] * 1_000_000
        except KeyError:
            raise ValueError(f"unknown model {model!r}; known: {', '.join(MODEL_PARAMS_MILLIONS)}; "
                             "or pass the number of parameters") from None
    else:
        params = model
    if params <= 0 or overhead < 1.0:
        raise ValueError(f"need a positive parameter count and overhead >= 1.0, got {params} and {overhead}")
    return int(params * _BYTES[normalize_dtype(dtype)] * overhead / 2**20 + 0.5)


class VramCheck(BaseModel):
    """The answer of :func:`check_vram_sufficient`; true when there is enough."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    required_mb: int
    available_mb: int | None
    safety_margin_mb: int
    device: str | None
    message: str

    def __bool__(self) -> bool:
        return self.ok


def available_memory_mb(caps: Capabilities, device: str | None = None) -> tuple[str | None, int | None]:
    """(device, MB it can give): a CUDA device's free (else total) memory, MPS's, or (None, None)."""
    kind = device_type_of(device, caps)
    if kind == "cuda":
        dev = _cuda_device(caps, device)
        return (f"cuda:{dev.index}", dev.available_mb) if dev else (None, None)
    if kind == "mps" and caps.mps_available:
        return "mps", caps.mps_memory_mb or caps.ram_mb
    if kind == "cpu":
        return "cpu", caps.ram_mb
    return None, None


def check_vram_sufficient(required_mb: int, caps: Capabilities | None = None, *, device: str | None = None,
                          safety_margin_mb: int = 1024) -> VramCheck:
    """Whether ``device`` (default: the best GPU) has ``required_mb`` plus a safety margin."""
    if required_mb < 0 or safety_margin_mb < 0:
        raise ValueError(f"required_mb and safety_margin_mb must be >= 0, got {required_mb}, {safety_margin_mb}")
    caps = get_capabilities() if caps is None else caps
    name, available = available_memory_mb(caps, device)
    need = required_mb + safety_margin_mb
    if name is None or (name == "cpu" and device is None):
        msg = f"Insufficient VRAM: need {need}MB, found {caps.found()}"
        return VramCheck(ok=False, required_mb=required_mb, available_mb=None, safety_margin_mb=safety_margin_mb,
                         device=None, message=msg)
    if available is None:
        return VramCheck(ok=False, required_mb=required_mb, available_mb=None, safety_margin_mb=safety_margin_mb,
                         device=name, message=f"Unknown memory on {name}: need {need}MB")
    ok = available >= need
    verdict = "Sufficient VRAM" if ok else "Insufficient VRAM"
    msg = f"{verdict}: need {need}MB ({required_mb}MB + {safety_margin_mb}MB margin), have {available}MB on {name}"
    return VramCheck(ok=ok, required_mb=required_mb, available_mb=available, safety_margin_mb=safety_margin_mb,
                     device=name, message=msg)


def _cuda_device(caps: Capabilities, device: str | None) -> DeviceInfo | None:
    if not caps.gpu_count:
        return None
    if device and ":" in device:
        index = int(device.split(":", 1)[1])
        for dev in caps.devices:
            if dev.index == index:
                return dev
        raise ValueError(f"no device {device!r}; this runner has {caps.found()}")
    return caps.best_cuda_device()
