"""The hooks an overhead measurement is about: what was installed on ComfyUI since the baseline.

The same diff :func:`~pytest_comfyruntime.checks.hooks_active.installed_since` makes (replaced or
added callables on ComfyUI's modules and classes, import-time patches included when the baseline
is from before the custom nodes loaded) plus the CacheProviders registered since. A
:class:`HookSet` gives the probe its code objects (each hook's, labelled with its target, and the
originals they call, excluded) and switches the hooks off and on again for the end-to-end
comparison by putting the baseline's values back and then the hooks' own: no enable or disable
function of the extension runs, and :meth:`HookSet.on` restores exactly the objects that were
there.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import Any

from ..checks.hooks_active import PROVIDER_METHODS, code_of, provider_label, providers_since
from ..executor.snapshots import PROVIDER_REGISTRY
from ..state.describe import describe
from ..state.snapshot import Snapshot
from ..state.undo import ABSENT


@dataclass(frozen=True)
class Hook:
    holder: Any
    name: str
    target: str
    value: Any
    original: Any  # ABSENT for a name ComfyUI does not have

    @property
    def is_async(self) -> bool:
        code = code_of(self.value)
        return bool(code is not None and code.co_flags & 0x80)


@dataclass
class HookSet:
    hooks: list[Hook] = field(default_factory=list)
    providers: list[Any] = field(default_factory=list)
    registry: list[Any] | None = None
    _off: bool = False

    @classmethod
    def since(cls, snapshot: Snapshot) -> HookSet:
        hooks: list[Hook] = []
        spaces: list[tuple[str, Any, dict[str, Any]]] = [(n, m, before) for n, (m, before) in snapshot.modules.items()]
        spaces += [(k, c, before) for k, (c, before) in snapshot.classes.items()]
        for where, holder, before in spaces:
            for name, value in list(vars(holder).items()):
                if name.startswith("__") or before.get(name) is value or not callable(value):
                    continue
                hooks.append(Hook(holder, name, f"{where}.{name}", value, before.get(name, ABSENT)))
        registry = snapshot.lists[PROVIDER_REGISTRY][0] if PROVIDER_REGISTRY in snapshot.lists else None
        return cls(hooks, providers_since(snapshot), registry)

    def __bool__(self) -> bool:
        return bool(self.hooks or self.providers)

    def describe(self) -> dict[str, str]:
        """target -> the installed callable, named by its code."""
        out = {h.target: describe(h.value) for h in self.hooks}
        out.update({f"{provider_label(p)}.{m}": f"{provider_label(p)}.{m}" for p in self.providers
                    for m in PROVIDER_METHODS if code_of(getattr(type(p), m, None)) is not None})
        return out

    def async_targets(self) -> set[str]:
        out = {h.target for h in self.hooks if h.is_async}
        for provider in self.providers:
            for method in PROVIDER_METHODS:
                code = code_of(getattr(type(provider), method, None))
                if code is not None and code.co_flags & 0x80:
                    out.add(f"{provider_label(provider)}.{method}")
        return out

    def codes(self, *, plain: bool = False) -> tuple[dict[CodeType, str | Callable[[FrameType], str | None]],
                                                     set[CodeType]]:
        """The probe's input: hook code -> its target (or a resolver, when one code serves several
        targets: a wrapper factory's inner function, a provider class registered twice), and the
        code of every original, excluded. ``plain``: labels only, a shared code labelled with all of
        its targets (``"a | b"``), for a counter that cannot look at frames."""
        by_code: dict[CodeType, list[tuple[str, Any]]] = {}
        excluded: set[CodeType] = set()
        for hook in self.hooks:
            code = code_of(hook.value)
            if code is not None:
                by_code.setdefault(code, []).append((hook.target, hook.value))
            original = code_of(hook.original) if hook.original is not ABSENT else None
            if original is not None:
                excluded.add(original)
        labels: dict[CodeType, str | Callable[[FrameType], str | None]] = {
            code: (pairs[0][0] if len(pairs) == 1 else " | ".join(t for t, _v in pairs) if plain
                   else _closure_resolver(code, pairs)) for code, pairs in by_code.items()}
        by_provider: dict[CodeType, dict[int, str]] = {}
        for provider in self.providers:
            for method in PROVIDER_METHODS:
                code = code_of(getattr(type(provider), method, None))
                if code is not None:
                    by_provider.setdefault(code, {})[id(provider)] = f"{provider_label(provider)}.{method}"
        for code, owners in by_provider.items():
            labels[code] = (next(iter(owners.values())) if len(owners) == 1 else " | ".join(owners.values()) if plain
                            else _self_resolver(owners))
        return labels, excluded - set(labels)

    # -- switching ---------------------------------------------------------------------------
    def off(self) -> None:
        """The baseline's values back (names the hooks added removed), providers unregistered."""
        for hook in self.hooks:
            if hook.original is ABSENT:
                if hook.name in vars(hook.holder):
                    delattr(hook.holder, hook.name)
            else:
                setattr(hook.holder, hook.name, hook.original)
        if self.registry is not None:
            self.registry[:] = [p for p in self.registry if not any(p is q for q in self.providers)]
        self._off = True

    def on(self) -> None:
        """The hooks' own values back, providers registered again in their order."""
        for hook in self.hooks:
            setattr(hook.holder, hook.name, hook.value)
        if self.registry is not None:
            missing = [p for p in self.providers if not any(p is q for q in self.registry)]
            self.registry.extend(missing)
        self._off = False


def _closure_resolver(code: CodeType, pairs: list[tuple[str, Any]]) -> Callable[[FrameType], str | None]:
    """Tells apart functions sharing ``code`` by the first free variable whose value differs."""
    functions = [getattr(v, "__func__", v) for _t, v in pairs]
    names = code.co_freevars
    for index, name in enumerate(names):
        try:
            values = [f.__closure__[index].cell_contents for f in functions]
        except (TypeError, IndexError, ValueError, AttributeError):
            continue
        if len({id(v) for v in values}) == len(values):
            table = {id(v): target for v, (target, _value) in zip(values, pairs)}

            def resolve(frame: FrameType, _name: str = name, _table: dict[int, str] = table) -> str | None:
                return _table.get(id(frame.f_locals.get(_name)))
            return resolve
    joined = " | ".join(t for t, _v in pairs)
    return lambda frame: joined


def _self_resolver(owners: dict[int, str]) -> Callable[[FrameType], str | None]:
    def resolve(frame: FrameType) -> str | None:
        return owners.get(id(frame.f_locals.get("self")))
    return resolve


__all__ = ["Hook", "HookSet"]
