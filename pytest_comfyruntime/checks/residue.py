"""What a test left behind in ComfyUI's modules and the process: finding it and naming it.

:func:`find_residue` compares the present with a :class:`~pytest_comfyruntime.state.snapshot.Snapshot`
taken before the extension's hooks were enabled (putting it back is
:func:`~pytest_comfyruntime.state.snapshot.restore`). Module state that ComfyUI itself changes
while running (a non-callable value replaced, such as the progress registry or the interrupt
flag) is not residue; a function, class or method left replaced, an attribute added, a node left
registered, an environment variable changed, a profiler or tracer left installed, a thread left
running or a swapped module is.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..executor.snapshots import SDK_PROVIDERS
from ..state.describe import describe, is_wrapping
from ..state.snapshot import ENV_IGNORED, Snapshot, interpreter_changes, is_bookkeeping, torch_state
from ..state.undo import ABSENT


@dataclass(frozen=True)
class Residue:
    """One thing left behind: ``kind`` is patched / added / removed / node / registered (a
    CacheProvider, or an SDK provider slot) / env / interpreter / thread / module / torch."""

    kind: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.detail}"


def _is_patch(value: Any) -> bool:
    return callable(value) or isinstance(value, (staticmethod, classmethod, property))


def _diff_namespace(where: str, before: dict[str, Any], now: dict[str, Any], *, module: bool) -> list[Residue]:
    found = []
    for name, value in now.items():
        if is_bookkeeping(name, module=module):
            continue
        old = before.get(name, ABSENT)
        if old is value:
            continue
        if old is ABSENT:
            found.append(Residue("added", f"{where}.{name}", f"added {describe(value)}"))
        elif _is_patch(old) or _is_patch(value):
            # "wrapping <the original>" already says what was there
            was = "" if is_wrapping(value, old) else f" (was {describe(old)})"
            found.append(Residue("patched", f"{where}.{name}", f"still replaced by {describe(value)}{was}"))
    for name in before:
        if name not in now and not is_bookkeeping(name, module=module):
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
        kind = "registered" if name == SDK_PROVIDERS else "node"  # SDK slots are registrations, as providers are
        for key in mapping.keys() - before.keys():
            found.append(Residue(kind, f"{name}[{key!r}]", f"left registered: {describe(mapping[key])}"))
        for key in before.keys() & mapping.keys():
            if mapping[key] is not before[key]:
                found.append(Residue(kind, f"{name}[{key!r}]", f"replaced by {describe(mapping[key])}"
                                     + (", and not put back" if kind == "registered" else "")))
        for key in before.keys() - mapping.keys():
            found.append(Residue(kind, f"{name}[{key!r}]", "removed and not restored"))
    for name, (items, items_before) in snap.lists.items():
        for item in items:
            if not any(item is b for b in items_before):
                found.append(Residue("registered", name, f"left registered: {describe(item)}"))
        for item in items_before:
            if not any(item is i for i in items):
                found.append(Residue("registered", name, f"removed and not restored: {describe(item)}"))
    for name, module in snap.sys_modules.items():
        if sys.modules.get(name) is not module:
            found.append(Residue("module", f"sys.modules[{name!r}]",
                                 f"swapped for {describe(sys.modules.get(name, ABSENT))}"))
    for key in sorted((set(os.environ) | set(snap.environ)) - ENV_IGNORED):
        if os.environ.get(key) != snap.environ.get(key):
            found.append(Residue("env", f"os.environ[{key!r}]",
                                 f"{snap.environ.get(key)!r} -> {os.environ.get(key)!r}"))
    found += [Residue("interpreter", key, f"{describe(before)} -> {describe(now)}")
              for key, (before, now) in interpreter_changes(snap.interpreter).items()]
    found += _leftover_threads(snap.threads, thread_grace_s)
    if snap.torch is not None:
        now = torch_state() or {}
        for key, value in snap.torch.items():
            if now.get(key) != value:
                found.append(Residue("torch", f"torch {key}", f"{value!r} -> {now.get(key)!r}"))
    return found


#: ComfyUI's own long-lived pool (0.3.x on): ``comfy_api.internal.async_to_sync`` runs every
#: ``ComfyAPISync`` call on a ``ThreadPoolExecutor(thread_name_prefix="async_to_sync_")`` that it
#: keeps for the life of the process, so its idle workers are ComfyUI's, not the test's.
_COMFYUI_POOL_PREFIX = "async_to_sync_"


def _comfyui_pool_worker(thread: threading.Thread) -> bool:
    target = getattr(thread, "_target", None)
    return (thread.name.startswith(_COMFYUI_POOL_PREFIX)
            and getattr(target, "__module__", None) == "concurrent.futures.thread")


def _leftover_threads(before: frozenset[int], grace_s: float) -> list[Residue]:
    deadline = time.monotonic() + grace_s
    while True:
        extra = [t for t in threading.enumerate()
                 if t.ident not in before and t.is_alive() and not _comfyui_pool_worker(t)]
        if not extra or time.monotonic() >= deadline:
            break
        extra[0].join(timeout=max(0.0, deadline - time.monotonic()))
    return [Residue("thread", f"thread {t.name!r}", f"still running (target {describe(getattr(t, '_target', None))})")
            for t in extra]


def format_residue(found: list[Residue], *, test: str = "") -> str:
    head = "pytest-comfyruntime: the test left things behind" + (f" ({test})" if test else "")
    lines = [head + "; they have been restored, but the extension's unhook (or the test) must undo them:"]
    lines += [f"  - [{r.kind}] {r}" for r in found]
    return "\n".join(lines)


__all__ = ["Residue", "describe", "find_residue", "format_residue"]
