"""pytest wiring: options, ini, hookspecs, fixtures and the residue check. The work is elsewhere."""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Generator
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import pytest

from . import hookspecs
from .config import ConfigError, Settings, resolve_settings
from .executor.backends import RealBackend
from .executor.eras import ERAS
from .executor.harness import ExecutorHarness
from .executor.real import ComfyUIRootError
from .executor.registry import NodeRegistry
from .markers import ComfyUIRequirement
from .runtime import CONTEXT_KEY, RUNTIME_KEY, ComfyRuntime, CustomNodesError, HookCalls, HookError, TestContext

_IniType = Literal["string", "linelist", "paths"]  # the ``type=`` values of ``Parser.addini`` used here

_INI: tuple[tuple[str, _IniType, str, Any], ...] = (
    ("comfyruntime_executor", "string", "Backend: mock, real or both (default mock).", None),
    ("comfyruntime_era", "string", "Era(s) of the mock ComfyUI: one of A, B, C, D (default), a comma-separated list, or all.", None),
    ("comfyruntime_comfyui_root", "string", "Path to a ComfyUI checkout (the real backend).", None),
    ("comfyruntime_hooks", "linelist", "'module:function' called with the execution module to enable hooks.", []),
    ("comfyruntime_unhooks", "linelist", "'module:function' called with the execution module to disable them.", []),
    ("comfyruntime_workflows", "paths", "Folders searched by comfy_workflow before the bundled ones.", []),
    ("comfyruntime_custom_nodes", "linelist",
     "Custom-node packages ('.' for the extension repository itself) or folders of them, relative to the "
     "ini file: loaded into every ComfyUI the session runs, as ComfyUI loads its custom_nodes folder.", []),
    ("comfyruntime_session_standins", "string",
     "Install the mock ComfyUI modules for the whole session (true) or per test (false).", None),
)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("comfyruntime", "ComfyUI runtime harness (pytest-comfyruntime)")
    group.addoption("--comfyruntime-executor", dest="comfyruntime_executor", default=None,
                    choices=("mock", "real", "both"), help="backend for the executor fixtures (default: mock)")
    group.addoption("--comfyruntime-era", dest="comfyruntime_era", default=None,
                    help="ComfyUI era(s) of the mock: A (2024-recursive), B (2024-sync), C (2025-async), D-11 (2026-v0.33: the 11-parameter execute), D (2026, the default), a comma-separated list, or all (each test runs once per era)")
    group.addoption("--comfyui-root", dest="comfyui_root", default=None, metavar="PATH",
                    help="path to a ComfyUI checkout for the real backend (env COMFYUI_ROOT); write it as "
                    "--comfyui-root=PATH")
    group.addoption("--comfyruntime-custom-nodes", dest="comfyruntime_custom_nodes", action="append", default=None,
                    metavar="PATH", help="a custom-node package or a folder of them to load as ComfyUI does "
                    "(repeatable; replaces the ini list)")
    for name, kind, help_text, default in _INI:
        parser.addini(name, help_text, type=kind, default=default)


def _ini_value(config: pytest.Config, name: str) -> Any:
    value = config.getini(name)
    if name == "comfyruntime_session_standins" and isinstance(value, str) and value:
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
    return value


def _two_word_root(args: list[str]) -> str | None:
    """The PATH of a ``--comfyui-root PATH`` written as two words, if any."""
    for option, value in zip(args, args[1:]):
        if option == "--":
            return None
        if option == "--comfyui-root":
            return value
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Stops a session whose configuration pytest chose with the root's path taken for a test path."""
    root = _two_word_root(list(early_config.invocation_params.args))
    if root is None:
        return
    chose = f"rootdir {early_config.rootpath}" + (f", configfile {early_config.inipath}" if early_config.inipath else "")
    raise pytest.UsageError(
        f"pytest-comfyruntime: --comfyui-root {root} was written as two words. pytest chooses its rootdir and "
        "configuration file before any plugin's options exist, so it took the path for a test path and chose "
        f"{chose} (a ComfyUI checkout ships its own pytest.ini): this session would not run with your "
        f"configuration. fix: write --comfyui-root={root} (one word), or set COMFYUI_ROOT={root}")


def pytest_configure(config: pytest.Config) -> None:
    inifile = str(config.inipath) if config.inipath else None
    try:
        settings = resolve_settings(
            cli={"executor": config.getoption("comfyruntime_executor"), "era": config.getoption("comfyruntime_era"),
                 "comfyui_root": config.getoption("comfyui_root"),
                 "custom_nodes": config.getoption("comfyruntime_custom_nodes")},
            ini={"executor": _ini_value(config, "comfyruntime_executor"), "era": _ini_value(config, "comfyruntime_era"),
                 "comfyui_root": _ini_value(config, "comfyruntime_comfyui_root"),
                 "hooks": _ini_value(config, "comfyruntime_hooks"), "unhooks": _ini_value(config, "comfyruntime_unhooks"),
                 "workflows": [str(p) for p in _ini_value(config, "comfyruntime_workflows")],
                 "custom_nodes": _ini_value(config, "comfyruntime_custom_nodes"),
                 "session_standins": _ini_value(config, "comfyruntime_session_standins")},
            inifile=inifile)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    base = Path(tempfile.mkdtemp(prefix="comfyruntime-"))
    config.add_cleanup(lambda: shutil.rmtree(base, ignore_errors=True))
    hook = config.hook
    runtime = ComfyRuntime(settings, base_dir=base, inifile=inifile, hooks=HookCalls(
        register_nodes=hook.pytest_comfyruntime_register_nodes, enable=hook.pytest_comfyruntime_enable_hooks,
        disable=hook.pytest_comfyruntime_disable_hooks))
    config.add_cleanup(runtime.stop)
    try:
        runtime.start()
    except (ConfigError, ComfyUIRootError) as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[RUNTIME_KEY] = runtime
    config.addinivalue_line("markers", "comfyui(min_version=None, era=None): run only on a ComfyUI of at "
                            "least min_version and/or of the given era(s) (A, B, C, D); skip elsewhere, saying why")


def pytest_report_header(config: pytest.Config) -> str | None:
    runtime = config.stash.get(RUNTIME_KEY, None)
    if runtime is None:
        return None
    s: Settings = runtime.settings
    hooks = ", ".join(s.hooks) or "none"
    eras = ", ".join(ERAS[e].label for e in s.eras)
    line = (f"comfyruntime: executor={s.executor} era={eras} "
            f"standins={'session' if s.session_standins else 'per-test'} hooks={hooks}")
    real = next((b for b in runtime.backends.values() if b.name == "real"), None)
    if isinstance(real, RealBackend):  # the backend named "real" is always one
        line += f"\ncomfyruntime: real ComfyUI {real.version or '(no version file)'} era {real.era.label} at {real.real.info.root}"
    for loaded in runtime.loaded.values():
        line += "\ncomfyruntime: " + "\n  ".join(loaded.load.header_lines())
        line += "".join(f"\n  {broken}" for broken in loaded.broken)
    return line


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    runtime = metafunc.config.stash.get(RUNTIME_KEY, None)
    if runtime is None or "comfy_execution_module" not in metafunc.fixturenames:
        return
    names = runtime.backend_names
    if len(names) > 1:
        metafunc.parametrize("_comfy_backend", names, indirect=True, ids=names)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    errors = []
    for item in items:
        for mark in item.iter_markers("comfyui"):
            try:
                ComfyUIRequirement.from_marker(mark.args, mark.kwargs)
            except ValueError as exc:
                errors.append(f"{item.nodeid}: @pytest.mark.comfyui: {exc}")
    if errors:
        raise pytest.UsageError("\n".join(errors))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Undoes what the custom nodes did at import, so the summary can say what stayed."""
    runtime = session.config.stash.get(RUNTIME_KEY, None)
    if runtime is not None and runtime.loaded:
        runtime.unload()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    runtime = config.stash.get(RUNTIME_KEY, None)
    if runtime is None or not runtime.unload_residue:
        return
    terminalreporter.section("comfyruntime: left behind by the custom nodes", sep="-", yellow=True)
    for name, found in runtime.unload_residue.items():
        terminalreporter.write_line(f"{name}: unloading the custom nodes could not undo:")
        for residue in found:
            terminalreporter.write_line(f"  - [{residue.kind}] {residue}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    found = []
    try:
        yield
    finally:
        ctx = item.stash.get(CONTEXT_KEY, None)
        if ctx is not None:
            del item.stash[CONTEXT_KEY]
            found = ctx.check()
    if found:
        from .checks.residue import format_residue
        pytest.fail(format_residue(found, test=item.nodeid), pytrace=False)


def _runtime(request: pytest.FixtureRequest) -> ComfyRuntime:
    return request.config.stash[RUNTIME_KEY]


@pytest.fixture
def _comfy_backend(request: pytest.FixtureRequest) -> str:
    """``mock`` or ``real`` (parametrised with ``--comfyruntime-executor=both``)."""
    return getattr(request, "param", None) or _runtime(request).backend_names[0]


@pytest.fixture
def comfy_execution_module(request: pytest.FixtureRequest, tmp_path: Path,
                           _comfy_backend: str) -> Generator[ModuleType, None, None]:
    """The ``execution`` module in use, with the extension's hooks enabled for this test."""
    from .nodes import TEST_NODE_CLASS_MAPPINGS, TEST_NODE_DISPLAY_NAME_MAPPINGS

    runtime = _runtime(request)
    backend = runtime.backends[_comfy_backend]
    for mark in request.node.iter_markers("comfyui"):
        reason = ComfyUIRequirement.from_marker(mark.args, mark.kwargs).unmet(backend.era.key, backend.version)
        if reason:
            pytest.skip(f"{reason} ({backend.name} backend)")
    failure = None
    try:
        ctx = runtime.open_test(tmp_path / "comfyui", dict(TEST_NODE_CLASS_MAPPINGS),
                                dict(TEST_NODE_DISPLAY_NAME_MAPPINGS), backend=_comfy_backend)
    except (ConfigError, CustomNodesError, HookError) as exc:
        failure = str(exc)  # failed outside the handler: one message, not the exception twice
    if failure is not None:
        pytest.fail(failure, pytrace=False)
    request.node.stash[CONTEXT_KEY] = ctx
    if request.module is not None:
        runtime.rebind(request.module.__dict__, ctx.undo)
    yield ctx.execution
    try:
        ctx.close()
    except HookError as exc:  # an unhook raised
        failure = str(exc)
    if failure is not None:
        pytest.fail(failure, pytrace=False)


@pytest.fixture
def comfy_executor(comfy_execution_module: ModuleType, request: pytest.FixtureRequest) -> ExecutorHarness:
    """An :class:`ExecutorHarness` around a fresh ``PromptExecutor`` of the module in use."""
    ctx: TestContext = request.node.stash[CONTEXT_KEY]
    return ctx.harness()


@pytest.fixture
def comfy_nodes(comfy_execution_module: ModuleType,
                request: pytest.FixtureRequest) -> Generator[NodeRegistry, None, None]:
    """Registers node classes for this test only: ``comfy_nodes.add("MyNode", MyNode)``."""
    registry = NodeRegistry(request.node.stash[CONTEXT_KEY].nodes)
    yield registry
    registry.undo()


@pytest.fixture
def comfy_workflow(comfy_execution_module: ModuleType, request: pytest.FixtureRequest) -> Callable[[str], dict[str, Any]]:
    """``comfy_workflow("txt2img")``: loads and validates an API-format workflow."""
    from .workflows import load_workflow

    runtime = _runtime(request)
    nodes = request.node.stash[CONTEXT_KEY].nodes

    def load(name: str) -> dict[str, Any]:
        return load_workflow(name, search_dirs=runtime.settings.workflows, node_classes=nodes.NODE_CLASS_MAPPINGS)

    return load
