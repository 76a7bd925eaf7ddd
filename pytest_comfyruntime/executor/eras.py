"""The ComfyUI generations the mock reproduces, and how to name them."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Era:
    """One generation of ComfyUI's executor."""

    key: str
    name: str
    comfyui_versions: str
    executor_model: str
    overlays: tuple[str, ...]
    modules: frozenset[str]

    @property
    def label(self) -> str:
        return f"{self.key} ({self.name})"


_COMMON: Final = frozenset({"execution", "nodes", "server", "folder_paths", "comfy"})

ERAS: Final[dict[str, Era]] = {
    "A": Era("A", "2024-recursive", "ComfyUI of early 2024 (before August 2024)", "recursive_execute",
             ("era_a", "common"), _COMMON),
    "B": Era("B", "2024-sync", "ComfyUI of August 2024 to early 2025", "synchronous ExecutionList",
             ("era_b", "bc", "common"), _COMMON | {"comfy_execution"}),
    "C": Era("C", "2025-async", "ComfyUI 0.3.4x to 0.3.75", "asynchronous ExecutionList",
             ("era_c", "bc", "common"), _COMMON | {"comfy_execution"}),
    # Read, not run: built from reading ComfyUI's 2026 source (see mock_root/era_d/execution.py).
    "D": Era("D", "2026", "ComfyUI of 2026 (0.35 to 0.38 and master; read, not run)",
             "asynchronous ExecutionList with cache providers",
             ("era_d", "bc", "common"), _COMMON | {"comfy_execution", "comfy_api", "latent_preview"}),
}
DEFAULT_ERA: Final = "D"

_ALIASES: Final = {
    "a": "A", "recursive": "A", "2024-recursive": "A",
    "b": "B", "sync": "B", "2024-sync": "B",
    "c": "C", "async": "C", "2025-async": "C", "2025": "C",
    "d": "D", "2026": "D",
}

#: Every top-level module name the stand-ins may own, in any era.
MANAGED_TOP_LEVEL: Final = frozenset().union(*(era.modules for era in ERAS.values()))


def resolve_era(value: str) -> Era:
    """``"C"``, ``"c"``, ``"async"`` or ``"2025-async"`` -> the era; ValueError listing the choices."""
    key = _ALIASES.get(value.strip().lower())
    if key is None:
        choices = ", ".join(f"{e.key} ({e.name})" for e in ERAS.values())
        raise ValueError(f"unknown ComfyUI era {value!r}; choose one of {choices}")
    return ERAS[key]


def resolve_eras(value: str | Iterable[str]) -> tuple[str, ...]:
    """``"all"``, ``"A,C"`` or ``["a", "2026"]`` -> the era keys in the order given, each once;
    ValueError naming the first unknown one (or saying that none was given)."""
    if isinstance(value, str):
        value = list(ERAS) if value.strip().lower() == "all" else [v for v in value.split(",") if v.strip()]
    keys: list[str] = []
    for item in value:
        key = resolve_era(item).key
        if key not in keys:
            keys.append(key)
    if not keys:
        raise ValueError("no era given")
    return tuple(keys)


def version_tuple(version: str) -> tuple[int, ...]:
    """``"0.3.75"`` -> ``(0, 3, 75)``: the first three numbers of a ComfyUI version string."""
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])
