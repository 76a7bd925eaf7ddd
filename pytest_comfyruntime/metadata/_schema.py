"""The ``ai_info.runtime`` section: pydantic models and the JSON schema ``comfyruntime schema metadata`` prints.

Where it lives: a JSON object ``{"runtime": {...}}`` under the key ``ai_info`` (a PNG text chunk
``ai_info``, an animated PNG's ``comf`` chunk ``ai_info``, ``ai_info:{json}`` in EXIF, XMP or a JPEG
comment, or a JSON document with a top-level ``ai_info``). Inline it holds everything; past the
inline limit it holds ``prompt_id``, ``capture_mode`` and ``sidecar``, and the sidecar file holds
the rest (:class:`RuntimeData`).
"""
from __future__ import annotations

import posixpath
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Scalar: TypeAlias = bool | int | float | str | None
SCHEMA_VERSION = 1


class NodeRuntime(BaseModel):
    """One node as it ran: its class, the resolved scalar inputs and when it ran."""

    model_config = ConfigDict(extra="forbid")

    class_type: str
    inputs: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict, description="resolved scalar inputs (runtime values in parser+hooks mode)")
    skipped: list[str] = Field(default_factory=list, description="inputs that were not scalars (tensors, images)")
    redacted: list[str] = Field(default_factory=list, description="inputs left out because they carry secrets")
    started_s: float | None = Field(default=None, ge=0, description="seconds from the start of the prompt")
    duration_s: float | None = Field(default=None, ge=0, description="until the next node started (None: still running)")


class HookStats(BaseModel):
    """The capture's own cost for this prompt, up to the moment the file was written."""

    model_config = ConfigDict(extra="forbid")

    calls: int = Field(ge=0)
    total_s: float = Field(ge=0)
    max_s: float = Field(ge=0)

    @model_validator(mode="after")
    def _max_within_total(self) -> HookStats:
        if self.max_s > self.total_s * (1 + 1e-9) + 1e-12:
            raise ValueError(f"max_s ({self.max_s}) is more than total_s ({self.total_s})")
        if self.calls == 0 and self.total_s > 0:
            raise ValueError("total_s is above 0 with 0 calls")
        return self


class Disagreement(BaseModel):
    """Where a parser reading the prompt and the runtime capture disagree (seed 001's log line)."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="e.g. ai_info.runtime.nodes.5.inputs.steps")
    parser: Any
    runtime: Any


class SidecarRef(BaseModel):
    """Where the runtime data went when it passed the inline limit."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="relative to the image's folder, '/'-separated")
    size: int = Field(ge=0, description="the sidecar's size in bytes")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the sidecar's bytes, lower-case hex")

    @field_validator("path")
    @classmethod
    def _relative_inside(cls, value: str) -> str:
        normal = posixpath.normpath(value.replace("\\", "/"))
        if not value or value.startswith(("/", "\\")) or (len(value) > 1 and value[1] == ":"):
            raise ValueError(f"{value!r} is not a relative path")
        if normal == ".." or normal.startswith("../"):
            raise ValueError(f"{value!r} leads outside the image's folder")
        return value


CaptureMode: TypeAlias = Literal["parser", "parser+hooks"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = Field(description="the section's schema version")
    prompt_id: str | None = Field(description="ComfyUI's prompt id of the run (None only in parser mode)")
    capture_mode: CaptureMode = Field(
        description="parser: values read from the prompt; parser+hooks: runtime values from execution hooks")
    execution_order: list[str] | None = Field(default=None, description="node ids in the order they executed")
    nodes: dict[str, NodeRuntime] | None = Field(default=None, description="per node id")
    hook_stats: HookStats | None = None
    disagreements: list[Disagreement] = Field(default_factory=list)

    def _check_data(self) -> None:
        if self.nodes is None:
            raise ValueError("'nodes' is missing: the section holds neither the data nor a sidecar reference")
        if self.capture_mode == "parser+hooks":
            missing = [f for f in ("execution_order", "hook_stats") if getattr(self, f) is None]
            if missing or self.prompt_id is None:
                raise ValueError(f"capture_mode 'parser+hooks' needs {', '.join(missing or ['prompt_id'])}")
            unknown = [n for n in self.nodes if n not in self.execution_order]  # type: ignore[operator]
            if unknown:
                raise ValueError(f"nodes {unknown} have runtime inputs but are not in execution_order")
        elif self.hook_stats is not None:
            raise ValueError("capture_mode 'parser' with hook_stats: no hooks ran, or the mode is wrong")


class RuntimeData(_Data):
    """What a sidecar holds: the whole section, without a ``sidecar`` of its own."""

    @model_validator(mode="after")
    def _complete(self) -> RuntimeData:
        self._check_data()
        return self


class RuntimeSection(_Data):
    """``ai_info.runtime``: the data inline, or ``prompt_id``, ``capture_mode`` and ``sidecar``."""

    sidecar: SidecarRef | None = Field(default=None, description="set when the data is in a sidecar file")

    @model_validator(mode="after")
    def _inline_or_sidecar(self) -> RuntimeSection:
        if self.sidecar is None:
            self._check_data()
            return self
        inline = [f for f in ("execution_order", "nodes", "hook_stats") if getattr(self, f) is not None]
        if inline or self.disagreements:
            raise ValueError(f"both a sidecar and inline data ({', '.join(inline or ['disagreements'])}); "
                             "keep the data in one place")
        return self

    @property
    def inline(self) -> bool:
        return self.sidecar is None


class AiInfo(BaseModel):
    """The ``ai_info`` object: ``runtime`` here; other keys belong to the extension and are kept."""

    model_config = ConfigDict(extra="allow")

    runtime: RuntimeSection


def metadata_schema() -> dict[str, Any]:
    """The JSON schema (draft 2020-12) of the ``ai_info`` object, with the sidecar's as ``$defs.RuntimeData``."""
    schema = AiInfo.model_json_schema()
    sidecar = RuntimeData.model_json_schema()
    defs = {**schema.pop("$defs", {}), **sidecar.pop("$defs", {}), "RuntimeData": sidecar}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "$defs": defs,
            "title": f"pytest-comfyruntime ai_info.runtime metadata, schema version {SCHEMA_VERSION}"}


__all__ = ["AiInfo", "CaptureMode", "Disagreement", "HookStats", "NodeRuntime", "RuntimeData", "RuntimeSection",
           "SCHEMA_VERSION", "Scalar", "SidecarRef", "metadata_schema"]
