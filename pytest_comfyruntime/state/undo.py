"""One undo record for everything the plugin installs, shaped like pytest's ``MonkeyPatch``.

Every change is pushed onto the record *before* it is made, with :data:`ABSENT` standing for
"was not there", so :meth:`Undo.undo` puts back exactly what was there: a replaced attribute or
mapping entry gets its old value, an added one is removed again. ``undo()`` runs the steps in
reverse order, keeps going when one of them raises (and raises the first error at the end), and is
idempotent. :meth:`Undo.context` gives the same as a context manager for code that is not a test.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Final, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class _Absent:
    """The sentinel for "was absent": restoring it removes the attribute or the entry."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Final = _Absent()


class Undo:
    """A record of changes, undone in reverse order by :meth:`undo`."""

    def __init__(self) -> None:
        self._steps: list[Callable[[], None]] = []

    @classmethod
    @contextmanager
    def context(cls) -> Iterator[Undo]:
        """``with Undo.context() as undo: ...``: everything recorded is undone on leaving."""
        record = cls()
        try:
            yield record
        finally:
            record.undo()

    def __len__(self) -> int:
        return len(self._steps)

    # -- changes ---------------------------------------------------------------------------
    def setattr(self, target: object, name: str, value: Any) -> None:
        """``setattr(target, name, value)``, recording the old value (or its absence). For a
        class, the class's own ``__dict__`` entry is recorded, so an inherited attribute stays
        inherited after the undo."""
        old = _own_attr(target, name)
        self._steps.append(lambda: _put_attr(target, name, old))
        setattr(target, name, value)

    def delattr(self, target: object, name: str, *, raising: bool = True) -> None:
        """``delattr(target, name)``; with ``raising=False`` an absent attribute is no error."""
        old = _own_attr(target, name)
        if old is ABSENT:
            if raising:
                raise AttributeError(name)
            return
        self._steps.append(lambda: _put_attr(target, name, old))
        delattr(target, name)

    def setitem(self, mapping: MutableMapping[K, V], key: K, value: V) -> None:
        """``mapping[key] = value``, recording the old value (or its absence)."""
        old = mapping.get(key, ABSENT)
        self._steps.append(lambda: _put_item(mapping, key, old))
        mapping[key] = value

    def delitem(self, mapping: MutableMapping[K, V], key: K, *, raising: bool = True) -> None:
        """``del mapping[key]``; with ``raising=False`` an absent key is no error."""
        old = mapping.get(key, ABSENT)
        if old is ABSENT:
            if raising:
                raise KeyError(key)
            return
        self._steps.append(lambda: _put_item(mapping, key, old))
        del mapping[key]

    def set_module(self, name: str, module: ModuleType | None) -> None:
        """Puts ``module`` into ``sys.modules`` under ``name`` (``None`` takes the entry out)."""
        if module is None:
            self.delitem(sys.modules, name, raising=False)
        else:
            self.setitem(sys.modules, name, module)

    def call(self, step: Callable[[], None]) -> None:
        """Records an undo step of the caller's own (what ``add``-style APIs hand back)."""
        self._steps.append(step)

    # -- undoing ---------------------------------------------------------------------------
    def undo(self) -> None:
        """Undoes every recorded change, newest first; raises the first error after trying all."""
        errors: list[BaseException] = []
        while self._steps:
            step = self._steps.pop()
            try:
                step()
            except BaseException as exc:  # keep undoing the rest, then report the first failure
                errors.append(exc)
        if errors:
            raise errors[0]


def _own_attr(target: object, name: str) -> Any:
    if isinstance(target, type):
        return target.__dict__.get(name, ABSENT)
    return getattr(target, name, ABSENT)


def _put_attr(target: object, name: str, value: Any) -> None:
    if value is ABSENT:
        if _own_attr(target, name) is not ABSENT:
            delattr(target, name)
    else:
        setattr(target, name, value)


def _put_item(mapping: MutableMapping[Any, Any], key: Any, value: Any) -> None:
    if value is ABSENT:
        mapping.pop(key, None)
    else:
        mapping[key] = value


__all__ = ["ABSENT", "Undo"]
