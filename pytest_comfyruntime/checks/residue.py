"""What a test left behind in ComfyUI's modules and the process, and putting it back.

A :class:`Snapshot` records, before the extension's hooks are enabled: every watched module's
attributes, the attributes of every class those modules define (``PromptExecutor``, the cache
classes, ...), the node registry, which module objects ``sys.modules`` holds under ComfyUI's
names, the environment, the live threads, the interpreter's process-wide hooks (profile and trace
functions, the thread switch interval, asyncio's event loop policy) and, where torch is already
imported, its process-wide switches. :func:`find_residue` compares a later state with it;
:func:`restore` puts it back. Module state that ComfyUI itself changes while running (a
non-callable value replaced, such as the progress registry or the interrupt flag) is restored
without complaint; a function, class or method left replaced, an attribute added, a node left
registered, an environment variable changed, a profiler or tracer left installed, a thread left
running or a swapped module is residue.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

_ABSENT: Any = object()
#: Environment variables pytest itself changes between phases.
_ENV_IGNORED = frozenset({"PYTEST_CURRENT_TEST"})


@dataclass(frozen=True)
class Residue:
    """One thing left behind: ``kind`` is patched / added / removed / node / registered (a
    CacheProvider) / env / interpreter / thread / module / torch."""

    kind: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.detail}"


def describe(value: Any) -> str:
    """A readable name for a leftover value: the wrapper's qualified name where it has one."""
    if value is _ABSENT:
        return "<absent>"
    target = getattr(value, "__func__", value)
    qualname = getattr(target, "__qualname__", None)
    module = getattr(target, "__module__", None)
    if qualname:
        return f"{module}.{qualname}" if module else qualname
    if type(value).__repr__ is object.__repr__:  # an instance (a CacheProvider): its class names it
        return f"{type(value).__module__}.{type(value).__qualname__} instance"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_patch(value: Any) -> bool:
    return callable(value) or isinstance(value, (staticmethod, classmethod, property))


@dataclass
class Snapshot:
    modules: dict[str, tuple[ModuleType, dict[str, Any]]] = field(default_factory=dict)
    classes: dict[str, tuple[type, dict[str, Any]]] = field(default_factory=dict)
    registries: dict[str, tuple[dict, dict]] = field(default_factory=dict)
    lists: dict[str, tuple[list, list]] = field(default_factory=dict)
    sys_modules: dict[str, ModuleType] = field(default_factory=dict)
    environ: dict[str, str] = field(default_factory=dict)
    threads: frozenset[int] = frozenset()
    interpreter: dict[str, Any] = field(default_factory=dict)  # empty: not recorded
    torch: dict[str, Any] | None = None


def take_snapshot(modules: Iterable[ModuleType], *, registries: dict[str, dict] | None = None,
                  lists: dict[str, list] | None = None, sys_module_names: Iterable[str] = ()) -> Snapshot:
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
    snap.torch = _torch_state()
    return snap


def originals_of(snap: Snapshot) -> dict[str, dict[str, Any]]:
    """Each watched module's namespace as it was when ``snap`` was taken, by module name."""
    return {name: before for name, (_module, before) in snap.modules.items()}


#: The CacheProvider registry of ComfyUI of 2026, as named in the snapshot's lists.
PROVIDER_REGISTRY = "comfy_execution.cache_provider (registered CacheProviders)"


def snapshot_comfyui(modules: Iterable[ModuleType], nodes: ModuleType, *, display_names: bool = True) -> Snapshot:
    """:func:`take_snapshot` of a loaded ComfyUI (mock or real): its modules, the node registry,
    the CacheProvider registry where there is one, and ComfyUI's entries in ``sys.modules``."""
    from ..executor.standin import is_managed

    registries = {"nodes.NODE_CLASS_MAPPINGS": nodes.NODE_CLASS_MAPPINGS}
    if display_names:
        registries["nodes.NODE_DISPLAY_NAME_MAPPINGS"] = nodes.NODE_DISPLAY_NAME_MAPPINGS
    providers = getattr(sys.modules.get("comfy_execution.cache_provider"), "_providers", None)
    return take_snapshot(modules, registries=registries,
                         lists={PROVIDER_REGISTRY: providers} if isinstance(providers, list) else None,
                         sys_module_names=[n for n in sys.modules if is_managed(n)])


_CLASS_BOOKKEEPING = frozenset({"__dict__", "__weakref__", "__doc__", "__module__", "__qualname__",
                                "__annotations__", "__parameters__", "__orig_bases__"})


def _ignored(name: str, module: bool) -> bool:
    if module:
        return name.startswith("__") and name.endswith("__")
    return name in _CLASS_BOOKKEEPING


def _diff_namespace(where: str, before: dict[str, Any], now: dict[str, Any], *, module: bool) -> list[Residue]:
    found = []
    for name, value in now.items():
        if _ignored(name, module):
            continue
        old = before.get(name, _ABSENT)
        if old is value:
            continue
        if old is _ABSENT:
            found.append(Residue("added", f"{where}.{name}", f"added {describe(value)}"))
        elif _is_patch(old) or _is_patch(value):
            found.append(Residue("patched", f"{where}.{name}",
                                 f"still replaced by {describe(value)} (was {describe(old)})"))
    for name in before:
        if name not in now and not _ignored(name, module):
            found.append(Residue("removed", f"{where}.{name}", "deleted and not restored"))
    return found


def find_residue(snap: Snapshot, *, thread_grace_s: float = 1.0) -> list[Residue]:
    """Everything that differs from ``snap`` in a way the test (or extension) is to blame for."""
    found: list[Residue] = []
    for name, (module, before) in snap.modules.items():
        found += _diff_namespace(name, before, module.__dict__, module=True)
    for key, (cls, before) in snap.classes.items():
        found += _diff_namespace(key, before, dict(cls.__dict__), module=False)
    for name, (mapping, before) in snap.registries.items():
        for key in mapping.keys() - before.keys():
            found.append(Residue("node", f"{name}[{key!r}]", f"left registered: {describe(mapping[key])}"))
        for key in before.keys() & mapping.keys():
            if mapping[key] is not before[key]:
                found.append(Residue("node", f"{name}[{key!r}]", f"replaced by {describe(mapping[key])}"))
        for key in before.keys() - mapping.keys():
            found.append(Residue("node", f"{name}[{key!r}]", "removed and not restored"))
    for name, (items, before) in snap.lists.items():
        for item in items:
            if not any(item is b for b in before):
                found.append(Residue("registered", name, f"left registered: {describe(item)}"))
        for item in before:
            if not any(item is i for i in items):
                found.append(Residue("registered", name, f"removed and not restored: {describe(item)}"))
    for name, module in snap.sys_modules.items():
        if sys.modules.get(name) is not module:
            found.append(Residue("module", f"sys.modules[{name!r}]",
                                 f"swapped for {describe(sys.modules.get(name, _ABSENT))}"))
    for key in sorted((set(os.environ) | set(snap.environ)) - _ENV_IGNORED):
        if os.environ.get(key) != snap.environ.get(key):
            found.append(Residue("env", f"os.environ[{key!r}]",
                                 f"{snap.environ.get(key)!r} -> {os.environ.get(key)!r}"))
    found += [Residue("interpreter", key, f"{describe(before)} -> {describe(now)}")
              for key, (before, now) in _interpreter_changes(snap.interpreter).items()]
    found += _leftover_threads(snap.threads, thread_grace_s)
    if snap.torch is not None:
        now = _torch_state() or {}
        for key, value in snap.torch.items():
            if now.get(key) != value:
                found.append(Residue("torch", f"torch {key}", f"{value!r} -> {now.get(key)!r}"))
    return found


def _leftover_threads(before: frozenset[int], grace_s: float) -> list[Residue]:
    deadline = time.monotonic() + grace_s
    while True:
        extra = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
        if not extra or time.monotonic() >= deadline:
            break
        extra[0].join(timeout=max(0.0, deadline - time.monotonic()))
    return [Residue("thread", f"thread {t.name!r}", f"still running (target {describe(getattr(t, '_target', None))})")
            for t in extra]


def restore(snap: Snapshot) -> None:
    """Puts every watched namespace, registry, module entry, variable and torch switch back."""
    for module, before in snap.modules.values():
        ns = module.__dict__
        for name in [n for n in ns if n not in before]:
            del ns[name]
        for name, value in before.items():
            if ns.get(name, _ABSENT) is not value:
                ns[name] = value
    for cls, before in snap.classes.values():
        current = dict(cls.__dict__)
        for name in current.keys() - before.keys():
            if not _ignored(name, module=False):
                delattr(cls, name)
        for name, value in before.items():
            if current.get(name, _ABSENT) is not value and not _ignored(name, module=False):
                setattr(cls, name, value)
    for mapping, before in snap.registries.values():
        mapping.clear()
        mapping.update(before)
    for items, before in snap.lists.values():
        items[:] = before
    for name, module in snap.sys_modules.items():
        sys.modules[name] = module
    for key in set(os.environ) - set(snap.environ) - _ENV_IGNORED:
        del os.environ[key]
    for key, value in snap.environ.items():
        if key not in _ENV_IGNORED and os.environ.get(key) != value:
            os.environ[key] = value
    for key, (before, _now) in _interpreter_changes(snap.interpreter).items():
        _INTERPRETER[key][1](before)
    if snap.torch is not None:
        _set_torch_state(snap.torch)


def _loop_policy() -> Any:
    events = sys.modules.get("asyncio.events")  # read without creating one (or importing asyncio)
    return getattr(events, "_event_loop_policy", None)


def _set_loop_policy(policy: Any) -> None:
    events = sys.modules.get("asyncio.events")
    if events is not None:
        events._event_loop_policy = policy


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


def _interpreter_changes(before: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
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


def _torch_state() -> dict[str, Any] | None:
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    state: dict[str, Any] = {}
    for key, getter in (
        ("grad mode", lambda: torch.is_grad_enabled()),
        ("default dtype", lambda: torch.get_default_dtype()),
        ("deterministic algorithms", lambda: torch.are_deterministic_algorithms_enabled()),
        ("cudnn.benchmark", lambda: torch.backends.cudnn.benchmark),
        ("float32 matmul precision", lambda: torch.get_float32_matmul_precision()),
    ):
        try:
            state[key] = getter()
        except Exception:  # a partial torch (or a stand-in) lacks some switches: skip those
            continue
    return state


def _set_torch_state(state: dict[str, Any]) -> None:
    torch = sys.modules.get("torch")
    if torch is None:
        return
    setters = {
        "grad mode": lambda v: torch.set_grad_enabled(v),
        "default dtype": lambda v: torch.set_default_dtype(v),
        "deterministic algorithms": lambda v: torch.use_deterministic_algorithms(v),
        "cudnn.benchmark": lambda v: setattr(torch.backends.cudnn, "benchmark", v),
        "float32 matmul precision": lambda v: torch.set_float32_matmul_precision(v),
    }
    now = _torch_state() or {}
    for key, value in state.items():
        if now.get(key) != value:  # setting an unchanged switch can load parts of torch (dynamo)
            setters[key](value)


def format_residue(found: list[Residue], *, test: str = "") -> str:
    head = "pytest-comfyruntime: the test left things behind" + (f" ({test})" if test else "")
    lines = [head + "; they have been restored, but the extension's unhook (or the test) must undo them:"]
    lines += [f"  - [{r.kind}] {r}" for r in found]
    return "\n".join(lines)
