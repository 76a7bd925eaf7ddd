"""Makes ``import execution`` (and ``nodes``, ``server``, ``folder_paths``, ``comfy.*``,
``comfy_execution.*``) resolve to the mock of one ComfyUI era, and undoes it exactly.

The mock modules are files under ``mock_root/`` loaded under ComfyUI's own module names by a
meta-path finder, so their functions look up ``execution.get_input_data`` and friends as module
globals, as ComfyUI's do. ``StandIn.activate()`` returns the undo; afterwards ``sys.modules`` and
``sys.meta_path`` hold exactly what they held before.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from .eras import MANAGED_TOP_LEVEL, Era

MOCK_ROOT = Path(__file__).with_name("mock_root")


_MANAGED_PREFIXES = tuple(f"{top}." for top in MANAGED_TOP_LEVEL)


def is_managed(name: str) -> bool:
    """A ComfyUI module name (``execution``, ``comfy.utils``, ...): called for every entry of
    ``sys.modules`` whenever a stand-in is swapped, so it is kept cheap."""
    return name in MANAGED_TOP_LEVEL or name.startswith(_MANAGED_PREFIXES)


#: Folders under mock_root/ whose name differs from the module they hold, so that nothing in this
#: project looks like a vendored copy of ComfyUI's own ``comfy_execution`` package.
_FOLDER_NAMES = {"comfy_execution": "mock_comfy_execution"}


def _folder_of(name: str) -> Path:
    top, *rest = name.split(".")
    return Path(_FOLDER_NAMES.get(top, top), *rest)


class EraFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, era: Era) -> None:
        self.era = era
        self.dirs = [MOCK_ROOT / overlay for overlay in era.overlays]
        self.loaded: dict[str, None] = {}  # names of the modules this finder executed, in import order

    def _locate(self, name: str) -> tuple[Path, bool] | None:
        rel = _folder_of(name)
        for base in self.dirs:
            package = base / rel / "__init__.py"
            if package.is_file():
                return package, True
            module = base / rel.with_suffix(".py")
            if module.is_file():
                return module, False
        return None

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.split(".", 1)[0]
        if top not in MANAGED_TOP_LEVEL:
            return None
        found = self._locate(fullname) if top in self.era.modules else None
        if found is None:
            # Never fall through to another ComfyUI on sys.path: in this era it does not exist.
            raise ModuleNotFoundError(
                f"No module named {fullname!r} (pytest-comfyruntime mock of ComfyUI era {self.era.label})",
                name=fullname)
        file, is_package = found
        search = [str(base / _folder_of(fullname)) for base in self.dirs] if is_package else None
        return importlib.util.spec_from_file_location(fullname, file, loader=self,
                                                      submodule_search_locations=search)

    def create_module(self, spec):
        return None

    def exec_module(self, module: ModuleType) -> None:
        namespace = module.__dict__
        namespace["__comfyruntime_era__"] = self.era.key
        namespace["__comfyruntime_include__"] = lambda name: _include(name, namespace)
        self.loaded[module.__name__] = None
        _run_source(Path(module.__spec__.origin), namespace)


def _run_source(path: Path, namespace: dict) -> None:
    """Executes a mock source file in ``namespace``: its functions get that module as globals."""
    exec(compile(path.read_bytes(), str(path), "exec", dont_inherit=True), namespace)


def _include(name: str, namespace: dict) -> None:
    """Runs ``mock_root/shared/<name>`` in a mock module's namespace (code shared by eras: it
    branches on ``__comfyruntime_era__``); the including module keeps its own docstring."""
    doc = namespace.get("__doc__")
    _run_source(MOCK_ROOT / "shared" / name, namespace)
    namespace["__doc__"] = doc


class StandIn:
    """The mock ComfyUI modules of one era, installed into ``sys.modules`` until undone.

    The modules are loaded once: ``deactivate`` keeps them, and the next ``activate`` puts the
    same module objects back (so an era matrix or per-test stand-ins do not load every mock
    module again for every test; the residue check puts their state back after each test).
    """

    def __init__(self, era: Era) -> None:
        self.era = era
        self._finder = EraFinder(era)
        self._saved: dict[str, ModuleType] | None = None
        self._kept: dict[str, ModuleType] = {}

    @property
    def active(self) -> bool:
        return self._saved is not None

    def activate(self) -> Callable[[], None]:
        if self._saved is not None:
            raise RuntimeError("stand-in already active")
        saved = {name: mod for name, mod in sys.modules.items() if is_managed(name)}
        for name in saved:
            del sys.modules[name]
        sys.meta_path.insert(0, self._finder)
        sys.modules.update(self._kept)
        self._saved = saved
        return self.deactivate

    def deactivate(self) -> None:
        if self._saved is None:
            return
        try:
            sys.meta_path.remove(self._finder)
        except ValueError:
            pass
        self._kept = self.modules()
        for name in [n for n in sys.modules if is_managed(n)]:
            del sys.modules[name]
        sys.modules.update(self._saved)
        self._saved = None

    def modules(self) -> dict[str, ModuleType]:
        """The stand-in modules loaded so far, by name."""
        found = {name: sys.modules.get(name) for name in self._finder.loaded}
        return {name: mod for name, mod in found.items()
                if mod is not None and getattr(mod, "__comfyruntime_era__", None) == self.era.key}

    def import_core(self, base_dir: str | None = None) -> ModuleType:
        """Imports ``execution`` and the modules extensions touch; points folder_paths at ``base_dir``."""
        import importlib
        execution = importlib.import_module("execution")
        for name in ("server", "folder_paths", "comfy.model_management", "comfy.utils", "comfy.cli_args"):
            importlib.import_module(name)
        if base_dir is not None:
            sys.modules["folder_paths"]._point_to(base_dir)
        return execution
