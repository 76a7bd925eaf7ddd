"""V1 nodes that expand into subgraphs (eras B on), built with the active ComfyUI's
``GraphBuilder``; kept out of the CR pack (:data:`EXPANSION_NODE_CLASS_MAPPINGS`): register them
where expansion is wanted.
"""
from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from ._types import InputTypes
from .basic import _INT_OPTS, CATEGORY


def _graph_builder() -> Any:
    """A ``GraphBuilder`` of the ComfyUI in use (mock or real), with the executor's default prefix."""
    import importlib

    return importlib.import_module("comfy_execution.graph_utils").GraphBuilder()


class CRRepeatAdd:
    """Expands (subgraph expansion, eras B on) into ``times`` chained CRAdd nodes that add
    ``value`` up; its result links into the subgraph. Built with the active ComfyUI's
    ``comfy_execution.graph_utils.GraphBuilder``, so the ids carry the executor's default prefix
    (``"<node id>.<call>.<graph>."``)."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {"value": ("INT", {"default": 1, **_INT_OPTS}),
                             "times": ("INT", {"default": 2, "min": 1, "max": 16})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    CATEGORY = CATEGORY

    def run(self, value: int, times: int) -> dict[str, Any]:
        graph = _graph_builder()
        previous: Any = value
        for _ in range(times):
            previous = graph.node("CRAdd", a=previous, b=value).out(0)
        return {"result": (previous,), "expand": graph.finalize()}


class CRExpandRecord:
    """Expands into a CRRecord (an ephemeral output node, shown under ``display`` when it is not
    empty) of ``value`` and passes ``value`` on, so the expanded output node shows in the messages
    and the history with its ``display_node`` and ``parent_node``."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {"value": ("INT", {"default": 0, **_INT_OPTS}),
                             "label": ("STRING", {"default": ""}),
                             "display": ("STRING", {"default": ""})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    CATEGORY = CATEGORY

    def run(self, value: int, label: str, display: str) -> dict[str, Any]:
        graph = _graph_builder()
        record = graph.node("CRRecord", value=value, label=label)
        if display:
            record.set_override_display_id(display)
        return {"result": (value,), "expand": graph.finalize()}


#: V1 nodes that expand into subgraphs (ComfyUI from August 2024 on: eras B, C and D). Not part
#: of :data:`TEST_NODE_CLASS_MAPPINGS`: register them where expansion is wanted (era A has none).
EXPANSION_NODE_CLASS_MAPPINGS: Final[Mapping[str, type]] = MappingProxyType({
    "CRRepeatAdd": CRRepeatAdd,
    "CRExpandRecord": CRExpandRecord,
})


__all__ = ["CRExpandRecord", "CRRepeatAdd", "EXPANSION_NODE_CLASS_MAPPINGS"]
