"""A readable name for a value the plugin reports (a wrapper, a leftover, a registered provider)."""
from __future__ import annotations

from typing import Any

from .undo import ABSENT


def describe(value: Any) -> str:
    """A readable name for a leftover value: the wrapper's qualified name where it has one."""
    if value is ABSENT:
        return "<absent>"
    target = getattr(value, "__func__", value)
    qualname = getattr(target, "__qualname__", None)
    module = getattr(target, "__module__", None)
    if qualname:
        return f"{module}.{qualname}" if module else qualname
    if getattr(type(value), "__repr__", None) is object.__repr__:  # an instance (a CacheProvider): its class names it
        return f"{type(value).__module__}.{type(value).__qualname__} instance"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


__all__ = ["describe"]
