"""The engine behind the fixtures, usable without pytest's fixture machinery.

``ComfyRuntime`` owns a session: its settings, the mock stand-ins (session-wide, so an extension
that does ``import execution`` at its top can be imported at collection time) and the base
folder. ``ComfyRuntime.open_test`` prepares one test: the ``execution`` module with the built-in
node pack and the extension's hooks enabled, on top of a snapshot the residue check compares
with afterwards. ``ComfyRuntime.open_bench`` prepares one conformance check the same way, minus
the extension's hooks (a :class:`ComfyBench`). Every step that installs something records its
undo. The plugins keep the session's runtime and each test's context in pytest's stash under
:data:`RUNTIME_KEY` and :data:`CONTEXT_KEY`.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .capture._targets import TARGETS
from .checks.residue import Residue, find_residue
from .config import ConfigError, Settings, import_callable
from .executor.backends import MockBackend, RealBackend
from .executor.eras import ERAS, Era
from .executor.harness import ExecutorHarness, RecordingServer
from .executor.hook_breaker import HookBreaker
from .executor.real import load_real_comfyui
from .executor.registry import NodeRegistry
from .executor.snapshots import snapshot_comfyui
from .state.snapshot import Snapshot, originals_of, restore
from .state.undo import Undo


@dataclass
class HookCalls:
    """The pluggy hook relay's three calls (``config.hook.comfyruntime_*``), or no-ops."""

    register_nodes: Callable[..., Any] = lambda **kw: []
    enable: Callable[..., Any] = lambda **kw: []
    disable: Callable[..., Any] = lambda **kw: []


@dataclass
class _Opened:
    """What a test and a conformance check both start from: a backend activated and loaded, a
    snapshot taken, its folders pointed at a temporary folder, built-in nodes registered and the
    hook breaker saved (from the snapshot's originals)."""

    backend: MockBackend | RealBackend
    execution: ModuleType
    nodes: ModuleType
    server: Any
    snapshot: Snapshot
    registry: NodeRegistry
    hook_breaker: HookBreaker | None
    #: What was installed on top of the snapshot (the nodes, and a test's hooks).
    undo: Undo
    #: The backend's activation: undone last.
    activation: Undo

    def discard(self) -> None:
        """Undoes what was installed, puts the snapshot back, then undoes the activation."""
        try:
            try:
                self.undo.undo()
            finally:
                restore(self.snapshot)
        finally:
            self.activation.undo()


def _open(backend: MockBackend | RealBackend, tmp_dir: Path, builtin_nodes: dict[str, type],
          builtin_names: dict[str, str] | None, *, display_names: bool = True) -> _Opened:
    """Activates and loads ``backend``, snapshots it (``display_names``: the display-name
    registry too), saves the hook breaker, points the folders at ``tmp_dir`` and registers the
    built-in nodes; on failure everything is undone again."""
    activation = Undo()
    activation.call(backend.activate())
    try:
        execution, nodes, server = backend.load()
        snapshot = snapshot_comfyui(backend.watched(), nodes, display_names=display_names,
                                    module_names=backend.module_names())
    except BaseException:
        activation.undo()
        raise
    undo = Undo()
    opened = _Opened(backend, execution, nodes, server, snapshot, NodeRegistry(nodes, undo),
                     HookBreaker.save(backend.era, originals_of(snapshot)), undo, activation)
    try:
        backend.point_folders(tmp_dir)
        opened.registry.add_all(builtin_nodes, builtin_names)
    except BaseException:
        opened.discard()
        raise
    return opened


@dataclass
class TestContext:
    """One test's view of ComfyUI: the modules, the registry, and what to undo."""

    era: Era
    execution: ModuleType
    nodes: ModuleType
    server: Any
    registry: NodeRegistry
    snapshot: Snapshot
    backend: str = "mock"
    comfyui_version: str | None = None
    #: Eras C and D: the functions ComfyUI puts back on purpose, saved before the hooks were enabled.
    hook_breaker: HookBreaker | None = None
    #: What the test installed (nodes, the hooks' undo): undone by :meth:`close`.
    undo: Undo = field(default_factory=Undo)
    #: The backend's activation: undone by :meth:`check`, after the residue is found.
    after_check: Undo = field(default_factory=Undo)

    def harness(self) -> ExecutorHarness:
        return ExecutorHarness(self.execution, self.server, backend=self.backend, era=self.era.key,
                               comfyui_version=self.comfyui_version, hook_breaker=self.hook_breaker or False)

    def close(self) -> None:
        """Disables hooks and unregisters nodes (the extension's undo runs first); idempotent."""
        self.undo.undo()

    def check(self) -> list[Residue]:
        """What was left behind since the snapshot; everything is restored either way."""
        try:
            found = find_residue(self.snapshot)
            restore(self.snapshot)
        finally:
            self.after_check.undo()
        return found


class ComfyBench:
    """A clean ComfyUI for one conformance check (:meth:`ComfyRuntime.open_bench`): the backend's
    modules, the CR nodes, a snapshot to diff (the checks' ``Bench``)."""

    def __init__(self, opened: _Opened) -> None:
        self._opened = opened
        self.backend = opened.backend
        self.execution, self.nodes, self.server = opened.execution, opened.nodes, opened.server
        self.snapshot = opened.snapshot
        self.hook_breaker = opened.hook_breaker
        self.registry = opened.registry

    @property
    def label(self) -> str:
        return f"{self.backend.name}, era {self.backend.era.key}"

    def harness(self, own_server: bool = False) -> ExecutorHarness:
        return ExecutorHarness(self.execution, RecordingServer() if own_server else self.server,
                               backend=self.backend.name, era=self.backend.era.key,
                               comfyui_version=self.backend.version, hook_breaker=self.hook_breaker or False)

    def left_behind(self) -> list[Residue]:
        return [r for r in find_residue(self.snapshot, thread_grace_s=0)
                if r.kind in ("patched", "added", "removed", "registered", "interpreter")]

    def reset(self) -> None:
        """Puts ComfyUI's modules, classes, CacheProvider registry and the interpreter's hooks back
        as they were (nodes and environment kept)."""
        restore(Snapshot(modules=self.snapshot.modules, classes=self.snapshot.classes, lists=self.snapshot.lists,
                         environ=dict(os.environ), interpreter=self.snapshot.interpreter))

    def targets(self) -> dict[str, Any]:
        return {t.name: t.current(self.execution) for t in TARGETS}

    def close(self) -> None:
        """Unregisters the nodes, puts the snapshot back and undoes the activation."""
        self._opened.discard()


class ComfyRuntime:
    def __init__(self, settings: Settings, *, base_dir: Path, hooks: HookCalls | None = None,
                 inifile: str | None = None) -> None:
        self.settings = settings
        self.base_dir = base_dir
        self.hooks = hooks or HookCalls()
        self.inifile = inifile
        self.backends: dict[str, MockBackend | RealBackend] = {}
        self._session_undo = Undo()
        self._resolved: dict[str, list[Callable[..., Any]]] = {}

    @property
    def backend_names(self) -> list[str]:
        """``mock`` / ``real``, or ``mock-A``, ``mock-C``, ``real-C``... when several eras run."""
        return list(self.backends)

    # -- session -----------------------------------------------------------------------
    def start(self) -> None:
        """Loads a real ComfyUI (when asked for) and installs the session-wide stand-ins."""
        executor, eras = self.settings.executor, self.settings.eras
        several = len(eras) > 1 and executor != "real"
        real = None
        if executor in ("real", "both"):
            if self.settings.comfyui_root is None:
                raise ConfigError(
                    f"pytest-comfyruntime: --comfyruntime-executor={executor} needs a real "
                    "ComfyUI; fix: pass --comfyui-root PATH (or set COMFYUI_ROOT, or ini comfyruntime_comfyui_root)")
            real = RealBackend(load_real_comfyui(self.settings.comfyui_root))
            if executor == "real":
                self._session_undo.call(real.activate())
        if executor in ("mock", "both"):
            mocks: dict[str, MockBackend] = {}
            for era in eras:
                key = f"mock-{era}" if several else "mock"
                self.backends[key] = mocks[key] = MockBackend(ERAS[era], self.base_dir)
            primary = next(iter(mocks.values()))
            if self.settings.session_standins:
                self._session_undo.call(primary.activate())
                primary.standin.import_core(str(self.base_dir))
                primary.load()
        if real is not None:
            self.backends[f"real-{real.era.key}" if several else "real"] = real

    def stop(self) -> None:
        self._session_undo.undo()

    def _callables(self, setting: str) -> list[Callable[..., Any]]:
        if setting not in self._resolved:
            specs = self.settings.hooks if setting == "comfyruntime_hooks" else self.settings.unhooks
            self._resolved[setting] = [import_callable(s, setting=setting, inifile=self.inifile) for s in specs]
        return self._resolved[setting]

    # -- one test, one conformance check -------------------------------------------------
    def open_test(self, tmp_dir: Path, builtin_nodes: dict[str, type] | None = None,
                  builtin_names: dict[str, str] | None = None, *, backend: str | None = None) -> TestContext:
        chosen = self.backends[backend or self.backend_names[0]]
        o = _open(chosen, tmp_dir, builtin_nodes or {}, builtin_names)
        ctx = TestContext(chosen.era, o.execution, o.nodes, o.server, o.registry, o.snapshot, backend=chosen.name,
                          comfyui_version=chosen.version, hook_breaker=o.hook_breaker, undo=o.undo,
                          after_check=o.activation)
        execution, undo = o.execution, o.undo
        try:
            self.hooks.register_nodes(registry=ctx.registry)
            enable, disable = self._callables("comfyruntime_hooks"), self._callables("comfyruntime_unhooks")

            def unhook() -> None:
                for fn in disable:
                    fn(execution)
            undo.call(unhook)
            undo.call(lambda: self.hooks.disable(execution=execution))
            for fn in enable:
                fn(execution)
            self.hooks.enable(execution=execution)
            # main.py restores HOOK_BREAK right after custom nodes load: the hooks just did.
            if ctx.hook_breaker is not None:
                ctx.hook_breaker.restore("right after custom nodes loaded (the hooks were just enabled)")
        except BaseException:
            try:
                ctx.close()
            finally:
                ctx.check()
            raise
        return ctx

    def open_bench(self, backend: str, tmp_dir: Path) -> ComfyBench:
        """A clean ComfyUI of ``backend`` for one conformance check: the CR nodes registered, no
        hooks enabled (the check enables them); ``close()`` puts everything back."""
        from .nodes import TEST_NODE_CLASS_MAPPINGS, TEST_NODE_DISPLAY_NAME_MAPPINGS

        return ComfyBench(_open(self.backends[backend], tmp_dir, dict(TEST_NODE_CLASS_MAPPINGS),
                                dict(TEST_NODE_DISPLAY_NAME_MAPPINGS), display_names=False))


#: The session's runtime, in ``config.stash`` (set by the main plugin's ``pytest_configure``).
RUNTIME_KEY = pytest.StashKey[ComfyRuntime]()
#: A test's context, in ``item.stash`` (set by ``comfy_execution_module``, taken by the residue check).
CONTEXT_KEY = pytest.StashKey[TestContext]()


__all__ = ["CONTEXT_KEY", "ComfyBench", "ComfyRuntime", "ConfigError", "HookCalls", "RUNTIME_KEY", "TestContext"]
