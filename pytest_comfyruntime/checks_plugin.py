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
  :data:`~pytest_comfyruntime.checks.conformance.CHECKS` per hook module (and per backend), under a
  real collector, :class:`ConformanceBattery`, for the configuration file
  (``pyproject.toml::my_ext.hooks::idempotent[mock-A]``): collected when the whole suite runs (no
  file or node arguments, or a directory argument that holds the file) or when the file or one of
  its ids is named on the command line, so ``-k``, ``-m``, ``--deselect`` and ``--co`` see it as
  any other file's tests.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .checks.assertions import RuntimeChecks
from .checks.conformance import CHECKS, CheckFailed, CheckSkipped, ConformanceTarget, run_check
from .checks.lookups import Observation
from .checks.target import TargetError, check_findable, parse_target
from .checks.watch import EnableWatch, entry_points
from .runtime import CONTEXT_KEY, RUNTIME_KEY

TARGETS_KEY = pytest.StashKey[list[ConformanceTarget]]()
OBSERVATION_KEY = pytest.StashKey[Observation]()
_WATCH_KEY = pytest.StashKey[EnableWatch]()
_FILE_KEY = pytest.StashKey[Path]()
#: The marker every battery item carries: ``-m comfyruntime_conformance``, ``-k "not conformance"``.
MARKER = "comfyruntime_conformance"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("comfyruntime")
    group.addoption("--comfyruntime-conformance", dest="comfyruntime_conformance", action="append", default=None,
                    metavar="MODULE[:enable=..,disable=..,read=..]",
                    help="run the conformance battery on this hook module (repeatable; replaces the ini list; "
                         "an empty value, --comfyruntime-conformance=, switches the ini list off)")
    parser.addini("comfyruntime_conformance", "Hook modules to run the conformance battery on, one per line "
                  "('my_ext.hooks' or 'my_ext.hooks:enable=start,disable=stop,read=get_session').",
                  type="linelist", default=[])


def pytest_configure(config: pytest.Config) -> None:
    cli = config.getoption("comfyruntime_conformance")
    source = "--comfyruntime-conformance" if cli else (
        f"ini option comfyruntime_conformance in {config.inipath}" if config.inipath else "comfyruntime_conformance")
    try:
        config.stash[TARGETS_KEY] = [parse_target(s, source=source, checks=CHECKS)
                                     for s in (cli or config.getini("comfyruntime_conformance")) if s.strip()]
        check_findable(config.stash[TARGETS_KEY], source=source)
    except TargetError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_FILE_KEY] = battery_file(config)
    config.addinivalue_line("markers", f"{MARKER}: an item of the conformance battery (comfyruntime_conformance); "
                            f"-m {MARKER} runs only the battery, -m 'not {MARKER}' leaves it out")
    config.pluginmanager.register(_Watcher(config), "comfyruntime-checks-watcher")


def pytest_report_header(config: pytest.Config) -> str | None:
    targets = config.stash.get(TARGETS_KEY, [])
    if not targets:
        return None
    return "comfyruntime: conformance battery on " + ", ".join(t.module for t in targets)


# -- the conformance items ---------------------------------------------------------------------
#: The files the battery is collected for when pytest has no configuration file (``config.inipath``).
_BATTERY_FILES = ("pyproject.toml", "pytest.ini", ".pytest.ini", "tox.ini", "setup.cfg", "conftest.py")


def battery_file(config: pytest.Config) -> Path:
    """The file the battery hangs under: the configuration file pytest read (where
    ``comfyruntime_conformance`` is set), else the first of :data:`_BATTERY_FILES` in the rootdir.
    Its path relative to the rootdir starts every battery id: ``pyproject.toml::my_ext.hooks::idempotent``."""
    root, ini = config.rootpath, config.inipath
    if ini is not None and ini.is_relative_to(root):
        return ini
    return next((root / name for name in _BATTERY_FILES if (root / name).is_file()), root / _BATTERY_FILES[0])


class ConformanceBattery(pytest.File):
    """The battery: one :class:`ConformanceModule` per hook module of ``comfyruntime_conformance``."""

    def collect(self) -> Iterator[pytest.Collector]:
        for target in self.config.stash.get(TARGETS_KEY, []):
            yield ConformanceModule.from_parent(self, name=target.module, target=target)


class ConformanceModule(pytest.Collector):
    """The battery on one hook module: one item per check (and per backend, ``check[mock-A]``)."""

    def __init__(self, *, target: ConformanceTarget, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target

    def collect(self) -> Iterator[pytest.Item]:
        backends = self.config.stash[RUNTIME_KEY].backend_names
        for check in CHECKS:
            for backend in backends:
                yield ConformanceItem.from_parent(self, name=check + (f"[{backend}]" if len(backends) > 1 else ""),
                                                  check=check, target=self.target, backend=backend)


class ConformanceItem(pytest.Item):
    """One check of the battery on one hook module and backend."""

    def __init__(self, *, check: str, target: ConformanceTarget, backend: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check, self.target, self.backend = check, target, backend

    def runtest(self) -> None:
        reason = self.target.not_applicable_reason(self.check)
        if reason is not None:
            pytest.skip(f"{self.check} does not apply to {self.target.module} (its conformance entry says: {reason})")
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


def _battery_on(config: pytest.Config) -> bool:
    return bool(config.stash.get(TARGETS_KEY, [])) and config.stash.get(RUNTIME_KEY, None) is not None


def _make_battery(parent: pytest.Collector, path: Path) -> ConformanceBattery:
    battery = ConformanceBattery.from_parent(parent, path=path)
    battery.add_marker(MARKER)
    return battery


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ConformanceBattery | None:
    """The battery when its file is named on the command line (``pytest pyproject.toml``,
    ``pytest "pyproject.toml::my_ext.hooks::idempotent"``); a directory walk passes it by (see
    :func:`pytest_make_collect_report`)."""
    config = parent.config
    if not _battery_on(config) or file_path != config.stash[_FILE_KEY] or not parent.session.isinitpath(file_path):
        return None
    return _make_battery(parent, file_path)


def _runs_whole_suite(session: pytest.Session, path: Path) -> bool:
    """Whether this run is the whole suite: no file or node arguments (``testpaths`` or the current
    directory), or a directory argument that holds the battery's file (``pytest .``); and the file
    is not named itself (then :func:`pytest_collect_file` collects it)."""
    config = session.config
    if session.isinitpath(path):
        return False
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        return True
    if config.option.pyargs:
        return False
    here = config.invocation_params.dir
    for arg in map(str, config.args):  # pytest < 9 may hold Paths there
        if "::" in arg:
            continue
        where = Path(os.path.abspath(here / arg))
        if where.is_dir() and path.is_relative_to(where):
            return True
    return False


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Adds the battery, after everything else, to what the session collects when the whole suite runs."""
    report = yield
    if isinstance(collector, pytest.Session) and report.passed and _battery_on(collector.config):
        path = collector.config.stash[_FILE_KEY]
        if _runs_whole_suite(collector, path):
            report.result.append(_make_battery(collector, path))
    return report


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
    from .overhead_plugin import CHECKS_KEY, INCONCLUSIVE_KEY

    runtime = request.config.stash[RUNTIME_KEY]

    def hardware() -> tuple[str, str]:
        target = request.getfixturevalue("comfy_hw")
        return str(target.device), str(target.dtype)

    checks = RuntimeChecks(request.node.stash[CONTEXT_KEY], runtime.settings.hooks,
                           request.node.stash.get(OBSERVATION_KEY, None),
                           inconclusive=request.config.stash.get(INCONCLUSIVE_KEY, "skip"), hardware=hardware)
    request.node.stash[CHECKS_KEY] = checks
    return checks
