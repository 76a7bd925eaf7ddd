"""The engine behind the fixtures, usable without pytest's fixture machinery.

``ComfyRuntime`` owns a session: its settings, the mock stand-ins (session-wide, so an extension
that does ``import execution`` at its top can be imported at collection time) and the base
folder. ``ComfyRuntime.open_test`` prepares one test: the ``execution`` module with the built-in
node pack and the extension's hooks enabled, on top of a snapshot the residue check compares
with afterwards. Every step that installs something records its undo.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .checks.residue import Residue, Snapshot, find_residue, originals_of, restore, snapshot_comfyui
from .config import ConfigError, Settings, import_callable
from .executor.backends import MockBackend, RealBackend
from .executor.eras import ERAS, Era
from .executor.harness import ExecutorHarness
from .executor.hook_breaker import HookBreaker
from .executor.real import load_real_comfyui
from .executor.registry import NodeRegistry


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
    #: Eras C and D: the functions ComfyUI puts back on purpose, saved before the hooks were enabled.
    hook_breaker: HookBreaker | None = None
    _undo: list[Callable[[], None]] = field(default_factory=list)
    _after_check: list[Callable[[], None]] = field(default_factory=list)
    _closed: bool = False

    def harness(self) -> ExecutorHarness:
        return ExecutorHarness(self.execution, self.server, backend=self.backend, era=self.era.key,
                               comfyui_version=self.comfyui_version, hook_breaker=self.hook_breaker or False)

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
        self.base_dir = base_dir
        self.hooks = hooks or HookCalls()
        self.inifile = inifile
        self.backends: dict[str, MockBackend | RealBackend] = {}
        self._session_undo: list[Callable[[], None]] = []
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
                self._session_undo.append(real.activate())
        if executor in ("mock", "both"):
            for era in eras:
                self.backends[f"mock-{era}" if several else "mock"] = MockBackend(ERAS[era], self.base_dir)
            primary = next(iter(self.backends.values()))
            if self.settings.session_standins:
                self._session_undo.append(primary.activate())
                primary.standin.import_core(str(self.base_dir))
                primary.load()
        if real is not None:
            self.backends[f"real-{real.era.key}" if several else "real"] = real

    def stop(self) -> None:
        while self._session_undo:
            self._session_undo.pop()()

    def _callables(self, setting: str) -> list[Callable[..., Any]]:
        if setting not in self._resolved:
            specs = self.settings.hooks if setting == "comfyruntime_hooks" else self.settings.unhooks
            self._resolved[setting] = [import_callable(s, setting=setting, inifile=self.inifile) for s in specs]
        return self._resolved[setting]

    # -- one test ------------------------------------------------------------------------
    def open_test(self, tmp_dir: Path, builtin_nodes: dict[str, type] | None = None,
                  builtin_names: dict[str, str] | None = None, *, backend: str | None = None) -> TestContext:
        chosen = self.backends[backend or self.backend_names[0]]
        after_check: list[Callable[[], None]] = [chosen.activate()]
        try:
            execution, nodes, server = chosen.load()
            snapshot = snapshot_comfyui(chosen.watched(), nodes)
        except BaseException:
            after_check.pop()()
            raise
        ctx = TestContext(chosen.era, execution, nodes, server, NodeRegistry(nodes), snapshot,
                          backend=chosen.name, comfyui_version=chosen.version, _after_check=after_check)
        try:
            chosen.point_folders(tmp_dir)
            ctx._undo.append(ctx.registry.undo)
            ctx.registry.add_all(builtin_nodes or {}, builtin_names)
            self.hooks.register_nodes(registry=ctx.registry)
            enable, disable = self._callables("comfyruntime_hooks"), self._callables("comfyruntime_unhooks")
            ctx._undo.append(lambda: [fn(execution) for fn in disable])
            ctx._undo.append(lambda: self.hooks.disable(execution=execution))
            for fn in enable:
                fn(execution)
            self.hooks.enable(execution=execution)
            # main.py restores HOOK_BREAK right after custom nodes load: the hooks just did.
            ctx.hook_breaker = HookBreaker.save(chosen.era.key, originals_of(snapshot))
            if ctx.hook_breaker is not None:
                ctx.hook_breaker.restore("right after custom nodes loaded (the hooks were just enabled)")
        except BaseException:
            try:
                ctx.close()
            finally:
                ctx.check()
            raise
        return ctx


__all__ = ["ComfyRuntime", "ConfigError", "HookCalls", "TestContext"]
