"""Provoking an exception inside a hook without knowing the hook.

The prompt id and node ids are :class:`PoisonStr` strings (:func:`poisoned`) that raise
:class:`InjectedFault` when the hook module's own code hashes, compares, copies or formats them
while :func:`armed`; ComfyUI's code, and the standard library it calls, sees plain strings.

Who is using a string is the first frame up the stack that is not the standard library's or an
installed third-party package's (:func:`~.lookups.origin_of`, by the code's file): a frame of the
hook module (by its module name, wherever it is installed) trips the fault, one of ComfyUI or of
this plugin (its mock ComfyUI included, also when installed from a wheel) does not.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Final

from ..executor.standin import is_managed
from .lookups import origin_of
from .target import Subject

MARK: Final = "comfyruntime-injected-fault"


class InjectedFault(Exception):
    """Raised by pytest-comfyruntime inside a hook, to check that the hook survives it."""


@dataclass
class _Scope:
    owns: Callable[[str | None], bool]
    raised: list[str] = field(default_factory=list)


_SCOPE: _Scope | None = None


def passes_through(module_name: str, filename: str, owns: Callable[[str | None], bool]) -> bool:
    """Whether a frame only carries a string on behalf of its caller: this module's, or the
    standard library's or a third-party package's, unless it is the hook module's own (however
    installed) or ComfyUI's (a mock or a real one, by its module name)."""
    if module_name == __name__:
        return True
    if owns(module_name) or is_managed(module_name):
        return False
    return origin_of(filename) in ("stdlib", "library")


def _trip() -> None:
    scope = _SCOPE
    if scope is None:
        return
    frame: FrameType | None = sys._getframe(2)
    while frame is not None and passes_through(frame.f_globals.get("__name__") or "", frame.f_code.co_filename,
                                               scope.owns):
        frame = frame.f_back
    if frame is not None and scope.owns(frame.f_globals.get("__name__")):
        where = f"{Path(frame.f_code.co_filename).name}:{frame.f_lineno} in {frame.f_code.co_name}"
        scope.raised.append(where)
        raise InjectedFault(f"{MARK}: pytest-comfyruntime raised this inside the hook at {where}")


def _poisoned(name: str) -> Callable[..., Any]:
    plain = getattr(str, name)

    def method(self: str, *args: Any) -> Any:
        _trip()
        return plain(self, *args)
    return method


class PoisonStr(str):
    """A string that raises :class:`InjectedFault` when the hook module's code uses it."""

    __slots__ = ()
    __hash__ = _poisoned("__hash__")
    __eq__ = _poisoned("__eq__")
    __ne__ = _poisoned("__ne__")
    __str__ = _poisoned("__str__")
    __format__ = _poisoned("__format__")

    def __deepcopy__(self, memo: dict[int, Any]) -> PoisonStr:
        _trip()
        return self

    def __reduce_ex__(self, protocol: Any) -> Any:
        _trip()
        return (PoisonStr, (str.__str__(self),))


def poisoned(prompt: dict[str, Any]) -> dict[str, Any]:
    """``prompt`` with every node id (keys and links) a :class:`PoisonStr`."""
    ids = {nid: PoisonStr(nid) for nid in prompt}
    return {ids[nid]: {**node, "inputs": {k: [ids[v[0]], v[1]] if isinstance(v, list) and v and v[0] in ids else v
                                          for k, v in node["inputs"].items()}} for nid, node in prompt.items()}


@contextmanager
def armed(subject: Subject) -> Iterator[_Scope]:
    global _SCOPE
    _SCOPE = scope = _Scope(subject.owns)
    try:
        yield scope
    finally:
        _SCOPE = None


__all__ = ["InjectedFault", "MARK", "PoisonStr", "armed", "passes_through", "poisoned"]
