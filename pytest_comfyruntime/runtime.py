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

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .checks.residue import Residue, find_residue
from .config import ConfigError, Settings, extension_frames, import_callable
from .contexts import ComfyBench, TestContext, _open
from .executor.backends import MockBackend, RealBackend
from .executor.custom_nodes import CustomNodesLoad, alias_packages, load_custom_nodes, package_paths
from .executor.eras import ERAS
from .executor.hook_breaker import HookBreaker
from .executor.real import load_real_comfyui
from .executor.snapshots import snapshot_comfyui
from .executor.standin import is_managed, rebind_globals
from .state.describe import defined_in, location
from .state.snapshot import Snapshot, originals_of, restore
from .state.undo import Undo


@dataclass
class HookCalls:
    """The pluggy hook relay's three calls (``config.hook.comfyruntime_*``), or no-ops."""

    register_nodes: Callable[..., Any] = lambda **kw: []
    enable: Callable[..., Any] = lambda **kw: []
    disable: Callable[..., Any] = lambda **kw: []


class ComfyRuntime:
    def __init__(self, settings: Settings, *, base_dir: Path, hooks: HookCalls | None = None,
                 inifile: str | None = None) -> None:
        self.settings = settings
        self.base_dir = base_dir
        self.hooks = hooks or HookCalls()
        self.inifile = inifile
        self.backends: dict[str, MockBackend | RealBackend] = {}
        self._session_undo = Undo()
        self._resolved: dict[str, list[tuple[str, Callable[..., Any]]]] = {}
        #: The custom nodes each backend loaded at session start (by backend name).
        self.loaded: dict[str, LoadedCustomNodes] = {}
        #: What unloading them at the end of the session could not put back (by backend name).
        self.unload_residue: dict[str, list[Residue]] = {}
        self._unloaded: set[str] = set()
        self._extension_modules: set[str] = set()

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
                    "ComfyUI; fix: pass --comfyui-root=PATH (or set COMFYUI_ROOT, or ini comfyruntime_comfyui_root)")
            real = RealBackend(load_real_comfyui(self.settings.comfyui_root))
            if executor == "real":
                self._session_undo.call(real.activate())
        if executor in ("mock", "both"):
            mocks: dict[str, MockBackend] = {}
            for era in eras:
                key = f"mock-{era}" if several else "mock"
                self.backends[key] = mocks[key] = MockBackend(ERAS[era], self.base_dir)
            for mock in mocks.values():
                mock.standin.foreign = self._extension_modules  # one set: each era's custom nodes are its own
            primary = next(iter(mocks.values()))
            if self.settings.session_standins:
                self._session_undo.call(primary.activate())
                primary.standin.import_core(str(self.base_dir))
                primary.load()
        if real is not None:
            real.foreign = self._extension_modules
            self.backends[f"real-{real.era.key}" if several else "real"] = real
        if self.settings.custom_nodes:
            paths = package_paths(self.settings.custom_nodes)
            for name in self.backends:
                self._load_custom_nodes(name, paths)

    def _load_custom_nodes(self, name: str, paths: list[Path]) -> None:
        """Loads the custom nodes into one backend as ComfyUI's ``main.py`` does, after a
        snapshot of what ComfyUI was before; they stay loaded for the session."""
        backend = self.backends[name]
        activation = Undo()
        activation.call(backend.activate())
        try:
            if isinstance(backend, MockBackend):
                backend.standin.import_all()
            _execution, nodes, _server = backend.load()
            before = snapshot_comfyui(backend.watched(), nodes, module_names=backend.module_names())
            load = load_custom_nodes(nodes, paths, label=f"{name} backend, ComfyUI era {backend.era.label}")
            modules = [*load.modules, *alias_packages(load)]
            self._extension_modules.update(modules)
            backend.adopt(modules)  # they come and go with the backend's activation
            # main.py restores HOOK_BREAK right after custom nodes load.
            breaker = HookBreaker.save(backend.era, originals_of(before))
            broken = breaker.restore("right after custom nodes loaded") if breaker is not None else []
            self.loaded[name] = LoadedCustomNodes(before, load, [str(b) for b in broken])
            self._session_undo.call(functools.partial(self._unload_custom_nodes, name))
        finally:
            activation.undo()

    def _unload_custom_nodes(self, name: str) -> None:
        """Puts the backend's ComfyUI back as it was before the custom nodes loaded; what cannot
        be put back is kept in :attr:`unload_residue`."""
        if name in self._unloaded:
            return
        self._unloaded.add(name)
        backend, loaded = self.backends[name], self.loaded[name]
        activation = backend.activate()
        try:
            restore(loaded.before)
            left = find_residue(loaded.before, thread_grace_s=0)
            if left:
                self.unload_residue[name] = left
        finally:
            activation()

    def unload(self) -> dict[str, list[Residue]]:
        """Undoes what the custom nodes did at import, now (the session's end does it anyway);
        returns, by backend, what could not be undone."""
        for name in list(self.loaded):
            self._unload_custom_nodes(name)
        return self.unload_residue

    def stop(self) -> None:
        self._session_undo.undo()

    def rebind(self, namespace: dict[str, Any], undo: Undo) -> list[str]:
        """With several backends, points a test module's imports of ComfyUI's modules and of the
        loaded custom nodes at the ones of the backend now active (recorded on ``undo``)."""
        if len(self.backends) < 2:
            return []
        extension = self._extension_modules
        return rebind_globals(namespace, undo, lambda n: is_managed(n) or n in extension)

    def _callables(self, setting: str) -> list[tuple[str, Callable[..., Any]]]:
        """``(spec, function)`` of each ``comfyruntime_hooks`` / ``comfyruntime_unhooks`` entry,
        imported once (a :class:`ConfigError` naming the entry when it cannot be)."""
        if setting not in self._resolved:
            specs = self.settings.hooks if setting == "comfyruntime_hooks" else self.settings.unhooks
            self._resolved[setting] = [(s.strip(), import_callable(s, setting=setting, inifile=self.inifile))
                                       for s in specs]
        return self._resolved[setting]

    # -- one test, one conformance check -------------------------------------------------
    def open_test(self, tmp_dir: Path, builtin_nodes: dict[str, type] | None = None,
                  builtin_names: dict[str, str] | None = None, *, backend: str | None = None) -> TestContext:
        name = backend or self.backend_names[0]
        chosen = self.backends[name]
        loaded = self.loaded.get(name)
        error = loaded.load.error() if loaded is not None else None
        if error is not None:
            raise CustomNodesError(error)
        baseline = loaded.before if loaded is not None else None
        o = _open(chosen, tmp_dir, builtin_nodes or {}, builtin_names, baseline=baseline)
        ctx = TestContext(chosen.era, o.execution, o.nodes, o.server, o.registry, o.snapshot, backend=chosen.name,
                          comfyui_version=chosen.version, hook_breaker=o.hook_breaker, undo=o.undo,
                          after_check=o.activation, baseline=baseline)
        execution, undo = o.execution, o.undo
        where = f" in {self.inifile}" if self.inifile else ""
        try:
            self.hooks.register_nodes(registry=ctx.registry)
            enable, disable = self._callables("comfyruntime_hooks"), self._callables("comfyruntime_unhooks")

            def unhook() -> None:
                for spec, fn in disable:
                    _call_hook(f"comfyruntime_unhooks{where}", spec, fn, execution)
            undo.call(unhook)
            undo.call(lambda: _call_hook_impls("pytest_comfyruntime_disable_hooks", self.hooks.disable, execution))
            for spec, fn in enable:
                _call_hook(f"comfyruntime_hooks{where}", spec, fn, execution)
            _call_hook_impls("pytest_comfyruntime_enable_hooks", self.hooks.enable, execution)
            # main.py restores HOOK_BREAK right after custom nodes load: the hooks just did.
            if ctx.hook_breaker is not None:
                ctx.hook_breaker.restore("right after custom nodes loaded (the hooks were just enabled)")
        except BaseException as exc:
            combined = None
            try:
                ctx.close()  # the unhooks run after a failed enable too, and may fail for the same reason
            except HookError as also:  # the first failure is the one to report, once
                if isinstance(exc, HookError):
                    first = str(also).partition("\n")[0].removeprefix("pytest-comfyruntime: ")
                    combined = HookError(f"{exc}\n  then, cleaning up after it: {first}")
            finally:
                ctx.check()
            if combined is not None:
                raise combined from None
            raise
        return ctx

    def open_bench(self, backend: str, tmp_dir: Path) -> ComfyBench:
        """A clean ComfyUI of ``backend`` for one conformance check: the CR nodes registered, no
        hooks enabled (the check enables them); ``close()`` puts everything back."""
        from .nodes import TEST_NODE_CLASS_MAPPINGS, TEST_NODE_DISPLAY_NAME_MAPPINGS

        return ComfyBench(_open(self.backends[backend], tmp_dir, dict(TEST_NODE_CLASS_MAPPINGS),
                                dict(TEST_NODE_DISPLAY_NAME_MAPPINGS), display_names=False))


class CustomNodesError(Exception):
    """The extension's custom nodes did not load on a backend (the message says how ComfyUI reported it)."""


class HookError(Exception):
    """An enable or unhook function of the extension raised: the message names the setting, the
    function, the error, the extension's own lines where it raised, and the fix."""


def _call_hook(setting: str, spec: str, fn: Callable[..., Any], execution: ModuleType) -> None:
    """``fn(execution)``, as the fixtures call each ``comfyruntime_hooks`` / ``comfyruntime_unhooks``
    entry; a :class:`HookError` (no chained exception) when it raises."""
    failure = None
    try:
        fn(execution)
    except Exception as exc:
        failure = _hook_failure(setting, spec, fn, exc)
    if failure is not None:
        raise failure


def _hook_failure(setting: str, spec: str, fn: Callable[..., Any], exc: Exception) -> HookError:
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    named = f"{spec} ({location(code, defined_in(fn))})" if code is not None else spec
    frames = extension_frames(exc.__traceback__)
    unhook = setting.startswith("comfyruntime_unhooks")
    when = "after each test that uses the fixtures" if unhook else "before each test that uses the fixtures"
    if isinstance(exc, TypeError) and exc.__traceback__ is not None and exc.__traceback__.tb_next is None:
        # raised by the call itself, not inside the function: it does not take the arguments given
        try:
            takes = f"it takes {inspect.signature(fn)}"
        except (TypeError, ValueError):
            takes = "its signature differs"
        fix = (f"it is called as {getattr(fn, '__name__', 'fn')}(execution), with the execution module, {when}; "
               f"{takes}: define it as def {getattr(fn, '__name__', 'fn')}(execution)")
    elif unhook:
        fix = f"make it undo what the hooks did without raising; it is called with the execution module {when}"
    else:
        fix = f"correct the extension's code where it raised (above); it is called with the execution module {when}"
    text = f"pytest-comfyruntime: {setting}: {named} raised {type(exc).__name__}: {exc}"
    return HookError(text + (f"\n{frames}" if frames else "") + f"\n  fix: {fix}")


def _call_hook_impls(hook: str, call: Callable[..., Any], execution: ModuleType) -> None:
    """Calls the ``pytest_comfyruntime_enable_hooks`` / ``_disable_hooks`` implementations; a
    :class:`HookError` showing the extension's lines (not pluggy's) when one raises."""
    failure = None
    try:
        call(execution=execution)
    except Exception as exc:
        frames = extension_frames(exc.__traceback__)
        failure = HookError(f"pytest-comfyruntime: the {hook} hook raised {type(exc).__name__}: {exc}"
                            + (f"\n{frames}" if frames else "")
                            + "\n  fix: correct the hook implementation where it raised (above)")
    if failure is not None:
        raise failure


@dataclass
class LoadedCustomNodes:
    """The custom nodes one backend loaded at session start: ComfyUI before them, what loaded,
    and the patches ComfyUI's hook breaker undid right after."""

    before: Snapshot
    load: CustomNodesLoad
    broken: list[str]


#: The session's runtime, in ``config.stash`` (set by the main plugin's ``pytest_configure``).
RUNTIME_KEY = pytest.StashKey[ComfyRuntime]()
#: A test's context, in ``item.stash`` (set by ``comfy_execution_module``, taken by the residue check).
CONTEXT_KEY = pytest.StashKey[TestContext]()


__all__ = ["CONTEXT_KEY", "ComfyBench", "ComfyRuntime", "ConfigError", "HookCalls", "HookError", "RUNTIME_KEY",
           "TestContext"]
