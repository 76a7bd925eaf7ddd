"""pytest wiring of the runtime checks: the ``comfyruntime`` fixture and the conformance battery.

Loaded through its own ``pytest11`` entry point (``comfyruntime_checks``), next to the main
plugin, whose session runtime and per-test context (:data:`~.runtime.RUNTIME_KEY`,
:data:`~.runtime.CONTEXT_KEY`) it reads. The work is in :mod:`pytest_comfyruntime.checks` and
:mod:`pytest_comfyruntime.runtime`.

- ``comfyruntime`` fixture: ``assert_hooks_active()`` and ``assert_session_isolation(...)``
  bound to the test's executor. For tests that request it, the enabling of the extension's hooks
  (ini ``comfyruntime_hooks`` and ``pytest_comfyruntime_enable_hooks`` implementations) is watched,
  so a target the extension reaches for and ComfyUI lacks can be named.
- ini ``comfyruntime_conformance`` / ``--comfyruntime-conformance``: one test item per check of
  :data:`~pytest_comfyruntime.checks.conformance.CHECKS` per hook module (and per backend).
"""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Generator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .checks.assertions import RuntimeChecks
from .checks.conformance import CHECKS, CheckFailed, CheckSkipped, ConformanceTarget, run_check
from .checks.lookups import Observation
from .checks.target import TargetError, parse_target
from .checks.watch import EnableWatch, entry_points
from .runtime import CONTEXT_KEY, RUNTIME_KEY

TARGETS_KEY = pytest.StashKey[list[ConformanceTarget]]()
OBSERVATION_KEY = pytest.StashKey[Observation]()
_WATCH_KEY = pytest.StashKey[EnableWatch]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("comfyruntime")
    group.addoption("--comfyruntime-conformance", dest="comfyruntime_conformance", action="append", default=None,
                    metavar="MODULE[:enable=..,disable=..,read=..]",
                    help="run the conformance battery on this hook module (repeatable; replaces the ini list)")
    parser.addini("comfyruntime_conformance", "Hook modules to run the conformance battery on, one per line "
                  "('my_ext.hooks' or 'my_ext.hooks:enable=start,disable=stop,read=get_session').",
                  type="linelist", default=[])


def pytest_configure(config: pytest.Config) -> None:
    cli = config.getoption("comfyruntime_conformance")
    source = "--comfyruntime-conformance" if cli else (
        f"ini option comfyruntime_conformance in {config.inipath}" if config.inipath else "comfyruntime_conformance")
    try:
        config.stash[TARGETS_KEY] = [parse_target(s, source=source)
                                     for s in (cli or config.getini("comfyruntime_conformance")) if s.strip()]
    except TargetError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.pluginmanager.register(_Watcher(config), "comfyruntime-checks-watcher")


def pytest_report_header(config: pytest.Config) -> str | None:
    targets = config.stash.get(TARGETS_KEY, [])
    if not targets:
        return None
    return "comfyruntime: conformance battery on " + ", ".join(t.module for t in targets)


# -- the conformance items ---------------------------------------------------------------------
class ConformanceItem(pytest.Item):
    """One check of the battery on one hook module and backend."""

    def __init__(self, *, check: str, target: ConformanceTarget, backend: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check, self.target, self.backend = check, target, backend

    def runtest(self) -> None:
        runtime = self.config.stash[RUNTIME_KEY]
        tmp = Path(tempfile.mkdtemp(prefix="comfyruntime-conformance-"))
        try:
            run_check(self.check, self.target, lambda: runtime.open_bench(self.backend, tmp))
        except CheckSkipped as exc:
            pytest.skip(str(exc))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        excinfo.traceback = excinfo.traceback.filter(
            lambda entry: not any(part in str(entry.path) for part in ("_pytest", "pluggy")))
        return excinfo.getrepr(style="short")

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"comfyruntime conformance of {self.target.module}: {self.check}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    runtime = config.stash.get(RUNTIME_KEY, None)
    if runtime is None:
        return
    backends = runtime.backend_names
    for target in config.stash.get(TARGETS_KEY, []):
        for check in CHECKS:
            for backend in backends:
                name = check + (f"[{backend}]" if len(backends) > 1 else "")
                items.append(ConformanceItem.from_parent(
                    session, name=name, nodeid=f"comfyruntime-conformance[{target.module}]::{name}",
                    check=check, target=target, backend=backend))


# -- watching the extension enable its hooks ---------------------------------------------------
class _Watcher:
    """Registered per session: watches the extension's code (:class:`~.checks.watch.EnableWatch`)
    while the fixtures enable its hooks, for tests that request ``comfyruntime`` (the observation
    goes to the item's stash)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.item: pytest.Item | None = None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        self.item = item
        try:
            return (yield)
        finally:
            self._stop()
            self.item = None

    @pytest.hookimpl(trylast=True)
    def pytest_comfyruntime_register_nodes(self, registry: Any) -> None:
        """The fixtures call this just before they enable the extension's hooks: start watching."""
        item = self.item
        if item is None or "comfyruntime" not in getattr(item, "fixturenames", ()) or _WATCH_KEY in item.stash:
            return
        enable_hooks = self.config.pluginmanager.hook.pytest_comfyruntime_enable_hooks.get_hookimpls()
        points = entry_points(self.config.stash[RUNTIME_KEY].settings.hooks,
                              [impl.function for impl in enable_hooks
                               if getattr(impl.function, "__self__", None) is not self])
        watch = item.stash[_WATCH_KEY] = EnableWatch(points)
        watch.start()

    @pytest.hookimpl(trylast=True)
    def pytest_comfyruntime_enable_hooks(self, execution: ModuleType) -> None:
        """Runs after the ini hooks and every other implementation: stop watching."""
        self._stop()

    def _stop(self) -> None:
        item = self.item
        watch = item.stash.get(_WATCH_KEY, None) if item is not None else None
        if item is not None and watch is not None:
            del item.stash[_WATCH_KEY]
            item.stash[OBSERVATION_KEY] = watch.stop()


# -- the fixture -------------------------------------------------------------------------------
@pytest.fixture
def comfyruntime(comfy_execution_module: ModuleType, request: pytest.FixtureRequest) -> RuntimeChecks:
    """Assertions on the extension's hooks, bound to this test's executor."""
    runtime = request.config.stash[RUNTIME_KEY]
    return RuntimeChecks(request.node.stash[CONTEXT_KEY], runtime.settings.hooks,
                         request.node.stash.get(OBSERVATION_KEY, None))
