"""The hardware markers: their arguments, validated, merged into one :class:`HardwareRequirement`.

A test may carry several (on itself, its class, its module); each adds needs. Where two set the
same need, the stricter value wins (the higher capability, more VRAM, more GPUs, the more
specific device) and so does the stricter ``on_missing`` (fail > skip > downgrade).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from .models import DType
from .policy import normalize_dtype

OnMissing = Literal["skip", "downgrade", "fail"]
Need = Literal["device", "gpus", "vram", "dtype"]
DeviceKind = Literal["cpu", "gpu", "cuda", "mps"]

ON_MISSING: Final[tuple[OnMissing, ...]] = ("downgrade", "skip", "fail")  # in order of strictness

MARKERS: Final[dict[str, str]] = {
    "gpu": "gpu(on_missing='skip'): needs a GPU (CUDA or Apple MPS)",
    "cuda": "cuda(min_capability=None, on_missing='skip'): needs a CUDA GPU, of at least compute "
            "capability min_capability, e.g. (8, 0)",
    "bf16": "bf16(on_missing='skip'): needs bfloat16 by the safe-dtype policy (CUDA sm_80+ on Linux/WSL2)",
    "vram": "vram(min_mb, on_missing='skip'): needs a GPU with min_mb MB of memory available",
    "multi_gpu": "multi_gpu(n=2, on_missing='skip'): needs n CUDA GPUs",
    "mps": "mps(on_missing='skip'): needs Apple MPS",
    "hardware": "hardware(device=None, dtype=None, vram_mb=None, on_missing='skip'): needs device "
                "(cpu, gpu, cuda, mps), dtype (float32, float16, bfloat16) and/or vram_mb; when missing: "
                "skip, downgrade (run on the best the runner has; see comfy_hw) or fail",
}
"""Marker name -> the line registered with pytest (``--markers``; ``--strict-markers`` accepts them)."""

HARDWARE_MARKERS: Final[frozenset[str]] = frozenset(MARKERS)
_DEVICES: Final[tuple[str, ...]] = ("cpu", "gpu", "cuda", "mps")
_ACCEPTS: Final[dict[str, tuple[str, ...]]] = {
    "gpu": (), "cuda": ("min_capability",), "bf16": (), "vram": ("min_mb",), "multi_gpu": ("n",), "mps": (),
    "hardware": ("device", "dtype", "vram_mb"),
}


class MarkerError(ValueError):
    """A hardware marker with a wrong argument; the message names the marker and the argument."""


@dataclass
class HardwareRequirement:
    """What a test needs, merged from its hardware markers; ``policy[need]`` says what to do without it."""

    device: DeviceKind | None = None
    min_capability: tuple[int, int] | None = None
    gpus: int | None = None
    vram_mb: int | None = None
    dtype: DType | None = None
    policy: dict[Need, OnMissing] = field(default_factory=dict)
    origin: dict[Need, str] = field(default_factory=dict)

    def on_missing(self, need: Need) -> OnMissing:
        return self.policy.get(need, "skip")

    def _set_policy(self, need: Need, on_missing: OnMissing, origin: str) -> None:
        old = self.policy.get(need)
        if old is None or ON_MISSING.index(on_missing) > ON_MISSING.index(old):
            self.policy[need] = on_missing
        self.origin.setdefault(need, origin)


def describe_mark(name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    """``@pytest.mark.cuda(min_capability=(8, 0))``, for messages."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"@pytest.mark.{name}" + (f"({', '.join(parts)})" if parts else "")


_PARSED: dict[tuple[tuple[str, str, str], ...], HardwareRequirement] = {}
_PARSED_MAX: Final = 4096


def requirement_from_marks(marks: Iterable[Any]) -> HardwareRequirement | None:
    """Merges ``pytest.Mark`` objects (others than the hardware ones are ignored); None if none.

    The answer is shared between tests whose hardware marks are written alike (they are keyed by
    ``repr``, so ``1`` and ``True`` differ): treat it as read-only.
    """
    hw = [m for m in marks if m.name in HARDWARE_MARKERS]
    if not hw:
        return None
    key = tuple((m.name, repr(m.args), repr(m.kwargs)) for m in hw)
    req = _PARSED.get(key)
    if req is None:
        req = HardwareRequirement()
        for mark in hw:
            add_marker(req, mark.name, mark.args, mark.kwargs)
        if len(_PARSED) < _PARSED_MAX:
            _PARSED[key] = req
    return req


def add_marker(req: HardwareRequirement, name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    """Validates one marker's arguments and adds its needs to ``req``; :class:`MarkerError` if wrong."""
    origin = describe_mark(name, args, kwargs)
    values = _bind(name, args, kwargs, origin)
    on_missing = _on_missing(values.pop("on_missing", "skip"), origin)
    if name == "gpu":
        _need_device(req, "gpu", on_missing, origin)
    elif name == "mps":
        _need_device(req, "mps", on_missing, origin)
    elif name == "cuda":
        cap = values.get("min_capability")
        if cap is not None:
            cap = _capability(cap, origin)
            req.min_capability = max(req.min_capability or cap, cap)
        _need_device(req, "cuda", on_missing, origin)
    elif name == "bf16":
        _need_dtype(req, "bfloat16", on_missing, origin)
    elif name == "vram":
        if "min_mb" not in values:
            raise MarkerError(f"{origin}: min_mb is required, e.g. @pytest.mark.vram(8000) for 8000 MB")
        _need_vram(req, _positive_int(values["min_mb"], "min_mb", origin), on_missing, origin, implies_gpu=True)
    elif name == "multi_gpu":
        n = _positive_int(values.get("n", 2), "n", origin)
        if n < 2:
            raise MarkerError(f"{origin}: n={n} is not several GPUs; use @pytest.mark.cuda for one")
        req.gpus = max(req.gpus or n, n)
        req._set_policy("gpus", on_missing, origin)
        _need_device(req, "cuda", on_missing, origin)
    else:  # hardware
        if not values:
            raise MarkerError(f"{origin}: give at least one of device=, dtype=, vram_mb=")
        device = values.get("device")
        if device is not None:
            if device not in _DEVICES:
                raise MarkerError(f"{origin}: device={device!r} is not one of {', '.join(map(repr, _DEVICES))}")
            _need_device(req, device, on_missing, origin)
        if values.get("dtype") is not None:
            try:
                dtype = normalize_dtype(values["dtype"])
            except ValueError as exc:
                raise MarkerError(f"{origin}: dtype=: {exc}") from None
            _need_dtype(req, dtype, on_missing, origin)
        if values.get("vram_mb") is not None:
            mb = _positive_int(values["vram_mb"], "vram_mb", origin)
            _need_vram(req, mb, on_missing, origin, implies_gpu=device is None)


def _bind(name: str, args: Sequence[Any], kwargs: Mapping[str, Any], origin: str) -> dict[str, Any]:
    accepted = _ACCEPTS[name]
    unknown = sorted(set(kwargs) - set(accepted) - {"on_missing"})
    if unknown:
        allowed = ", ".join(f"{a}=" for a in (*accepted, "on_missing"))
        raise MarkerError(f"{origin}: unknown argument(s) {', '.join(unknown)}; accepted: {allowed}")
    positional = accepted if name != "hardware" else ()
    if len(args) > len(positional):
        what = f"takes at most {len(positional)} positional argument ({positional[0]})" if positional else \
            "takes keyword arguments only"
        raise MarkerError(f"{origin}: {what}, got {len(args)}")
    values = dict(zip(positional, args))
    for key, value in kwargs.items():
        if key in values:
            raise MarkerError(f"{origin}: {key} given twice (positionally and as {key}=)")
        values[key] = value
    return values


def _on_missing(value: Any, origin: str) -> OnMissing:
    if value not in ON_MISSING:
        raise MarkerError(f"{origin}: on_missing={value!r} is not one of 'skip', 'downgrade', 'fail'")
    checked: OnMissing = value  # one of ON_MISSING, checked above
    return checked


def _positive_int(value: Any, arg: str, origin: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise MarkerError(f"{origin}: {arg}={value!r} must be a positive whole number")
    return value


def _capability(value: Any, origin: str) -> tuple[int, int]:
    if isinstance(value, str) and value.count(".") == 1 and value.replace(".", "").isdigit():
        major, minor = value.split(".")
        return int(major), int(minor)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        return int(value[0]), int(value[1])
    raise MarkerError(f"{origin}: min_capability={value!r} must be a (major, minor) tuple such as (8, 0)")


def _need_device(req: HardwareRequirement, device: DeviceKind, on_missing: OnMissing, origin: str) -> None:
    current = req.device
    if current is None or current == "gpu" and device in ("cuda", "mps"):
        req.device = device
        req.origin["device"] = origin
    elif current != device and not (device == "gpu" and current in ("cuda", "mps")):
        raise MarkerError(f"{origin}: conflicts with {req.origin.get('device', 'another marker')} "
                          f"(device {device} and {current}); a test runs on one kind of device")
    req._set_policy("device", on_missing, origin)


def _need_dtype(req: HardwareRequirement, dtype: DType, on_missing: OnMissing, origin: str) -> None:
    if req.dtype is not None and req.dtype != dtype:
        raise MarkerError(f"{origin}: conflicts with {req.origin.get('dtype')} (dtype {dtype} and {req.dtype})")
    req.dtype = dtype
    req._set_policy("dtype", on_missing, origin)


def _need_vram(req: HardwareRequirement, mb: int, on_missing: OnMissing, origin: str, *, implies_gpu: bool) -> None:
    if req.vram_mb is None or mb > req.vram_mb:
        req.vram_mb = mb
        req.origin["vram"] = origin
    req._set_policy("vram", on_missing, origin)
    if implies_gpu and req.device != "cpu":
        _need_device(req, "gpu", on_missing, origin)
