"""The snapshot/restore core: what a set of modules, classes, registries and the process held at
one moment, and putting exactly that back.

A :class:`Snapshot` records every given module's attributes, the attributes of every class those
modules define, the given mappings and lists, which module objects ``sys.modules`` holds under the
given names, the environment, the live threads, the interpreter's process-wide hooks (profile and
trace functions, the thread switch interval, asyncio's event loop policy) and, where torch is
already imported, its process-wide switches. :func:`restore` puts it all back. Finding and naming
what differs (residue) is the checks' business (:mod:`pytest_comfyruntime.checks.residue`).
"""
from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Final

from .undo import ABSENT

#: Environment variables pytest itself changes between phases.
ENV_IGNORED: Final = frozenset({"PYTEST_CURRENT_TEST"})


@dataclass
class Snapshot:
    """What :func:`take_snapshot` recorded; each entry holds the live object and its contents then."""

    modules: dict[str, tuple[ModuleType, dict[str, Any]]] = field(default_factory=dict)
    classes: dict[str, tuple[type, dict[str, Any]]] = field(default_factory=dict)
    registries: dict[str, tuple[dict[Any, Any], dict[Any, Any]]] = field(default_factory=dict)
    lists: dict[str, tuple[list[Any], list[Any]]] = field(default_factory=dict)
    sys_modules: dict[str, ModuleType] = field(default_factory=dict)
    environ: dict[str, str] = field(default_factory=dict)
    threads: frozenset[int] = frozenset()
    interpreter: dict[str, Any] = field(default_factory=dict)  # empty: not recorded
    torch: dict[str, Any] | None = None


def take_snapshot(modules: Iterable[ModuleType], *, registries: dict[str, dict[Any, Any]] | None = None,
                  lists: dict[str, list[Any]] | None = None, sys_module_names: Iterable[str] = ()) -> Snapshot:
    snap = Snapshot()
    for module in modules:
        snap.modules[module.__name__] = (module, dict(module.__dict__))
        for value in list(module.__dict__.values()):
            if isinstance(value, type) and value.__module__ == module.__name__:
                key = f"{module.__name__}.{value.__qualname__}"
                snap.classes.setdefault(key, (value, dict(value.__dict__)))
    for name, mapping in (registries or {}).items():
        snap.registries[name] = (mapping, dict(mapping))
    for name, items in (lists or {}).items():
        snap.lists[name] = (items, list(items))
    snap.sys_modules = {n: sys.modules[n] for n in sys_module_names if n in sys.modules}
    snap.environ = dict(os.environ)
    snap.threads = frozenset(t.ident for t in threading.enumerate() if t.ident is not None)
    snap.interpreter = _interpreter_state()
    snap.torch = torch_state()
    return snap


def originals_of(snap: Snapshot) -> dict[str, dict[str, Any]]:
    """Each watched module's namespace as it was when ``snap`` was taken, by module name."""
    return {name: before for name, (_module, before) in snap.modules.items()}


#: ``__slotnames__`` is copyreg's cache, written on a class the first time one of its instances is
#: copied or pickled (a V3 ``ui.SavedResult`` deep-copied into the history, say).
_CLASS_BOOKKEEPING = frozenset({"__dict__", "__weakref__", "__doc__", "__module__", "__qualname__",
                                "__annotations__", "__parameters__", "__orig_bases__", "__slotnames__"})


def is_bookkeeping(name: str, *, module: bool) -> bool:
    """A name Python itself keeps in a module's or class's namespace (never residue)."""
    if module:
        return name.startswith("__") and name.endswith("__")
    return name in _CLASS_BOOKKEEPING


def restore(snap: Snapshot) -> None:
    """Puts every watched namespace, registry, module entry, variable and torch switch back."""
    for module, before in snap.modules.values():
        ns = module.__dict__
        for name in [n for n in ns if n not in before]:
            del ns[name]
        for name, value in before.items():
            if ns.get(name, ABSENT) is not value:
                ns[name] = value
    for cls, before in snap.classes.values():
        current = dict(cls.__dict__)
        for name in current.keys() - before.keys():
            if not is_bookkeeping(name, module=False):
                delattr(cls, name)
        for name, value in before.items():
            if current.get(name, ABSENT) is not value and not is_bookkeeping(name, module=False):
                setattr(cls, name, value)
    for mapping, entries in snap.registries.values():
        mapping.clear()
        mapping.update(entries)
    for items, contents in snap.lists.values():
        items[:] = contents
    for name, module in snap.sys_modules.items():
        sys.modules[name] = module
    for key in set(os.environ) - set(snap.environ) - ENV_IGNORED:
        del os.environ[key]
    for key, value in snap.environ.items():
        if key not in ENV_IGNORED and os.environ.get(key) != value:
            os.environ[key] = value
    for key, (before, _now) in interpreter_changes(snap.interpreter).items():
        _INTERPRETER[key][1](before)
    if snap.torch is not None:
        _set_torch_state(snap.torch)


def _loop_policy() -> Any:
    events = sys.modules.get("asyncio.events")  # read without creating one (or importing asyncio)
    return getattr(events, "_event_loop_policy", None)


def _set_loop_policy(policy: Any) -> None:
    events = sys.modules.get("asyncio.events")
    if events is not None:
        events._event_loop_policy = policy  # type: ignore[attr-defined]  # asyncio's private global


#: What an execution hook (a profiler, a tracer, an asyncio tweak) can leave on for the whole
#: process: name -> (read it, put it back).
_INTERPRETER: dict[str, tuple[Callable[[], Any], Callable[[Any], None]]] = {
    "sys.setprofile (this thread)": (sys.getprofile, sys.setprofile),
    "sys.settrace (this thread)": (sys.gettrace, sys.settrace),
    "threading.setprofile (new threads)": (threading.getprofile, threading.setprofile),
    "threading.settrace (new threads)": (threading.gettrace, threading.settrace),
    "sys.setswitchinterval": (sys.getswitchinterval, sys.setswitchinterval),
    "asyncio event loop policy": (_loop_policy, _set_loop_policy),
}


def _interpreter_state() -> dict[str, Any]:
    return {key: get() for key, (get, _set) in _INTERPRETER.items()}


def interpreter_changes(before: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The interpreter-wide hooks that differ from ``before``: name -> (before, now)."""
    changes = {}
    for key, old in before.items():
        now = _INTERPRETER[key][0]()
        if now is old or now == old:
            continue
        if key == "asyncio event loop policy" and old is None and _is_default_policy(now):
            continue  # asyncio creates its default policy on first use (ComfyUI's asyncio.run)
        changes[key] = (old, now)
    return changes


def _is_default_policy(policy: Any) -> bool:
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and type(policy) is asyncio.DefaultEventLoopPolicy


def torch_state() -> dict[str, Any] | None:
    """torch's process-wide switches, or None when torch is not imported (it is never imported here)."""
    torch: Any = sys.modules.get("torch")
    if torch is None:
        return None
    state: dict[str, Any] = {}
    getters: tuple[tuple[str, Callable[[], Any]], ...] = (
        ("grad mode", lambda: torch.is_grad_enabled()),
        ("default dtype", lambda: torch.get_default_dtype()),
        ("deterministic algorithms", lambda: torch.are_deterministic_algorithms_enabled()),
        ("cudnn.benchmark", lambda: torch.backends.cudnn.benchmark),
        ("float32 matmul precision", lambda: torch.get_float32_matmul_precision()),
    )
    for key, getter in getters:
        try:
            state[key] = getter()
        except Exception:  # a partial torch (or a stand-in) lacks some switches: skip those
            continue
    return state


def _set_torch_state(state: dict[str, Any]) -> None:
    torch: Any = sys.modules.get("torch")
    if torch is None:
        return
    setters: dict[str, Callable[[Any], None]] = {
        "grad mode": lambda v: torch.set_grad_enabled(v),
        "default dtype": lambda v: torch.set_default_dtype(v),
        "deterministic algorithms": lambda v: torch.use_deterministic_algorithms(v),
        "cudnn.benchmark": lambda v: setattr(torch.backends.cudnn, "benchmark", v),
        "float32 matmul precision": lambda v: torch.set_float32_matmul_precision(v),
    }
    now = torch_state() or {}
    for key, value in state.items():
        if now.get(key) != value:  # setting an unchanged switch can load parts of torch (dynamo)
            setters[key](value)


__all__ = ["ENV_IGNORED", "Snapshot", "interpreter_changes", "is_bookkeeping", "originals_of", "restore",
           "take_snapshot", "torch_state"]
