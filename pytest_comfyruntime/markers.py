"""``@pytest.mark.comfyui(min_version=..., era=...)``: which ComfyUI a test needs."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .executor.eras import resolve_era, version_tuple

_VERSION = re.compile(r"^\d+(\.\d+){0,2}$")


@dataclass(frozen=True)
class ComfyUIRequirement:
    min_version: str | None = None
    eras: frozenset[str] | None = None

    @classmethod
    def from_marker(cls, args: Sequence[Any], kwargs: Mapping[str, Any]) -> ComfyUIRequirement:
        """Validates the marker's arguments; ValueError names the wrong one and the accepted form."""
        if args:
            raise ValueError(f"takes keyword arguments only (min_version=, era=), got positional {args!r}")
        unknown = set(kwargs) - {"min_version", "era"}
        if unknown:
            raise ValueError(f"unknown argument(s) {sorted(unknown)}; accepted: min_version=, era=")
        min_version = kwargs.get("min_version")
        if min_version is not None and (not isinstance(min_version, str) or not _VERSION.match(min_version)):
            raise ValueError(f"min_version={min_version!r} is not a version like '0.3.60'")
        era = kwargs.get("era")
        eras = None
        if era is not None:
            items = [era] if isinstance(era, str) else list(era) if isinstance(era, (list, tuple, set, frozenset)) else None
            if not items or not all(isinstance(e, str) for e in items):
                raise ValueError(f"era={era!r} must be an era name or a list of them, e.g. era='C' or era=['B', 'C']")
            eras = frozenset(resolve_era(e).key for e in items)
        return cls(min_version, eras)

    def unmet(self, era: str, version: str | None) -> str | None:
        """Why a ComfyUI of ``era`` / ``version`` does not satisfy this, or None if it does."""
        if self.eras is not None and era not in self.eras:
            return f"needs ComfyUI era {'/'.join(sorted(self.eras))}, this is era {era}"
        if self.min_version is not None:
            if version is None or not _VERSION.match(version):
                return (f"needs ComfyUI >= {self.min_version}, this is era {era} whose version is unknown "
                        "(ComfyUI had no version file then); use era= to select it")
            if version_tuple(version) < version_tuple(self.min_version):
                return f"needs ComfyUI >= {self.min_version}, this is {version}"
        return None
