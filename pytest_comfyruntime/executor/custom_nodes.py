"""Loading custom-node packages into a ComfyUI (mock or real) the way ComfyUI itself loads them.

ComfyUI's ``main.py`` first runs each package's ``prestartup_script.py``, then its ``nodes``
module's ``load_custom_node(module_path, ignore)`` imports each package (sync before 2025, a
coroutine since) under that era's ``sys.modules`` name, executes its ``__init__``, reads
``NODE_CLASS_MAPPINGS`` / ``NODE_DISPLAY_NAME_MAPPINGS`` / ``WEB_DIRECTORY`` and, where the era has
it, awaits ``comfy_entrypoint()``. A package that fails is logged (the traceback, then ``Cannot
import ... module for custom nodes: ...``) and listed as ``(IMPORT FAILED)``; ComfyUI carries on.
This module calls the loaded ComfyUI's own ``load_custom_node`` (the mock's mirrors each era's),
captures what it logs, and reports it the same way, so a package that cannot load is an error,
never a green run without the extension.
"""
from __future__ import annotations

import asyncio
import importlib.util
import inspect
import logging
import os
import sys
import time
import traceback
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType


@dataclass(frozen=True)
class PackageLoad:
    """One custom-node package (or single-file module) as ComfyUI's loader saw it.

    ``log`` is what ComfyUI logged while loading it (on failure: the traceback and its ``Cannot
    import ...`` line); ``modules`` are the ``sys.modules`` names the load created for the
    package's own files (not the libraries it imported); ``nodes`` the class_type names it
    registered.
    """

    path: Path
    ok: bool
    seconds: float
    log: str = ""
    modules: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()

    @property
    def line(self) -> str:
        """ComfyUI's "Import times for custom nodes" line for this package."""
        return f"{self.seconds:6.1f} seconds{'' if self.ok else ' (IMPORT FAILED)'}: {self.path}"


@dataclass(frozen=True)
class PrestartupRun:
    """One ``prestartup_script.py`` as ``main.py`` ran it."""

    path: Path
    ok: bool
    seconds: float
    error: str = ""

    @property
    def line(self) -> str:
        return f"{self.seconds:6.1f} seconds{'' if self.ok else ' (PRESTARTUP FAILED)'}: {self.path.parent}"


@dataclass
class CustomNodesLoad:
    """Everything one ComfyUI (one era of the mock, or a real root) loaded from the custom nodes."""

    label: str
    prestartup: list[PrestartupRun] = field(default_factory=list)
    packages: list[PackageLoad] = field(default_factory=list)

    @property
    def modules(self) -> list[str]:
        return [name for package in self.packages for name in package.modules]

    @property
    def failures(self) -> list[PackageLoad]:
        return [p for p in self.packages if not p.ok]

    def header_lines(self) -> list[str]:
        """The lines ComfyUI prints after loading, for the session header."""
        lines = [f"custom nodes ({self.label}):"]
        lines += [f"  prestartup {run.line}" for run in self.prestartup]
        lines += [f"  {package.line}" for package in sorted(self.packages, key=lambda p: p.seconds)]
        return lines

    def error(self) -> str | None:
        """One message naming every package that failed, with what ComfyUI logged; None if none."""
        failed = self.failures
        broken_prestartup = [run for run in self.prestartup if not run.ok]
        if not failed and not broken_prestartup:
            return None
        parts = [f"pytest-comfyruntime: custom nodes failed to load on {self.label}, as ComfyUI reports it:"]
        for run in broken_prestartup:
            parts.append(f"Failed to execute startup-script: {run.path} / {run.error}")
        for package in failed:
            parts.append(f"{package.line}\n{package.log.rstrip()}")
        parts.append("fix: make the package import on this ComfyUI (or mark the tests that need it with "
                     "@pytest.mark.comfyui(era=...)); the tests that use the fixtures error until it does")
        return "\n".join(parts)


def package_paths(entries: Iterable[Path]) -> list[Path]:
    """The module paths ComfyUI would load for ``entries`` (existing paths: the settings check them).

    An entry that is a package (it has ``__init__.py``) is loaded as one custom node, the way a
    repository cloned into ``custom_nodes/`` is; any other folder is a ``custom_nodes`` folder whose
    entries are listed as ComfyUI lists them (no ``__pycache__``, no ``*.disabled``, files only
    when they end in ``.py``), sorted by name.
    """
    paths: list[Path] = []
    for folder in entries:
        if (folder / "__init__.py").is_file() or folder.suffix == ".py":
            paths.append(folder)
            continue
        for child in sorted(os.listdir(os.path.realpath(folder))):
            path = folder / child
            if child == "__pycache__" or child.endswith(".disabled"):
                continue
            if path.is_file() and path.suffix != ".py":
                continue
            if path.is_dir() and not (path / "__init__.py").is_file():
                continue  # ComfyUI would try and fail; a plain folder beside packages is no custom node
            paths.append(path)
    return paths


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.lines.append(record.getMessage())


@contextmanager
def _logged() -> Iterator[_Records]:
    """Captures what ComfyUI logs (it logs to the root logger) while loading."""
    root = logging.getLogger()
    handler = _Records()
    old_level = root.level
    root.addHandler(handler)
    if root.level > logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def run_prestartup(paths: Sequence[Path]) -> list[PrestartupRun]:
    """``main.py``'s ``execute_prestartup_script``: each package folder's ``prestartup_script.py``,
    executed as a module named after its path (not put into ``sys.modules``)."""
    runs = []
    for package in paths:
        script = package / "prestartup_script.py"
        if not package.is_dir() or not script.is_file():
            continue
        began = time.perf_counter()
        try:
            spec = importlib.util.spec_from_file_location(os.path.splitext(str(script))[0], script)
            assert spec is not None and spec.loader is not None
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
            runs.append(PrestartupRun(script, True, time.perf_counter() - began))
        except Exception as exc:  # main.py logs it and carries on; so do we, and report it
            runs.append(PrestartupRun(script, False, time.perf_counter() - began, f"{type(exc).__name__}: {exc}"))
    return runs


def load_packages(nodes: ModuleType, paths: Sequence[Path]) -> list[PackageLoad]:
    """Calls the ComfyUI's own ``nodes.load_custom_node`` for each path, as
    ``init_external_custom_nodes`` / ``load_custom_nodes`` do (built-in names are not replaced)."""
    base_node_names = set(nodes.NODE_CLASS_MAPPINGS)
    loads = []
    for path in paths:
        before_modules = set(sys.modules)
        before_nodes = set(nodes.NODE_CLASS_MAPPINGS)
        began = time.perf_counter()
        with _logged() as log:
            try:
                result = nodes.load_custom_node(str(path), base_node_names)
                if inspect.iscoroutine(result):
                    result = asyncio.run(result)
            except Exception:  # not ComfyUI's behaviour (its loader catches everything): report it as its own
                log.lines.append(traceback.format_exc())
                result = False
        created = tuple(name for name in sys.modules if name not in before_modules and _inside(sys.modules[name], path))
        loads.append(PackageLoad(path, bool(result), time.perf_counter() - began, "\n".join(log.lines),
                                 created, tuple(n for n in nodes.NODE_CLASS_MAPPINGS if n not in before_nodes)))
    return loads


def alias_packages(load: CustomNodesLoad) -> list[str]:
    """Makes each loaded package importable under its folder name too, as the same module objects.

    ComfyUI of 2025 on names a package in ``sys.modules`` by its path; a test that does
    ``import my_ext`` would otherwise import a second copy whose ``__init__`` runs (and patches)
    again. Only a folder name that is an identifier and not taken is aliased; the names added are
    returned (they belong to the load, and leave with it).
    """
    added: list[str] = []
    for package in load.packages:
        alias = package.path.stem if package.path.is_file() else package.path.name
        key = next((name for name in package.modules
                    if getattr(sys.modules.get(name), "__file__", None) in
                    (str(package.path), str(package.path / "__init__.py"))), None)
        if not package.ok or key is None or key == alias or not alias.isidentifier() or alias in sys.modules:
            continue
        for name in package.modules:
            if name == key or name.startswith(key + "."):
                aliased = alias + name[len(key):]
                if aliased not in sys.modules:
                    sys.modules[aliased] = sys.modules[name]
                    added.append(aliased)
    return added


def _inside(module: ModuleType | None, path: Path) -> bool:
    """A module the package itself holds (the libraries it imported the first time are not its own)."""
    file = getattr(module, "__file__", None)
    if not isinstance(file, str):
        return False
    resolved = Path(file).resolve()
    if "site-packages" in resolved.parts or "dist-packages" in resolved.parts:
        return False  # a virtual environment inside the repository ('.') holds libraries, not the package
    if path.is_file():
        return resolved == path.resolve()
    return resolved.is_relative_to(path.resolve())


def load_custom_nodes(nodes: ModuleType, paths: Sequence[Path], *, label: str) -> CustomNodesLoad:
    """Prestartup scripts, then every package, into the ComfyUI whose ``nodes`` module is given."""
    load = CustomNodesLoad(label)
    load.prestartup = run_prestartup(paths)
    load.packages = load_packages(nodes, paths)
    return load


__all__ = ["CustomNodesLoad", "PackageLoad", "PrestartupRun", "alias_packages", "load_custom_nodes", "load_packages",
           "package_paths", "run_prestartup"]
