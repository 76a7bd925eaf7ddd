"""What the capture hands out: pydantic models, built from the internal records on request.

Only scalars are ever captured (``bool``, ``int``, ``float``, ``str`` of at most
:data:`MAX_STRING` characters, ``None``, or short lists of them): never tensors, images, models
or the prompt itself. An input that is not a scalar is named in ``NodeCapture.skipped``.
"""
from __future__ import annotations

from typing import TypeAlias

from pydantic import BaseModel, ConfigDict, Field, computed_field

Scalar: TypeAlias = bool | int | float | str | None
#: Longest string kept; a longer one is cut and ends with "…[+N chars]".
MAX_STRING = 4096


class HookStats(BaseModel):
    """Time spent in the capture's own work (the originals excluded) for one prompt."""

    model_config = ConfigDict(frozen=True)

    calls: int = 0
    total_s: float = 0.0
    max_s: float = 0.0

    # pydantic's documented form; mypy rejects any decorator stacked above @property.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def mean_us(self) -> float:
        return 1e6 * self.total_s / self.calls if self.calls else 0.0


class NodeCapture(BaseModel):
    """One executed node: its class, its resolved scalar inputs and how long it took."""

    model_config = ConfigDict(frozen=True)

    node_id: str
    class_type: str
    inputs: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)
    skipped: list[str] = Field(default_factory=list, description="inputs that were not scalars")
    started_s: float = Field(description="seconds from the start of the prompt")
    duration_s: float | None = Field(default=None, description="until the next node started or the prompt ended")


class PromptCapture(BaseModel):
    """Everything captured for one prompt, keyed by the ``prompt_id`` ComfyUI passed to ``execute``."""

    model_config = ConfigDict(frozen=True)

    prompt_id: str
    executor_id: int
    started_at: float = Field(description="time.time() when execute was entered")
    duration_s: float | None = None
    complete: bool = Field(False, description="execute returned (or raised) with the capture still on")
    error: str | None = Field(None, description="why the capture stopped during this prompt")
    order: list[str] = Field(default_factory=list, description="node ids in execution order")
    nodes: dict[str, NodeCapture] = Field(default_factory=dict)
    stats: HookStats = HookStats()

    @property
    def inputs(self) -> dict[str, dict[str, object]]:
        """``{node_id: {"class_type": ..., **inputs}}``: the flat shape most save nodes want."""
        return {nid: {"class_type": n.class_type, **n.inputs} for nid, n in self.nodes.items()}


class CaptureStatus(BaseModel):
    """The capture's state: what it patched, what it refused and why."""

    model_config = ConfigDict(frozen=True)

    enabled: bool
    patched: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list, description="targets this executor does not have")
    conflict: bool = False
    auto_disabled: bool = False
    reason: str | None = Field(None, description="why the capture is off (refused, auto-disabled, not opted in)")
    left_installed: list[str] = Field(default_factory=list,
                                      description="our wrappers left under another extension's, as pass-throughs")
    sessions: int = 0
