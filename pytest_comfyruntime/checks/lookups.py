"""What extension code reached for on ComfyUI's modules and classes while it enabled its hooks.

:class:`LookupTracer` is a line tracer on extension frames that resolves, with the frame's own
variables, ``getattr(x, "name")`` / ``hasattr`` / ``setattr`` and ``x.name`` where ``x`` is a
ComfyUI module or class; where the enabling could not be watched (done at import, or in another
fixture), :func:`static_lookups` reads the same sites from the hook module's source. Both yield
:class:`Lookup` records, and a :class:`Lookup` of a name the owner lacks is a target this executor
does not have.
"""
from __future__ import annotations

import ast
import builtins
import importlib
import os
import site as site_module
import sys
import sysconfig
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any, Final, Literal

from pydantic import BaseModel, Field

from ..executor.standin import is_managed

_ACCESSORS: Final = frozenset({"getattr", "hasattr", "setattr", "delattr"})
_ENABLE_NAMES: Final = frozenset({"enable", "enable_hooks", "install", "install_hooks", "auto_enable",
                                  "auto_enable_from_env", "register_hooks", "patch", "hook"})
_LIBRARIES: Final = frozenset({"_pytest", "pytest", "pluggy", "pydantic", "pydantic_core", "typing_extensions",
                               "coverage", "xdist", "execnet", "hypothesis", "importlib", "_frozen_importlib",
                               "_frozen_importlib_external", "pytest_cov"})


class Lookup(BaseModel):
    """One place where extension code reached for an attribute of a ComfyUI module or class."""

    file: str
    line: int
    source: str
    kind: str = Field(description="getattr / hasattr / setattr / delattr / attribute / assignment")
    owner: str = Field(description="the ComfyUI object, e.g. execution.PromptExecutor")
    name: str
    exists: bool
    observed: bool = Field(description="seen while it ran (False: read from the source)")

    def __str__(self) -> str:
        how = "" if self.observed else " (read from the source)"
        return (f"{Path(self.file).name}:{self.line}: {self.source.strip()} -> {self.owner} has no "
                f"attribute {self.name!r}{how}")


class EnableCall(BaseModel):
    """A return from an enable-like function: an entry point (what the plugin calls) or one of the
    functions those call."""

    function: str
    returned: str
    returned_false: bool
    entry: bool = True


class Observation(BaseModel):
    """What the extension did while it enabled its hooks."""

    watched: bool = Field(description="extension code ran under the tracer")
    lookups: list[Lookup] = Field(default_factory=list)
    enable_calls: list[EnableCall] = Field(default_factory=list)

    @property
    def missing(self) -> list[Lookup]:
        """Lookups of names the owner lacks, the first place per (owner, name)."""
        first: dict[tuple[str, str], Lookup] = {}
        for lookup in self.lookups:
            if not lookup.exists:
                first.setdefault((lookup.owner, lookup.name), lookup)
        return list(first.values())


# -- which code is the extension's -------------------------------------------------------------
#: What a file of running code is: this plugin's own (its mock ComfyUI included), the standard
#: library, an installed third-party package, synthetic (``<string>``), or anything else (an
#: extension in a checkout, a test, a real ComfyUI root).
Origin = Literal["plugin", "stdlib", "library", "synthetic", "code"]
_PACKAGE_DIRS: Final = ("site-packages", "dist-packages")


def _norm(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


@dataclass(frozen=True)
class Layout:
    """Where this interpreter keeps the standard library and installed packages, and where this
    plugin lives; :meth:`origin` classifies a code object's file by it.

    In a virtual environment sysconfig's ``platstdlib`` is the environment's ``lib/pythonX.Y``,
    the folder that holds its ``site-packages``, and on a system install ``stdlib`` holds
    ``site-packages`` too: so installed packages are looked for first, and this plugin's own
    folder (a wheel puts it in ``site-packages``) before them.
    """

    stdlib: tuple[str, ...]
    site_packages: tuple[str, ...]
    plugin: tuple[str, ...]

    @classmethod
    def current(cls) -> Layout:
        base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix, "installed_base": sys.base_prefix,
                "installed_platbase": sys.base_exec_prefix}
        schemes = [sysconfig.get_paths(), sysconfig.get_paths(vars=base)]
        stdlib = {p for paths in schemes for key in ("stdlib", "platstdlib") if (p := paths.get(key))}
        packages = {p for paths in schemes for key in ("purelib", "platlib") if (p := paths.get(key))}
        try:
            packages.update(site_module.getsitepackages())
        except AttributeError:  # an old virtualenv's site module has none
            pass
        if site_module.ENABLE_USER_SITE and (user := site_module.getusersitepackages()):
            packages.add(user)
        packages.update(p for p in sys.path if p and os.path.basename(p.rstrip(os.sep)) in _PACKAGE_DIRS)
        return cls.of(stdlib=stdlib, site_packages=packages, plugin=os.path.dirname(os.path.dirname(__file__)))

    @classmethod
    def of(cls, *, stdlib: Iterable[str], site_packages: Iterable[str], plugin: str) -> Layout:
        """A layout of the given folders (each also as its real path, symbolic links resolved);
        ``plugin`` is the folder of the ``pytest_comfyruntime`` package."""
        def both(paths: Iterable[str]) -> tuple[str, ...]:
            return tuple(sorted({_norm(q) for p in paths for q in (p, os.path.realpath(p))}))
        return cls(both(stdlib), both(site_packages), both([plugin]))

    def origin(self, filename: str) -> Origin:
        if filename.startswith("<"):
            return "stdlib" if filename.startswith("<frozen ") else "synthetic"
        path = _norm(filename)
        if _under(path, self.plugin):
            return "plugin"
        parts = set(path.split(os.sep))
        if _under(path, self.site_packages) or not parts.isdisjoint(_PACKAGE_DIRS):
            return "library"
        return "stdlib" if _under(path, self.stdlib) else "code"


LAYOUT: Final = Layout.current()


@lru_cache(maxsize=4096)
def origin_of(filename: str) -> Origin:
    """:meth:`Layout.origin` of ``filename`` on this interpreter (cached: tracers ask per frame)."""
    return LAYOUT.origin(filename)


def is_library_module(name: str) -> bool:
    if name.startswith("pytest_comfyruntime.capture"):
        return False
    top = name.split(".", 1)[0]
    return top == "pytest_comfyruntime" or top in _LIBRARIES or is_managed(name)


def is_extension_frame(frame: FrameType, tops: frozenset[str] = frozenset()) -> bool:
    """Extension code: not pytest, pluggy, this plugin, ComfyUI, the standard library or an
    installed package (unless its top-level package is one of ``tops``). The reference capture
    (``pytest_comfyruntime.capture``) runs as extension code wherever the plugin is installed."""
    name = frame.f_globals.get("__name__") or ""
    if name.startswith("pytest_comfyruntime.capture"):
        return True
    if is_library_module(name):
        return False
    if name.split(".", 1)[0] in tops:
        return True
    return origin_of(frame.f_code.co_filename) == "code"


# -- reading the source ------------------------------------------------------------------------
@dataclass(frozen=True)
class _Site:
    kind: str
    obj: tuple[str, ...]
    name: str | None
    name_var: tuple[str, ...] | None
    source: str


def _dotted(node: ast.AST) -> tuple[str, ...] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return (node.id, *reversed(parts))
    return None


@lru_cache(maxsize=256)
def _sites(filename: str, mtime: float) -> dict[int, tuple[_Site, ...]]:
    try:
        text = Path(filename).read_text(encoding="utf-8")
        tree = ast.parse(text, filename)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    lines = text.splitlines()
    found: dict[int, list[_Site]] = {}
    for node in ast.walk(tree):
        lineno: int = getattr(node, "lineno", 0)  # only expression and statement nodes carry one
        source = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _ACCESSORS
                and len(node.args) >= 2):
            obj, arg = _dotted(node.args[0]), node.args[1]
            const = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
            if obj is not None and (const is not None or _dotted(arg) is not None):
                found.setdefault(node.lineno, []).append(
                    _Site(node.func.id, obj, const, None if const is not None else _dotted(arg), source))
        elif isinstance(node, ast.Attribute) and (obj := _dotted(node.value)) is not None:
            kind = "assignment" if isinstance(node.ctx, ast.Store) else "attribute"
            found.setdefault(node.lineno, []).append(_Site(kind, obj, node.attr, None, source))
    return {k: tuple(v) for k, v in found.items()}


def sites_of(filename: str) -> dict[int, tuple[_Site, ...]]:
    try:
        mtime = Path(filename).stat().st_mtime
    except OSError:
        return {}
    return _sites(filename, mtime)


# -- resolving what a site points at -----------------------------------------------------------
class Watched:
    """ComfyUI's modules (``execution``, ``nodes``, ``comfy.*``, ``comfy_execution.*``, ...) and the
    classes they define, named as ``execution`` / ``execution.PromptExecutor``. An object is
    matched by its name, so the mock's module held by an extension counts on real ComfyUI too,
    and ``get`` answers with the object in ``sys.modules`` now."""

    def name_of(self, obj: Any) -> str | None:
        if isinstance(obj, ModuleType):
            return obj.__name__ if is_managed(obj.__name__) else None
        if isinstance(obj, type) and is_managed(obj.__module__ or ""):
            return f"{obj.__module__}.{obj.__qualname__}"
        return None

    def get(self, name: str) -> Any:
        if name in sys.modules:
            return sys.modules[name]
        module_name, _, qualname = name.rpartition(".")
        while module_name and module_name not in sys.modules:
            module_name, _, head = module_name.rpartition(".")
            qualname = f"{head}.{qualname}"
        obj: Any = sys.modules.get(module_name)
        for part in qualname.split("."):
            obj = _step(obj, part) if obj is not None else None
        return obj


def _has(obj: Any, name: str) -> bool:
    if isinstance(obj, type):
        return any(name in vars(k) for k in obj.__mro__)
    return name in vars(obj)


def _step(obj: Any, part: str) -> Any:
    if isinstance(obj, ModuleType):
        return vars(obj).get(part)
    if isinstance(obj, type):
        return next((vars(k)[part] for k in obj.__mro__ if part in vars(k)), None)
    return None


def _resolve(parts: tuple[str, ...], scopes: Iterable[Mapping[str, Any]]) -> Any:
    obj = None
    for scope in scopes:
        if parts[0] in scope:
            obj = scope[parts[0]]
            break
    for part in parts[1:]:
        if obj is None:
            return None
        obj = _step(obj, part)
    return obj


def _lookup(site: _Site, filename: str, line: int, owner: Any, name: Any, watched: Watched,
            observed: bool) -> Lookup | None:
    owner_name = watched.name_of(owner)
    if owner_name is None or not isinstance(name, str):
        return None
    current = watched.get(owner_name)
    if current is None:
        return None
    return Lookup(file=filename, line=line, source=site.source, kind=site.kind, owner=owner_name, name=name,
                  exists=_has(current, name), observed=observed)


# -- watching it run ---------------------------------------------------------------------------
class LookupTracer:
    """Line-traces extension code on this thread while it enables hooks (chains any tracer,
    such as coverage's, so nothing else loses events)."""

    def __init__(self, watched: Watched, *, tops: Iterable[str] = (), entry_points: Iterable[str] = ()) -> None:
        self.watched = watched
        self.tops = frozenset(tops)
        self.entry_points = frozenset(entry_points)  # "module:function"
        self.observation = Observation(watched=False)
        self._seen: set[tuple[str, int, str, str]] = set()
        self._prev: Any = None
        self._active = False

    def start(self) -> None:
        if self._active:
            return
        self._prev, self._active = sys.gettrace(), True
        sys.settrace(self._global)

    def stop(self) -> Observation:
        if self._active:
            self._active = False  # first: our tracers must not put themselves back
            sys.settrace(self._prev)
        return self.observation

    def __enter__(self) -> LookupTracer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _chain(self, tracer: Any, frame: FrameType, event: str, arg: Any) -> Any:
        """Calls the tracer we displaced; a C tracer called this way (coverage's) installs itself
        again the C way, so put ours back in front."""
        if tracer is None:
            return None
        result = tracer(frame, event, arg)
        if self._active and sys.gettrace() is not self._global:
            sys.settrace(self._global)
        return result

    def _global(self, frame: FrameType, event: str, arg: Any) -> Any:
        inner = self._chain(self._prev, frame, event, arg)
        if not is_extension_frame(frame, self.tops):
            if inner is None:
                return None

            def passthrough(frame: FrameType, event: str, arg: Any) -> Any:
                nonlocal inner
                inner = self._chain(inner, frame, event, arg)
                return passthrough if inner is not None else None
            return passthrough
        self.observation.watched = True
        chained = inner

        def local(frame: FrameType, event: str, arg: Any) -> Any:
            nonlocal chained
            chained = self._chain(chained, frame, event, arg)
            if event == "line":
                self._on_line(frame)
            elif event == "return":
                self._on_return(frame, arg)
            return local

        return local

    def _on_line(self, frame: FrameType) -> None:
        filename, line = frame.f_code.co_filename, frame.f_lineno
        sites = sites_of(filename).get(line)
        if not sites:
            return
        scopes = (frame.f_locals, frame.f_globals, vars(builtins))
        for site in sites:
            owner = _resolve(site.obj, scopes)
            name = site.name if site.name is not None else _resolve(site.name_var or ("",), scopes)
            found = _lookup(site, filename, line, owner, name, self.watched, observed=True)
            if found is not None and (key := (filename, line, found.owner, found.name)) not in self._seen:
                self._seen.add(key)
                self.observation.lookups.append(found)

    def _on_return(self, frame: FrameType, value: Any) -> None:
        code = frame.f_code
        entry = f"{frame.f_globals.get('__name__')}:{code.co_name}"
        if entry in self.entry_points or code.co_name in _ENABLE_NAMES:
            self.observation.enable_calls.append(EnableCall(
                function=f"{entry} ({Path(code.co_filename).name}:{code.co_firstlineno})",
                returned=repr(value)[:80], returned_false=value is False, entry=entry in self.entry_points))


def static_lookups(module_names: Iterable[str], watched: Watched) -> list[Lookup]:
    """Lookups read from the hook modules' source, resolved with their module globals; a
    local such as ``target_cls`` counts as ``PromptExecutor`` when its name says executor/cls."""
    found: list[Lookup] = []
    executor = watched.get("execution.PromptExecutor")
    for module_name in module_names:
        try:
            module = sys.modules.get(module_name) or importlib.import_module(module_name)
        except Exception:
            continue
        filename = getattr(module, "__file__", None)
        if not filename:
            continue
        for line, sites in sorted(sites_of(filename).items()):
            for site in sites:
                if site.name is None or site.kind == "attribute":
                    continue
                owner = _resolve(site.obj, (vars(module),))
                if watched.name_of(owner) is None:
                    hint = site.obj[-1].lower()
                    owner = executor if ("executor" in hint or hint.endswith("cls") or hint in ("klass", "target")) else None
                lookup = _lookup(site, filename, line, owner, site.name, watched, observed=False)
                if lookup is not None:
                    found.append(lookup)
    return found


__all__ = ["LAYOUT", "EnableCall", "Layout", "Lookup", "LookupTracer", "Observation", "Origin", "Watched",
           "is_extension_frame", "is_library_module", "origin_of", "sites_of", "static_lookups"]
