"""A readable name for a value the plugin reports (a wrapper, a leftover, a registered provider).

A wrapper made with :func:`functools.wraps` carries the ``__module__``, ``__qualname__`` and
``__name__`` of the function it wraps, so those would name ``execution.get_input_data`` for the
extension's wrapper of it. A function is therefore named by its code: the module whose globals
it runs in, the code's own qualified name, and, where that differs from what the function says
about itself or it wraps something, the file and line where it was defined and what it wraps:
``my_ext.hooks._get_input_data (my_ext/hooks.py:12), wrapping execution.get_input_data``.
"""
from __future__ import annotations

import os
from types import CodeType, FunctionType
from typing import Any

from .undo import ABSENT

_MAX_CHAIN = 8


def _function(value: Any) -> FunctionType | None:
    """The Python function behind ``value`` (a bound method's, a staticmethod's or classmethod's)."""
    target = getattr(value, "__func__", value)
    return target if isinstance(target, FunctionType) else None


def defined_in(value: Any) -> str | None:
    """The module a function was defined in (its globals' ``__name__``, which ``functools.wraps``
    does not copy); None for anything else."""
    function = _function(value)
    if function is None:
        return None
    name = function.__globals__.get("__name__")
    return name if isinstance(name, str) else None


def code_qualname(function: FunctionType) -> str:
    """The qualified name the function was defined under (``co_qualname`` on 3.11+; on 3.10 its
    ``__qualname__`` unless that was copied from the function it wraps, else its code's name)."""
    code = function.__code__
    qualname: str | None = getattr(code, "co_qualname", None)
    if qualname is not None:
        return qualname
    own = getattr(function, "__qualname__", "") or ""
    return own if own.rpartition(".")[2] == code.co_name and not hasattr(function, "__wrapped__") else code.co_name


def location(code: CodeType, module: str | None) -> str:
    """``my_ext/hooks.py:12``: the file as seen from the package root (as many trailing path
    parts as the module's dotted name has), else its folder and name; the line of the ``def``."""
    parts = os.path.normpath(code.co_filename).split(os.sep)
    depth = 2
    if module:
        names = module.split(".")
        tail = [*names[:-1], f"{names[-1]}.py"] if parts[-1] != "__init__.py" else [*names, "__init__.py"]
        if parts[-len(tail):] == tail:
            depth = len(tail)
    return f"{'/'.join(p for p in parts[-depth:] if p)}:{code.co_firstlineno}"


def is_wrapping(value: Any, inner: Any) -> bool:
    """Whether ``inner`` is reachable from ``value`` through ``__wrapped__`` (what
    ``functools.wraps`` records)."""
    inner = getattr(inner, "__func__", inner)
    for _ in range(32):
        value = getattr(getattr(value, "__func__", value), "__wrapped__", None)
        if value is None:
            return False
        if getattr(value, "__func__", value) is inner:
            return True
    return False


def describe(value: Any, _depth: int = 0) -> str:
    """A readable name for a leftover or installed value: a function by where it was defined
    (see the module's docstring), a CacheProvider instance by its class, anything else by its
    ``repr`` (cut at 80 characters)."""
    if value is ABSENT:
        return "<absent>"
    function = _function(value)
    if function is not None:
        module = defined_in(function)
        qualname = code_qualname(function)
        name = f"{module}.{qualname}" if module else qualname
        wrapped = getattr(function, "__wrapped__", None)
        if wrapped is None and getattr(function, "__module__", None) == module and function.__qualname__ == qualname:
            return name  # it is what it says it is: ComfyUI's own function, or a plainly named one
        text = f"{name} ({location(function.__code__, module)})"
        if wrapped is not None:
            text += ", wrapping " + (describe(wrapped, _depth + 1) if _depth < _MAX_CHAIN else "...")
        return text
    target = getattr(value, "__func__", value)
    own_qualname = getattr(target, "__qualname__", None)
    own_module = getattr(target, "__module__", None)
    if isinstance(own_qualname, str) and own_qualname:  # a class, a builtin
        return f"{own_module}.{own_qualname}" if own_module else own_qualname
    if getattr(type(value), "__repr__", None) is object.__repr__:  # an instance (a CacheProvider): its class names it
        return f"{type(value).__module__}.{type(value).__qualname__} instance"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


__all__ = ["code_qualname", "defined_in", "describe", "is_wrapping", "location"]
