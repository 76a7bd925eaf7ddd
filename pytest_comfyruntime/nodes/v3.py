"""V3 stand-ins of CR nodes (``comfy_api.latest.io.ComfyNode``), built on demand on the ComfyUI
that is active (the mock of era C or D, or a real 0.3.75+ root): importing this module never
imports ComfyUI.
"""
from __future__ import annotations

from typing import Any, Final

from .basic import _INT_OPTS, CATEGORY, _jsonable

#: The class_types :func:`v3_node_classes` defines (V3 stand-ins of CR nodes, and V3 nodes that
#: exercise what only V3 has).
V3_CLASS_TYPES: Final = ("CR3Int", "CR3Add", "CR3AddAsync", "CR3Changing", "CR3Switch", "CR3NonNegative",
                         "CR3Block", "CR3Dict", "CR3Record", "CR3Repeat")


def v3_node_classes(io: Any = None) -> dict[str, type]:
    """V3 stand-ins of some CR nodes (``comfy_api.latest.io.ComfyNode`` subclasses), built on the
    ``io`` module of the ComfyUI now in ``sys.modules`` (the mock of era C or D, or a real 0.3.75+
    root), or on ``io`` when given. V3 classes need ComfyUI's ``io`` at definition time, so they are
    made on demand (importing this package never imports ComfyUI): call it while the ComfyUI that
    will run them is active and register the result.

    - ``CR3Int``, ``CR3Add`` (sync) and ``CR3AddAsync`` (an ``async`` ``execute``): as CRInt / CRAdd.
    - ``CR3Changing``: ``fingerprint_inputs`` answers ``token`` (CRChanging's ``IS_CHANGED``).
    - ``CR3Switch``: lazy inputs and an overridden ``check_lazy_status`` (CRSwitch).
    - ``CR3NonNegative``: ``validate_inputs`` rejects a negative constant with a message.
    - ``CR3Block``: ``NodeOutput(value, block_execution=message)`` when ``block`` is set.
    - ``CR3Dict``: returns a plain dict from ``execute`` (an error on 0.3.75, fine in 2026).
    - ``CR3Record``: output node; its ``ui`` reports the value, its type, ``cls.hidden.unique_id``
      (asked for) and whether ``cls.hidden.prompt`` came (an output node gets it without asking).
    - ``CR3Repeat``: ``NodeOutput(expand=...)``: a subgraph of ``times`` CRAdd nodes adding
      ``value`` up (its result is a link into the subgraph).
    """
    import asyncio
    import importlib

    if io is None:
        io = importlib.import_module("comfy_api.latest").io

    class CR3Int(io.ComfyNode):  # type: ignore[misc]  # (ComfyUI's io, imported at run time)
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="CR3Int", category=CATEGORY, inputs=[io.Int.Input("value", default=0, **_INT_OPTS)],
                             outputs=[io.Int.Output()])

        @classmethod
        def execute(cls, value: int) -> Any:
            return io.NodeOutput(value)

    class CR3Add(io.ComfyNode):  # type: ignore[misc]  # (ComfyUI's io, imported at run time)
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="CR3Add", category=CATEGORY,
                             inputs=[io.Int.Input("a", default=0, **_INT_OPTS), io.Int.Input("b", default=0, **_INT_OPTS)],
                             outputs=[io.Int.Output()])

        @classmethod
        def execute(cls, a: int, b: int) -> Any:
            return io.NodeOutput(a + b)

    class CR3AddAsync(io.ComfyNode):  # type: ignore[misc]  # (ComfyUI's io, imported at run time)
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="CR3AddAsync", category=CATEGORY,
                             inputs=[io.Int.Input("a", default=0, **_INT_OPTS), io.Int.Input("b", default=0, **_INT_OPTS)],
                             outputs=[io.Int.Output()])

        @classmethod
        async def execute(cls, a: int, b: int) -> Any:
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            return io.NodeOutput(a + b)

    class CR3Changing(io.ComfyNode):  # type: ignore[misc]  # (ComfyUI's io, imported at run time)
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="CR3Changing", category=CATEGORY,
                             inputs=[io.String.Input("token", default=""), io.AnyType.Input("value", optional=True)],
                             outputs=[io.AnyType.Output()])

        @classmethod
        def fingerprint_inputs(cls, token: str = "", **kwargs: Any) -> str:
            return token

        @classmethod
        def execute(cls, token: str, value: Any = None) -> Any:
            return io.NodeOutput(token if value is None else value)

    class CR3Switch(io.ComfyNode):  # type: ignore[misc]  # (ComfyUI's io, imported at run time)
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="CR3Switch", category=CATEGORY,
                             inputs=[io.Boolean.Input("select", default=True), io.AnyType.Input("on_true", lazy=True),
                                     io.AnyType.Input("on_false", lazy=True)],
                             outputs=[io.AnyType.Output()])

        @classmethod
        def check_lazy_status(cls, select: bool, on_true: Any = None, on_false: Any = None) -> list[str]:
            needed = "on_true" if select else "on_false"
            return [needed] if (on_true if select else on_false) is None else []

        @classmethod
        def execute(cls, select: bool, on_true: Any = None, on_false: Any = None) -> Any:
            return io.NodeOutput(on_true if select else on_false)

    class CR3NonNegative(io.ComfyNode):  # type: ignore[misc]  # (ComfyUI's io, imported at run time)
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="CR3NonNegative", category=CATEGORY, inputs=[io.Int.Input("value", default=0)],
                             outputs=[io.Int.Output()])

        @classmethod
        def validate_inputs(cls, value: int) -> bool | str:
            return True if value >= 0 else f"{value} is negative"

        @classmethod
        def execute(cls, value: int) -> Any:
            return io.NodeOutput(value)

    class CR3Block(io.ComfyNode):  # type: ignore[misc]  # (ComfyUI's io, imported at run time)
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="CR3Block", category=CATEGORY,
                             inputs=[io.AnyType.Input("value"), io.Boolean.Input("block", default=False),
                                     io.String.Input("message", default="blocked by CR3Block")],
                             outputs=[io.AnyType.Output()])

        @classmethod
        def execute(cls, value: Any, block: bool, message: str) -> Any:
            return io.NodeOutput(value, block_execution=message if block else None)

    class CR3Dict(io.ComfyNode):  # type: ignore[misc]  # (ComfyUI's io, imported at run time)
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="CR3Dict", category=CATEGORY, inputs=[io.AnyType.Input("value")],
                             outputs=[io.AnyType.Output()])

        @classmethod
        def execute(cls, value: Any) -> Any:
            return {"result": (value,)}

    class CR3Record(io.ComfyNode):  # type: ignore[misc]  # (ComfyUI's io, imported at run time)
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="CR3Record", category=CATEGORY, is_output_node=True,
                             inputs=[io.AnyType.Input("value"), io.String.Input("label", default="")],
                             hidden=[io.Hidden.unique_id])

        @classmethod
        def execute(cls, value: Any, label: str) -> Any:
            ui = {"value": [_jsonable(value)], "type": [type(value).__name__], "unique_id": [cls.hidden.unique_id],
                  "label": [label], "prompt": [cls.hidden.prompt is not None]}
            return io.NodeOutput(ui=ui)

    class CR3Repeat(io.ComfyNode):  # type: ignore[misc]  # (ComfyUI's io, imported at run time)
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="CR3Repeat", category=CATEGORY, enable_expand=True,
                             inputs=[io.Int.Input("value", default=1, **_INT_OPTS),
                                     io.Int.Input("times", default=2, min=1, max=16)],
                             outputs=[io.Int.Output()], hidden=[io.Hidden.unique_id])

        @classmethod
        def execute(cls, value: int, times: int) -> Any:
            graph: dict[str, Any] = {}
            previous: Any = value
            for i in range(times):
                node_id = f"{cls.hidden.unique_id}.r{i}"
                graph[node_id] = {"class_type": "CRAdd", "inputs": {"a": previous, "b": value}}
                previous = [node_id, 0]
            return io.NodeOutput(previous, expand=graph)

    classes = [CR3Int, CR3Add, CR3AddAsync, CR3Changing, CR3Switch, CR3NonNegative, CR3Block, CR3Dict, CR3Record,
               CR3Repeat]
    return {cls.__name__: cls for cls in classes}


__all__ = ["V3_CLASS_TYPES", "v3_node_classes"]
