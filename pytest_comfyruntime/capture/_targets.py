"""The real places ComfyUI lets an extension hook prompt execution, era by era.

``PromptExecutor.execute`` exists in every era (``main.py`` calls it positionally with
``prompt, prompt_id, extra_data, execute_outputs``); ``PromptExecutor.execute_async`` exists from
ComfyUI 0.3.4x on (``execute`` runs it under ``asyncio.run``); the module-level
``execution.get_input_data`` is looked up as a global once per executed node. A target is
*pristine* when it is still ComfyUI's own function: defined in the ``execution`` module under
its own qualified name and not wrapping anything.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Final


@dataclass(frozen=True)
class Target:
    """One hookable attribute: ``owner`` is ``"PromptExecutor"`` or ``""`` (the module itself)."""

    owner: str
    attr: str
    required: bool
    is_async: bool = False

    @property
    def name(self) -> str:
        return f"{self.owner}.{self.attr}" if self.owner else f"execution.{self.attr}"

    def holder(self, execution: ModuleType) -> Any:
        """The module or class that holds the attribute (``None`` when it does not exist)."""
        return getattr(execution, self.owner, None) if self.owner else execution

    def current(self, execution: ModuleType) -> Any:
        """The attribute's value as installed right now (a class's own ``__dict__`` entry)."""
        holder = self.holder(execution)
        if holder is None:
            return None
        if isinstance(holder, type):
            return vars(holder).get(self.attr)
        return getattr(holder, self.attr, None)

    def is_pristine(self, value: Any, execution: ModuleType) -> bool:
        func = getattr(value, "__func__", value)
        qualname = f"{self.owner}.{self.attr}" if self.owner else self.attr
        return (getattr(func, "__module__", None) == execution.__name__
                and getattr(func, "__qualname__", None) == qualname
                and not hasattr(func, "__wrapped__"))


TARGETS: Final[tuple[Target, ...]] = (
    Target("PromptExecutor", "execute", required=True),
    Target("PromptExecutor", "execute_async", required=False, is_async=True),
    Target("", "get_input_data", required=True),
)


def describe(value: Any) -> str:
    """``module.qualname`` of a function (or its repr), for messages."""
    func = getattr(value, "__func__", value)
    qualname = getattr(func, "__qualname__", None)
    if qualname:
        module = getattr(func, "__module__", None)
        return f"{module}.{qualname}" if module else qualname
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def wraps_chain(value: Any, limit: int = 32) -> list[Any]:
    """``value`` and everything reachable through ``__wrapped__`` (innermost last)."""
    chain = [value]
    while len(chain) < limit:
        inner = getattr(getattr(chain[-1], "__func__", chain[-1]), "__wrapped__", None)
        if inner is None:
            break
        chain.append(inner)
    return chain
