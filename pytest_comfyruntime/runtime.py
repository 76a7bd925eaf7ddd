"""The engine behind the fixtures, usable without pytest's fixture machinery.

``ComfyRuntime`` owns a session: its settings, the mock stand-ins (session-wide, so an extension
that does ``import execution`` at its top can be imported at collection time) and the base
folder. ``ComfyRuntime.open_test`` prepares one test: the ``execution`` module with the built-in
node pack and the extension's hooks enabled, on top of a snapshot the residue check compares
with afterwards. Every step that installs something records its undo.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .checks.residue import Residue, Snapshot, find_residue, restore, take_snapshot
from .config import ConfigError, Settings, import_callable
from .executor.eras import ERAS, Era
from .executor.harness import ExecutorHarness
from .executor.registry import NodeRegistry
from .executor.standin import StandIn, is_managed

MOCK_COMFYUI_VERSION = {"A": None, "B": None, "C": "0.3.75"}


@dataclass
class HookCalls:
    """The pluggy hook relay's three calls (``config.hook.comfyruntime_*``), or no-ops."""

    register_nodes: Callable[..., Any] = lambda **kw: []
    enable: Callable[..., Any] = lambda **kw: []
    disable: Callable[..., Any] = lambda **kw: []


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
    _undo: list[Callable[[], None]] = field(default_factory=list)
    _after_check: list[Callable[[], None]] = field(default_factory=list)
    _closed: bool = False

    def harness(self) -> ExecutorHarness:
        return ExecutorHarness(self.execution, self.server, backend=self.backend, era=self.era.key,
                               comfyui_version=self.comfyui_version)

    def close(self) -> None:
        """Disables hooks and unregisters nodes (the extension's undo runs first)."""
        if self._closed:
            return
        self._closed = True
        errors: list[BaseException] = []
        while self._undo:
            step = self._undo.pop()
            try:
                step()
            except BaseException as exc:  # keep undoing the rest, then report the first failure
                errors.append(exc)
        if errors:
            raise errors[0]

    def check(self) -> list[Residue]:
        """What was left behind since the snapshot; everything is restored either way."""
        try:
            found = find_residue(self.snapshot)
            restore(self.snapshot)
        finally:
            while self._after_check:
                self._after_check.pop()()
        return found


class ComfyRuntime:
    def __init__(self, settings: Settings, *, base_dir: Path, hooks: HookCalls | None = None,
                 inifile: str | None = None) -> None:
        self.settings = settings
        self.era = ERAS[settings.era]
        self.base_dir = base_dir
        self.hooks = hooks or HookCalls()
        self.inifile = inifile
        self.standin = StandIn(self.era)
        self._session_undo: Callable[[], None] | None = None
        self._resolved: dict[str, list[Callable[..., Any]]] = {}

    # -- session -----------------------------------------------------------------------
    def start(self) -> None:
        if self.settings.session_standins and self.settings.executor != "real":
            self._session_undo = self.standin.activate()
            self.standin.import_core(str(self.base_dir))
            self._ensure_server()

    def stop(self) -> None:
        if self._session_undo is not None:
            self._session_undo()
            self._session_undo = None

    def _ensure_server(self) -> Any:
        server = sys.modules["server"]
        if server.PromptServer.instance is None:
            server.PromptServer(None)
        return server.PromptServer.instance

    def _callables(self, setting: str) -> list[Callable[..., Any]]:
        if setting not in self._resolved:
            specs = self.settings.hooks if setting == "comfyruntime_hooks" else self.settings.unhooks
            self._resolved[setting] = [import_callable(s, setting=setting, inifile=self.inifile) for s in specs]
        return self._resolved[setting]

    # -- one test ------------------------------------------------------------------------
    def open_test(self, tmp_dir: Path, builtin_nodes: dict[str, type] | None = None,
                  builtin_names: dict[str, str] | None = None) -> TestContext:
        after_check: list[Callable[[], None]] = []
        if not self.standin.active:
            after_check.append(self.standin.activate())
        try:
            execution = self.standin.import_core()
            server = self._ensure_server()
            nodes = sys.modules["nodes"]
            snapshot = take_snapshot(
                self.standin.modules().values(),
                registries={"nodes.NODE_CLASS_MAPPINGS": nodes.NODE_CLASS_MAPPINGS,
                            "nodes.NODE_DISPLAY_NAME_MAPPINGS": nodes.NODE_DISPLAY_NAME_MAPPINGS},
                sys_module_names=[n for n in sys.modules if is_managed(n)])
        except BaseException:
            for step in reversed(after_check):
                step()
            raise
        ctx = TestContext(self.era, execution, nodes, server, NodeRegistry(nodes), snapshot,
                          comfyui_version=MOCK_COMFYUI_VERSION[self.era.key], _after_check=after_check)
        try:
            sys.modules["folder_paths"]._point_to(str(tmp_dir))
            server._sent.clear()
            ctx._undo.append(ctx.registry.undo)
            ctx.registry.add_all(builtin_nodes or {}, builtin_names)
            self.hooks.register_nodes(registry=ctx.registry)
            enable, disable = self._callables("comfyruntime_hooks"), self._callables("comfyruntime_unhooks")
            ctx._undo.append(lambda: [fn(execution) for fn in disable])
            ctx._undo.append(lambda: self.hooks.disable(execution=execution))
            for fn in enable:
                fn(execution)
            self.hooks.enable(execution=execution)
        except BaseException:
            try:
                ctx.close()
            finally:
                ctx.check()
            raise
        return ctx


__all__ = ["ComfyRuntime", "ConfigError", "HookCalls", "TestContext"]
