"""ComfyUI's hook breaker (eras C and D): patches the real server undoes on purpose.

ComfyUI's ``hook_breaker_ac10a0.py`` lists ``HOOK_BREAK = [(comfy.model_management, "cast_to")]``.
``main.py`` saves those functions before custom nodes load and puts them back right after, and
its ``prompt_worker`` puts them back again whenever its garbage-collection pass runs after a
prompt (after the first prompt, then at most every ``gc_collect_interval``, 10 s). So an extension
that patches ``cast_to`` loses the patch on a real server without a word (read in the 0.3.75 root's
``main.py`` and ``hook_breaker_ac10a0.py``; 2026's ``main.py`` still does it). The harness does the
same, and says so with a :class:`HookBrokenWarning`; eras A and B have no hook breaker.
"""
from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Final

from ..state.describe import describe
from ..state.undo import ABSENT
from .eras import Era

GC_COLLECT_INTERVAL_S: Final = 10.0


class HookBrokenWarning(UserWarning):
    """ComfyUI put back a function an extension had patched (its hook breaker)."""


@dataclass(frozen=True)
class Broken:
    """One patch ComfyUI undid: ``where`` (``comfy.model_management.cast_to``), the patch, and when."""

    where: str
    patch: str
    when: str

    def __str__(self) -> str:
        return (f"ComfyUI restored {self.where} {self.when}, undoing the patch {self.patch}: it is on "
                "ComfyUI's hook_breaker_ac10a0.HOOK_BREAK (eras C and D), which main.py restores right "
                "after custom nodes load and after prompts, so this patch never lasts on a real server")


@dataclass
class HookBreaker:
    """The saved originals of :data:`HOOK_BREAK` and the ``prompt_worker``'s collection clock."""

    saved: dict[str, tuple[ModuleType, Any]]
    broken: list[Broken] = field(default_factory=list)
    _last_gc: float | None = None

    @classmethod
    def save(cls, era: Era, originals: Mapping[str, Mapping[str, Any]] | None = None) -> HookBreaker | None:
        """The breaker of an era that has one (None where ``era.hook_break`` is empty: A and B).
        ``originals`` maps a module name to its namespace before any extension loaded (a
        snapshot's); default: now."""
        if not era.hook_break:
            return None
        saved: dict[str, tuple[ModuleType, Any]] = {}
        for module_name, attr in era.hook_break:
            module = sys.modules.get(module_name)
            if module is None:
                continue
            before = (originals or {}).get(module_name)
            value = before.get(attr, ABSENT) if before is not None else getattr(module, attr, ABSENT)
            if value is not ABSENT:
                saved[f"{module_name}.{attr}"] = (module, value)
        return cls(saved)

    def restore(self, when: str) -> list[Broken]:
        """Puts the saved functions back (``hook_breaker_ac10a0.restore_functions``); warns for each
        patch that was undone."""
        undone = []
        for where, (module, value) in self.saved.items():
            attr = where.rpartition(".")[2]
            current = getattr(module, attr, ABSENT)
            if current is not value:
                undone.append(Broken(where, describe(current), when))
                setattr(module, attr, value)
        for broken in undone:
            warnings.warn(HookBrokenWarning(str(broken)), stacklevel=3)
        self.broken += undone
        return undone

    def after_prompt(self, prompt_id: str, now: float | None = None) -> list[Broken]:
        """``prompt_worker``'s pass after a prompt: restores when the last one is over 10 s ago."""
        now = time.perf_counter() if now is None else now
        if self._last_gc is not None and now - self._last_gc <= GC_COLLECT_INTERVAL_S:
            return []
        self._last_gc = now
        return self.restore(f"after prompt {prompt_id!r}")


__all__ = ["Broken", "GC_COLLECT_INTERVAL_S", "HookBreaker", "HookBrokenWarning"]
