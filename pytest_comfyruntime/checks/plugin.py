"""pytest wiring of the runtime checks: the ``comfyruntime`` fixture and the conformance battery.

Loaded through its own ``pytest11`` entry point (``comfyruntime_checks``), next to the main
plugin, whose session runtime and per-test context (``RUNTIME_KEY``, ``CONTEXT_KEY``) it reads.

- ``comfyruntime`` fixture: ``assert_hooks_active()`` and ``assert_session_isolation(...)``
  bound to the test's executor. For tests that request it, the enabling of the extension's hooks
  (ini ``comfyruntime_hooks`` and ``pytest_comfyruntime_enable_hooks`` implementations) is watched,
  so a target the extension reaches for and ComfyUI lacks can be named.
- ini ``comfyruntime_conformance`` / ``--comfyruntime-conformance``: one test item per check of
  :data:`~pytest_comfyruntime.checks.conformance.CHECKS` per hook module (and per backend).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

from ..capture._targets import TARGETS
from ..executor.harness import ExecutorHarness, RecordingServer
from ..executor.hook_breaker import HookBreaker
from ..executor.registry import NodeRegistry
from ..plugin import CONTEXT_KEY, RUNTIME_KEY
from .conformance import CHECKS, CheckFailed, CheckSkipped, ConformanceTarget, Subject
from .hooks_active import PROBE_PROMPT, HooksActiveReport, check_hooks_active, module_of
from .isolation import IsolationReport, ReadCapture, run_isolation
from .lookups import LookupTracer, Observation, Watched
from .residue import Residue, Snapshot, find_residue, originals_of, restore, snapshot_comfyui

TARGETS_KEY = pytest.StashKey[list[ConformanceTarget]]()
OBSERVATION_KEY = pytest.StashKey[Observation]()
_TRACER_KEY = pytest.StashKey[LookupTracer]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("comfyruntime")
    group.addoption("--comfyruntime-conformance", dest="comfyruntime_conformance", action="append", default=None,
                    metavar="MODULE[:enable=..,disable=..,read=..]",
                    help="run the conformance battery on this hook module (repeatable; replaces the ini list)")
    parser.addini("comfyruntime_conformance", "Hook modules to run the conformance battery on, one per line "
                  "('my_ext.hooks' or 'my_ext.hooks:enable=start,disable=stop,read=get_session').",
                  type="linelist", default=[])


def parse_target(spec: str, *, source: str) -> ConformanceTarget:
    """``"my_ext.hooks[:key=value,...]"`` -> a :class:`ConformanceTarget`; a usage error naming
    ``source``, the entry, the key and the fix otherwise."""
    module, _, rest = spec.strip().partition(":")
    fields: dict[str, Any] = {"module": module.strip()}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq:
            raise pytest.UsageError(f"pytest-comfyruntime: {source}: {spec!r}: {part!r} is not key=value; fix: "
                                    "write 'my_ext.hooks:enable=start,disable=stop,read=get_session'")
        fields[key.strip()] = value.strip()
    if not fields["module"]:
        raise pytest.UsageError(f"pytest-comfyruntime: {source}: {spec!r} names no module; fix: 'my_ext.hooks'")
    try:
        return ConformanceTarget(**fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise pytest.UsageError(
            f"pytest-comfyruntime: {source}: {spec!r}: {'.'.join(map(str, err['loc']))}: {err['msg']}; fix: keys "
            "are enable, disable, read, auto (function names), threads, repeats (numbers), real_threads (true/false)"
        ) from None


def pytest_configure(config: pytest.Config) -> None:
    cli = config.getoption("comfyruntime_conformance")
    source = "--comfyruntime-conformance" if cli else (
        f"ini option comfyruntime_conformance in {config.inipath}" if config.inipath else "comfyruntime_conformance")
    config.stash[TARGETS_KEY] = [parse_target(s, source=source)
                                 for s in (cli or config.getini("comfyruntime_conformance")) if s.strip()]
    config.pluginmanager.register(_Watcher(config), "comfyruntime-checks-watcher")


def pytest_report_header(config: pytest.Config) -> str | None:
    targets = config.stash.get(TARGETS_KEY, [])
    if not targets:
        return None
    return "comfyruntime: conformance battery on " + ", ".join(t.module for t in targets)


# -- the conformance items ---------------------------------------------------------------------
class ComfyBench:
    """A clean ComfyUI for one check: the backend's modules, the CR nodes, a snapshot to diff."""

    def __init__(self, backend: Any, tmp_dir: Path) -> None:
        from ..nodes import TEST_NODE_CLASS_MAPPINGS, TEST_NODE_DISPLAY_NAME_MAPPINGS

        self.backend = backend
        self._undo = backend.activate()
        try:
            self.execution, self.nodes, self.server = backend.load()
            self.snapshot = snapshot_comfyui(backend.watched(), self.nodes, display_names=False)
            self.hook_breaker = HookBreaker.save(backend.era.key, originals_of(self.snapshot))
            backend.point_folders(tmp_dir)
            self.registry = NodeRegistry(self.nodes)
            self.registry.add_all(dict(TEST_NODE_CLASS_MAPPINGS), dict(TEST_NODE_DISPLAY_NAME_MAPPINGS))
        except BaseException:
            self._undo()
            raise

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
        try:
            self.registry.undo()
            restore(self.snapshot)
        finally:
            self._undo()



def run_check(name: str, target: ConformanceTarget, backend: Any, tmp_dir: Path) -> None:
    """Runs one check on a fresh :class:`ComfyBench`; raises ``CheckFailed`` naming the principle."""
    principle, check = CHECKS[name]
    bench = ComfyBench(backend, tmp_dir)  # first: what the module patches on import is undone too
    subject = None
    try:
        subject = Subject.load(target)
        check(subject, bench)
    except CheckFailed as exc:
        raise CheckFailed(f"{target.module} breaks the principle \"{principle}\" ({bench.label}):\n{exc}") from None
    finally:
        if subject is not None:
            subject.quiet_disable(bench.execution)
        bench.close()


class ConformanceItem(pytest.Item):
    """One check of the battery on one hook module and backend."""

    def __init__(self, *, check: str, target: ConformanceTarget, backend: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check, self.target, self.backend = check, target, backend

    def runtest(self) -> None:
        runtime = self.config.stash[RUNTIME_KEY]
        tmp = Path(tempfile.mkdtemp(prefix="comfyruntime-conformance-"))
        try:
            run_check(self.check, self.target, runtime.backends[self.backend], tmp)
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
    """Registered per session: line-traces the extension's code while the fixtures enable its
    hooks, for tests that request ``comfyruntime`` (the observation goes to the item's stash)."""

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
        if item is None or "comfyruntime" not in getattr(item, "fixturenames", ()) or _TRACER_KEY in item.stash:
            return
        points = self._entry_points()
        tracer = LookupTracer(Watched(), tops={module_of(p).split(".")[0] for p in points}, entry_points=points)
        item.stash[_TRACER_KEY] = tracer
        tracer.start()

    @pytest.hookimpl(trylast=True)
    def pytest_comfyruntime_enable_hooks(self, execution: ModuleType) -> None:
        """Runs after the ini hooks and every other implementation: stop watching."""
        self._stop()

    def _stop(self) -> None:
        item = self.item
        tracer = item.stash.get(_TRACER_KEY, None) if item is not None else None
        if item is not None and tracer is not None:
            del item.stash[_TRACER_KEY]
            item.stash[OBSERVATION_KEY] = tracer.stop()

    def _entry_points(self) -> list[str]:
        points = [s.replace(" ", "") for s in self.config.stash[RUNTIME_KEY].settings.hooks]
        for impl in self.config.pluginmanager.hook.pytest_comfyruntime_enable_hooks.get_hookimpls():
            fn = impl.function
            if getattr(fn, "__self__", None) is not self:
                points.append(f"{fn.__module__}:{fn.__name__}")
        return points


# -- the fixture -------------------------------------------------------------------------------
class RuntimeChecks:
    """The assertions bound to the current test's executor (the ``comfyruntime`` fixture)."""

    def __init__(self, ctx: Any, hook_specs: Sequence[str], observation: Observation | None) -> None:
        self._ctx = ctx
        self._hook_modules = [module_of(s) for s in hook_specs]
        self._observation = observation

    def _harness(self, own_server: bool) -> Any:
        if not own_server:
            return self._ctx.harness()
        ctx = self._ctx
        return ExecutorHarness(ctx.execution, RecordingServer(), backend=ctx.backend, era=ctx.era.key,
                               comfyui_version=ctx.comfyui_version)

    def assert_hooks_active(self, prompt: Mapping[str, Any] | None = None, *,
                            hook_modules: Sequence[str] = ()) -> HooksActiveReport:
        """Fails when enabling returned False, patched nothing, or no wrapper ran during ``prompt``
        (default: a five-node CR prompt), naming the targets the extension tried to hook that this
        executor does not have (``hook_modules`` are read when the enabling was not watched)."""
        ctx = self._ctx
        report = check_hooks_active(
            ctx.snapshot, lambda: ctx.harness().run(prompt or PROBE_PROMPT, prompt_id="comfyruntime-hooks-active"),
            backend=ctx.backend, era=ctx.era.key, observation=self._observation,
            hook_modules=[*self._hook_modules, *hook_modules],
            broken=ctx.hook_breaker.broken if ctx.hook_breaker is not None else ())
        if not report.ok:
            pytest.fail(report.message(), pytrace=False)
        return report

    def assert_session_isolation(self, read_capture: ReadCapture | None, *,
                                 prompts: Sequence[Mapping[str, Any]] | None = None,
                                 threads: int | None = None, repeats: int = 4) -> IsolationReport:
        """Runs canary prompts (a) one after another, (b) interleaved, (c) in ``threads`` threads
        on their own executors (default 4 on the mock; on real ComfyUI only when ``threads`` is
        given) and fails when ``read_capture(prompt_id)`` shows another prompt's data or misses
        its own."""
        ctx = self._ctx
        skipped: dict[str, str] = {}
        if threads is None:
            threads = 4 if ctx.backend == "mock" else 0
            if not threads:
                skipped["c"] = "real ComfyUI runs one prompt at a time per process; pass threads=N to run it anyway"
        report = run_isolation(self._harness, read_capture, ctx.nodes.NODE_CLASS_MAPPINGS, prompts=prompts,
                               threads=threads, repeats=repeats, skip_reasons=skipped)
        if not report.ok:
            pytest.fail(report.message(), pytrace=False)
        return report


@pytest.fixture
def comfyruntime(comfy_execution_module: ModuleType, request: pytest.FixtureRequest) -> RuntimeChecks:
    """Assertions on the extension's hooks, bound to this test's executor."""
    runtime = request.config.stash[RUNTIME_KEY]
    return RuntimeChecks(request.node.stash[CONTEXT_KEY], runtime.settings.hooks,
                         request.node.stash.get(OBSERVATION_KEY, None))
