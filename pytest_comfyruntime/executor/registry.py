"""Registering node classes into ``nodes.NODE_CLASS_MAPPINGS`` for one test, with an undo."""
from __future__ import annotations

from types import ModuleType
from typing import Any

_MISSING: Any = object()


class NodeRegistry:
    """Adds node classes to a ``nodes`` module (mock or real) and removes exactly those again.

    ``add`` records what it replaces, so ``undo()`` restores an overridden class too; ``undo``
    is idempotent and runs in reverse order.
    """

    def __init__(self, nodes_module: ModuleType) -> None:
        self._nodes = nodes_module
        self._undo: list[tuple[dict, str, Any]] = []

    @property
    def mappings(self) -> dict[str, type]:
        return self._nodes.NODE_CLASS_MAPPINGS

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

    def _set(self, mapping: dict, key: str, value: Any) -> None:
        self._undo.append((mapping, key, mapping.get(key, _MISSING)))
        mapping[key] = value

    def undo(self) -> None:
        while self._undo:
            mapping, key, old = self._undo.pop()
            if old is _MISSING:
                mapping.pop(key, None)
            else:
                mapping[key] = old
