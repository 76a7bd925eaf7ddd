"""The ``CR`` test pack: tiny pure-Python ComfyUI "V1" nodes for exercising an executor.

Every class_type starts with ``CR`` so the pack never collides with ComfyUI's own nodes; the
same classes are registered into the mock's and into real ComfyUI's ``nodes.NODE_CLASS_MAPPINGS``
(eras A, B and C), and validate and run in both.

Types. Numbers and text use ComfyUI's concrete types (``INT``, ``FLOAT``, ``STRING``,
``BOOLEAN``). Inputs and outputs that pass any value through (``CRSwitch``, ``CRFail``,
``CRBurn``, ``CRChanging``, ``CRRecord``) use :data:`ANY`, a ``str`` subclass equal to ``"*"``
whose ``__ne__`` answers ``False``. A plain ``"*"`` would not work: no era treats ``"*"``
specially when it checks a link. Eras A and B compare ``received_type != input_type`` and era C
calls ``comfy_execution.validation.validate_node_input``, which returns ``True`` at once when
``not received_type != input_type``, then compares comma-separated sets (``"*"`` matches
nothing there). Python tries a subclass's reflected ``__ne__`` first, so ``ANY`` matches in both
directions (``"INT" != ANY`` and ``ANY != "INT"`` are both ``False``) in all three eras. This is
the same "``__ne__`` trick" that ComfyUI 0.3.x's own ``IO.ANY`` uses.

Lists. ``CRRange`` sets ``OUTPUT_IS_LIST`` (its one output is a list that downstream nodes get
one item per call); ``CRSum`` sets ``INPUT_IS_LIST`` (it gets the whole list in one call).

Laziness. ``CRSwitch`` marks ``on_true``/``on_false`` as ``{"lazy": True}`` and implements
``check_lazy_status``: eras B and C evaluate only the chosen branch; era A ignores both and runs
every linked input.

State. Nothing here keeps module-level mutable state: ``CRRecord`` reports what it received
through its ``ui`` output (``{"value", "type", "unique_id", "label"}``, each a one-item list so
ComfyUI's key-wise merge of several calls works).
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, NoReturn

from ._types import InputTypes, UIOutput

__all__ = [
    "ANY",
    "AnyType",
    "CATEGORY",
    "CRAdd",
    "CRBurn",
    "CRChanging",
    "CRFail",
    "CRFloat",
    "CRInt",
    "CRJoin",
    "CRMultiply",
    "CRRange",
    "CRRecord",
    "CRString",
    "CRSum",
    "CRSwitch",
    "TEST_NODE_CLASS_MAPPINGS",
    "TEST_NODE_DISPLAY_NAME_MAPPINGS",
]

CATEGORY: Final = "comfyruntime/test"

_INT_LIMIT: Final = 0xFFFFFFFFFFFFFFFF
_INT_OPTS: Final = MappingProxyType({"min": -_INT_LIMIT, "max": _INT_LIMIT})
_FLOAT_OPTS: Final = MappingProxyType({"min": -sys.float_info.max, "max": sys.float_info.max, "step": 0.01})
_MAX_BURN_US: Final = 60_000_000
_MAX_RANGE: Final = 100_000


class AnyType(str):
    """A type string that links to and from every other type (see the module docstring)."""

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = str.__hash__


ANY: Final = AnyType("*")


def _jsonable(value: Any) -> Any:
    """``value`` if it survives ``json.dumps`` (the server sends ui output as JSON), else its repr."""
    try:
        json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return repr(value)
    return value


class CRInt:
    """An ``INT`` constant."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {"value": ("INT", {"default": 0, **_INT_OPTS})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    CATEGORY = CATEGORY

    def run(self, value: int) -> tuple[int]:
        return (value,)


class CRFloat:
    """A ``FLOAT`` constant."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {"value": ("FLOAT", {"default": 0.0, **_FLOAT_OPTS})}}

    RETURN_TYPES = ("FLOAT",)
    FUNCTION = "run"
    CATEGORY = CATEGORY

    def run(self, value: float) -> tuple[float]:
        return (value,)


class CRString:
    """A ``STRING`` constant."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {"value": ("STRING", {"default": "", "multiline": False})}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"
    CATEGORY = CATEGORY

    def run(self, value: str) -> tuple[str]:
        return (value,)


class CRAdd:
    """``a + b`` on two ``INT`` inputs."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {"a": ("INT", {"default": 0, **_INT_OPTS}),
                             "b": ("INT", {"default": 0, **_INT_OPTS})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    CATEGORY = CATEGORY

    def run(self, a: int, b: int) -> tuple[int]:
        return (a + b,)


class CRMultiply:
    """``a * b`` on two ``INT`` inputs."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {"a": ("INT", {"default": 1, **_INT_OPTS}),
                             "b": ("INT", {"default": 1, **_INT_OPTS})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    CATEGORY = CATEGORY

    def run(self, a: int, b: int) -> tuple[int]:
        return (a * b,)


class CRJoin:
    """``separator.join((a, b))`` on ``STRING`` inputs."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {"a": ("STRING", {"default": ""}),
                             "b": ("STRING", {"default": ""}),
                             "separator": ("STRING", {"default": " "})}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"
    CATEGORY = CATEGORY

    def run(self, a: str, b: str, separator: str) -> tuple[str]:
        return (f"{a}{separator}{b}",)


class CRSwitch:
    """``on_true if select else on_false``; in eras B and C only the chosen branch runs."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {"select": ("BOOLEAN", {"default": True}),
                             "on_true": (ANY, {"lazy": True}),
                             "on_false": (ANY, {"lazy": True})}}

    RETURN_TYPES = (ANY,)
    FUNCTION = "run"
    CATEGORY = CATEGORY

    def check_lazy_status(self, select: bool, on_true: Any = None, on_false: Any = None) -> list[str]:
        needed = "on_true" if select else "on_false"
        value = on_true if select else on_false
        return [needed] if value is None else []

    def run(self, select: bool, on_true: Any = None, on_false: Any = None) -> tuple[Any]:
        return (on_true if select else on_false,)


class CRFail:
    """Raises ``ValueError(message)``; its ``value`` input lets it sit anywhere in a graph."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {"value": (ANY,),
                             "message": ("STRING", {"default": "CRFail: deliberate failure"})}}

    RETURN_TYPES = (ANY,)
    FUNCTION = "run"
    CATEGORY = CATEGORY

    def run(self, value: Any, message: str) -> NoReturn:
        raise ValueError(message)


class CRBurn:
    """Burns ``microseconds`` of this thread's CPU time in a busy loop, then passes ``value`` on."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {"value": (ANY,),
                             "microseconds": ("INT", {"default": 1000, "min": 0, "max": _MAX_BURN_US})}}

    RETURN_TYPES = (ANY,)
    FUNCTION = "run"
    CATEGORY = CATEGORY

    def run(self, value: Any, microseconds: int) -> tuple[Any]:
        clock = time.thread_time_ns
        deadline = clock() + int(microseconds) * 1000
        while clock() < deadline:
            pass
        return (value,)


class CRChanging:
    """Passes ``value`` (or, without one, ``token``) on; ``IS_CHANGED`` returns ``token``.

    Change ``token`` between two prompts to force this node, and everything downstream of it,
    to run again although its inputs are the same.
    """

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {"token": ("STRING", {"default": ""})},
                "optional": {"value": (ANY,)}}

    RETURN_TYPES = (ANY,)
    FUNCTION = "run"
    CATEGORY = CATEGORY

    @classmethod
    def IS_CHANGED(cls, token: str = "", **kwargs: Any) -> str:
        # Era A also passes the hidden and linked inputs; B and C pass linked inputs as None.
        return token

    def run(self, token: str, value: Any = None) -> tuple[Any]:
        return (token if value is None else value,)


class CRRange:
    """``[start, start + step, ...]`` (``count`` items) as a list output (``OUTPUT_IS_LIST``)."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {"start": ("INT", {"default": 0, **_INT_OPTS}),
                             "count": ("INT", {"default": 3, "min": 0, "max": _MAX_RANGE}),
                             "step": ("INT", {"default": 1, **_INT_OPTS})}}

    RETURN_TYPES = ("INT",)
    OUTPUT_IS_LIST = (True,)
    FUNCTION = "run"
    CATEGORY = CATEGORY

    def run(self, start: int, count: int, step: int) -> tuple[list[int]]:
        return ([start + i * step for i in range(count)],)


class CRSum:
    """The sum of a whole list of ``INT`` values in one call (``INPUT_IS_LIST``)."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {"values": ("INT", {"default": 0, **_INT_OPTS})}}

    RETURN_TYPES = ("INT",)
    INPUT_IS_LIST = True
    FUNCTION = "run"
    CATEGORY = CATEGORY

    def run(self, values: list[int]) -> tuple[int]:
        return (sum(values),)


class CRRecord:
    """Output node: reports what it received, its ``UNIQUE_ID`` and its label in its ``ui`` output."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {"value": (ANY,),
                             "label": ("STRING", {"default": ""})},
                "hidden": {"unique_id": "UNIQUE_ID"}}

    RETURN_TYPES = ()
    OUTPUT_NODE = True
    FUNCTION = "run"
    CATEGORY = CATEGORY

    def run(self, value: Any, label: str, unique_id: str | None = None) -> UIOutput:
        ui = {"value": [_jsonable(value)], "type": [type(value).__name__],
              "unique_id": [unique_id], "label": [label]}
        return {"ui": ui, "result": ()}


TEST_NODE_CLASS_MAPPINGS: Final[Mapping[str, type]] = MappingProxyType({
    "CRInt": CRInt,
    "CRFloat": CRFloat,
    "CRString": CRString,
    "CRAdd": CRAdd,
    "CRMultiply": CRMultiply,
    "CRJoin": CRJoin,
    "CRSwitch": CRSwitch,
    "CRFail": CRFail,
    "CRBurn": CRBurn,
    "CRChanging": CRChanging,
    "CRRange": CRRange,
    "CRSum": CRSum,
    "CRRecord": CRRecord,
})

TEST_NODE_DISPLAY_NAME_MAPPINGS: Final[Mapping[str, str]] = MappingProxyType({
    "CRInt": "CR Int",
    "CRFloat": "CR Float",
    "CRString": "CR String",
    "CRAdd": "CR Add",
    "CRMultiply": "CR Multiply",
    "CRJoin": "CR Join",
    "CRSwitch": "CR Switch",
    "CRFail": "CR Fail",
    "CRBurn": "CR Burn CPU",
    "CRChanging": "CR Changing",
    "CRRange": "CR Range (list)",
    "CRSum": "CR Sum (list)",
    "CRRecord": "CR Record",
})
