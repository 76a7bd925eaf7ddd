"""Makes ``import execution`` (and ``nodes``, ``server``, ``folder_paths``, ``comfy.*``,
``comfy_execution.*``) resolve to the mock of one ComfyUI era, and undoes it exactly.

The mock modules are plain files under ``mock_root/``, loaded under ComfyUI's own module names by
a meta-path finder, so their functions look up ``execution.get_input_data`` and friends as module
globals, as ComfyUI's do. A file is exactly what the eras it serves run: it lives in a folder named
for those eras (``abcd/`` for all four, ``cd/`` for C and D, ``d/`` for D alone), and an era reads
every folder whose name holds its letter; one module name must resolve to exactly one file per era.
The variant ``D-11`` (2026's other signature) runs era D's files except those in ``d11/``.
``StandIn.activate()`` returns the undo; afterwards ``sys.modules`` and ``sys.meta_path`` hold
exactly what they held before.
"""
from __future__ import annotations

import functools
import importlib.abc
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterable, Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

from ..state.undo import Undo
from .eras import ERAS, MANAGED_TOP_LEVEL, Era

MOCK_ROOT = Path(__file__).with_name("mock_root")


_MANAGED_PREFIXES = tuple(f"{top}." for top in MANAGED_TOP_LEVEL)


def is_managed(name: str) -> bool:
    """A ComfyUI module name (``execution``, ``comfy.utils``, ...): called for every entry of
    ``sys.modules`` whenever a stand-in is swapped, so it is kept cheap."""
    return name in MANAGED_TOP_LEVEL or name.startswith(_MANAGED_PREFIXES)


#: Folders under an era folder whose name differs from the module they hold, so that nothing in
#: this project looks like a vendored copy of ComfyUI's own ``comfy_execution`` package.
_FOLDER_NAMES = {"comfy_execution": "mock_comfy_execution"}
_MODULE_NAMES = {folder: module for module, folder in _FOLDER_NAMES.items()}

_ERA_LETTERS = frozenset(era.key.lower() for era in ERAS.values() if era.variant_of is None)


class EraLayoutError(Exception):
    """``mock_root/`` gives an era two files for one module (or is otherwise malformed)."""


def _folder_of(name: str) -> Path:
    top, *rest = name.split(".")
    return Path(_FOLDER_NAMES.get(top, top), *rest)


def is_era_folder(name: str) -> bool:
    """``a``, ``bcd``, ``abcd``: a folder of ``mock_root/`` named for the eras whose files it holds."""
    return bool(name) and set(name) <= _ERA_LETTERS


def era_folders(era: Era, root: Path = MOCK_ROOT) -> list[Path]:
    """The folders of ``root`` that ``era`` reads: every era folder whose name holds its letter (for
    a variant, its base era's letter: ``d`` for ``D-11``)."""
    letter = era.base.lower()
    return sorted(p for p in root.iterdir() if p.is_dir() and is_era_folder(p.name) and letter in p.name)


def module_name(relative: Path) -> str:
    """``mock_comfy_execution/graph.py`` -> ``comfy_execution.graph``; ``comfy/__init__.py`` -> ``comfy``."""
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    parts[0] = _MODULE_NAMES.get(parts[0], parts[0])
    return ".".join(parts)


def module_files(era: Era, root: Path = MOCK_ROOT) -> dict[str, Path]:
    """Every module of ``era``, by name, and the one file it runs, sorted by name. Raises
    :class:`EraLayoutError` naming both files when two of the era's folders hold the same module.
    A variant (``D-11``) runs its base era's files, each replaced by its own folder's copy where
    that folder (``d11/``) has one, without the modules it ``lacks``."""
    found: dict[str, Path] = {}
    for folder in era_folders(era, root):
        for file in folder.rglob("*.py"):
            relative = file.relative_to(folder)
            if "__pycache__" in relative.parts:
                continue
            name = module_name(relative)
            if name in found:
                raise EraLayoutError(
                    f"module {name!r} of ComfyUI era {era.label} has two files: "
                    f"{found[name].relative_to(root)} and {file.relative_to(root)}; keep one of them")
            found[name] = file
    if era.variant_of is not None:
        own = root / era.folder
        for file in own.rglob("*.py"):
            relative = file.relative_to(own)
            if "__pycache__" not in relative.parts:
                found[module_name(relative)] = file  # the variant's own copy replaces its base's
        for name in era.lacks:
            if found.pop(name, None) is None:
                raise EraLayoutError(f"ComfyUI era {era.label} lacks module {name!r}, which its base era "
                                     f"{era.base} does not have either; take it out of the era's 'lacks'")
    return dict(sorted(found.items()))


class EraFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds and runs the files of one era's mock modules (plain files: nothing is injected)."""

    def __init__(self, era: Era, root: Path = MOCK_ROOT) -> None:
        self.era = era
        self.root = root
        self.loaded: dict[str, ModuleType] = {}  # the modules this finder executed, in import order
        self._files: dict[str, Path] | None = None

    @property
    def files(self) -> dict[str, Path]:
        """Module name -> file, read from ``mock_root/`` on first use."""
        if self._files is None:
            self._files = module_files(self.era, self.root)
        return self._files

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        top = fullname.split(".", 1)[0]
        if top not in MANAGED_TOP_LEVEL:
            return None
        file = self.files.get(fullname) if top in self.era.modules else None
        if file is None:
            # Never fall through to another ComfyUI on sys.path: in this era it does not exist.
            raise ModuleNotFoundError(
                f"No module named {fullname!r} (pytest-comfyruntime mock of ComfyUI era {self.era.label})",
                name=fullname)
        search = None
        if file.name == "__init__.py":
            rel = _folder_of(fullname)
            search = [str(folder / rel) for folder in era_folders(self.era, self.root) if (folder / rel).is_dir()]
        return importlib.util.spec_from_file_location(fullname, file, loader=self,
                                                      submodule_search_locations=search)

    def create_module(self, spec: ModuleSpec) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        spec = module.__spec__
        assert spec is not None and spec.origin is not None  # find_spec gave it a file
        path = Path(spec.origin)
        self.loaded[module.__name__] = module
        exec(compile(path.read_bytes(), str(path), "exec", dont_inherit=True), module.__dict__)


class StandIn:
    """The mock ComfyUI modules of one era, installed into ``sys.modules`` until undone.

    The modules are loaded once: ``deactivate`` keeps them, and the next ``activate`` puts the
    same module objects back (so an era matrix or per-test stand-ins do not load every mock
    module again for every test; the residue check puts their state back after each test).
    """

    def __init__(self, era: Era) -> None:
        self.era = era
        self._finder = EraFinder(era)
        self._undo: Undo | None = None
        self._kept: dict[str, ModuleType] = {}
        #: Modules that are not ComfyUI's but belong to this era: the custom nodes loaded into it.
        self._adopted: dict[str, ModuleType] = {}
        #: Names any stand-in of the session adopted: activating this one takes them out of
        #: ``sys.modules`` as it takes out ComfyUI's (the runtime gives every stand-in one set).
        self.foreign: set[str] = set()

    @property
    def active(self) -> bool:
        return self._undo is not None

    def activate(self) -> Callable[[], None]:
        if self._undo is not None:
            raise RuntimeError("stand-in already active")
        undo = Undo()
        # Undone newest first: keep what this era loaded, take every ComfyUI module out again,
        # drop the finder, then put back the modules that were there before.
        for name in [n for n in sys.modules if is_managed(n) or n in self.foreign]:
            undo.set_module(name, None)
        undo.call(self._remove_managed)
        sys.meta_path.insert(0, self._finder)
        undo.call(self._remove_finder)
        for name, module in {**self._kept, **self._adopted}.items():
            undo.set_module(name, module)
        undo.call(self._keep_loaded)
        self._undo = undo
        return self.deactivate

    def deactivate(self) -> None:
        undo, self._undo = self._undo, None
        if undo is not None:
            undo.undo()

    def _keep_loaded(self) -> None:
        self._kept = self.modules()

    def _remove_finder(self) -> None:
        if self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)

    def _remove_managed(self) -> None:
        for name in [n for n in sys.modules if is_managed(n) or n in self.foreign]:
            del sys.modules[name]

    def adopt(self, names: Iterable[str]) -> None:
        """Makes these ``sys.modules`` entries (a custom-node package and its submodules, loaded
        while this stand-in was active) part of the era: they leave ``sys.modules`` with it and
        come back with it, so each era has its own copy of the extension."""
        if self._undo is None:
            raise RuntimeError("adopt() needs the stand-in active")
        for name in names:
            module = sys.modules.get(name)
            if module is not None and name not in self._adopted:
                self._adopted[name] = module
                self._undo.call(functools.partial(_forget_module, name))  # leaves with the era

    @property
    def adopted(self) -> dict[str, ModuleType]:
        return dict(self._adopted)

    def import_all(self) -> None:
        """Imports every module of the era, so a snapshot taken now watches whatever an
        extension may patch at import."""
        import importlib

        for name in sorted(self._finder.files):
            importlib.import_module(name)

    def modules(self) -> dict[str, ModuleType]:
        """The stand-in modules loaded so far and still in ``sys.modules``, by name."""
        return {name: module for name, module in self._finder.loaded.items() if sys.modules.get(name) is module}

    def import_core(self, base_dir: str | None = None) -> ModuleType:
        """Imports ``execution`` and the modules extensions touch; points folder_paths at ``base_dir``."""
        import importlib
        execution = importlib.import_module("execution")
        for name in ("server", "folder_paths", "comfy.model_management", "comfy.utils", "comfy.cli_args"):
            importlib.import_module(name)
        if base_dir is not None:
            sys.modules["folder_paths"]._point_to(base_dir)
        return execution


def _forget_module(name: str) -> None:
    sys.modules.pop(name, None)


def rebind_globals(namespace: dict[str, Any], undo: Undo, owned: Callable[[str], bool]) -> list[str]:
    """Points a namespace's module-level imports at the modules now in ``sys.modules``.

    A test module that did ``import execution`` (or ``from my_ext import hooks``) at collection
    time holds the module of the era that was active then. For each global that is a module
    (or a class or function defined in one) whose name ``sys.modules`` now maps to another
    object, the global is replaced with the current one, recorded on ``undo``. Only modules whose
    name ``owned`` accepts (ComfyUI's, and the custom nodes the eras loaded) are considered.
    Returns the names rebound.
    """
    rebound = []
    for name, value in list(namespace.items()):
        module_name = value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", None)
        if not isinstance(module_name, str) or not owned(module_name):
            continue
        current = _current(value)
        if current is not None and current is not value:
            undo.setitem(namespace, name, current)
            rebound.append(name)
    return rebound


def _current(value: Any) -> Any:
    if isinstance(value, ModuleType):
        return sys.modules.get(value.__name__)
    if isinstance(value, type) or inspect.isfunction(value):
        module = sys.modules.get(getattr(value, "__module__", None) or "")
        owner = getattr(module, "__dict__", {}).get(value.__name__) if module is not None else None
        if owner is not None and type(owner) is type(value) and getattr(owner, "__qualname__", None) == value.__qualname__:
            return owner
    return None
