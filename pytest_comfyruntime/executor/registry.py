"""Registering node classes into ``nodes.NODE_CLASS_MAPPINGS`` for one test, with an undo."""
from __future__ import annotations

from collections.abc import MutableMapping
from types import ModuleType
from typing import Any

from ..state.undo import Undo


class NodeRegistry:
    """Adds node classes to a ``nodes`` module (mock or real) and removes exactly those again.

    ``add`` records what it replaces on an :class:`~pytest_comfyruntime.state.undo.Undo` (its
    own, or the one given), so ``undo()`` restores an overridden class too; ``undo`` is
    idempotent and runs in reverse order.
    """

    def __init__(self, nodes_module: ModuleType, undo: Undo | None = None) -> None:
        self._nodes = nodes_module
        self._record = undo if undo is not None else Undo()

    @property
    def mappings(self) -> dict[str, type]:
        mappings: dict[str, type] = self._nodes.NODE_CLASS_MAPPINGS
        return mappings

    def add(self, name: str, cls: type, display_name: str | None = None) -> type:
        """Registers ``cls`` as class_type ``name`` (and its display name) until the test ends."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"comfy_nodes.add: the class_type name must be a non-empty string, got {name!r}")
        if not isinstance(cls, type) or not hasattr(cls, "INPUT_TYPES") or not hasattr(cls, "FUNCTION"):
            raise TypeError(f"comfy_nodes.add({name!r}, ...): {cls!r} is not a ComfyUI node class "
                            "(it needs INPUT_TYPES, RETURN_TYPES and FUNCTION)")
        self._set(self._nodes.NODE_CLASS_MAPPINGS, name, cls)
        if display_name is not None:
            self._set(self._nodes.NODE_DISPLAY_NAME_MAPPINGS, name, display_name)
        return cls

    def add_all(self, classes: dict[str, type], display_names: dict[str, str] | None = None) -> None:
        for name, cls in classes.items():
            self.add(name, cls, (display_names or {}).get(name))

    def _set(self, mapping: MutableMapping[str, Any], key: str, value: Any) -> None:
        self._record.setitem(mapping, key, value)

    def undo(self) -> None:
        """Removes what was added and puts back what was replaced (the whole record's steps)."""
        self._record.undo()
