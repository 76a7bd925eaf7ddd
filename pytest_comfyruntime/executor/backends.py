"""The two backends behind the fixtures: the mock of one era, and a real ComfyUI root.

A backend puts its modules into ``sys.modules`` for a test (``activate`` returns the undo),
says which modules the residue check watches, and points ComfyUI's folders at the test's
temporary folder.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from ..state.undo import Undo
from .eras import ERAS, Era
from .harness import ClientSocket, RecordingServer, recording_loop, start_server
from .real import RealComfyUI
from .standin import EraFinder, StandIn, is_managed

#: Modules of a real ComfyUI that extensions hook and the residue check watches (``server``: a
#: class-level patch of ``PromptServer.send_sync`` left behind is named and put back, as on the mock).
REAL_WATCHED = ("execution", "nodes", "server", "folder_paths", "comfy.model_management", "comfy.utils",
                "comfy_execution.graph", "comfy_execution.caching", "comfy_execution.progress",
                "comfy_execution.utils", "comfy_execution.graph_utils", "comfy_execution.cache_provider")


class MockBackend:
    name = "mock"

    def __init__(self, era: Era, base_dir: Path) -> None:
        self.era = era
        self.version = era.mock_version
        self.standin = StandIn(era)
        self.base_dir = base_dir

    def activate(self) -> Callable[[], None]:
        if self.standin.active:
            return lambda: None
        return self.standin.activate()

    def load(self) -> tuple[ModuleType, ModuleType, Any]:
        """The era's modules and ``server.PromptServer.instance``, built once as ``main.py`` builds
        it (:func:`~.harness.start_server`); its record of sent messages and its history start
        empty for each test."""
        execution = self.standin.import_core()
        server_module = sys.modules["server"]
        server = getattr(server_module.PromptServer, "instance", None)
        if server is None:
            server = start_server(execution, server_module)
        _fresh(server)
        providers = sys.modules.get("comfy_execution.cache_provider")
        for record in ("_comfyruntime_calls", "_comfyruntime_unfinished_stores"):  # era D: per test
            getattr(providers, record, []).clear()
        return execution, sys.modules["nodes"], server

    def adopt(self, names: Iterable[str]) -> None:
        """The custom nodes loaded into this era become the era's own (see :meth:`.StandIn.adopt`)."""
        self.standin.adopt(names)

    def watched(self) -> list[ModuleType]:
        return list(self.standin.modules().values())

    def module_names(self) -> list[str]:
        """The names this backend holds in ``sys.modules`` while active (the stand-in's modules)."""
        return list(self.standin.modules())

    def point_folders(self, tmp_dir: Path) -> None:
        sys.modules["folder_paths"]._point_to(str(tmp_dir))


class RealBackend:
    name = "real"

    def __init__(self, real: RealComfyUI) -> None:
        self.real = real
        self.era: Era = ERAS[real.era]
        self.version = real.version
        #: The signature record of the root (``"D"`` or ``"D-11"`` for 2026), read from its code.
        self.signature = real.signature
        self._modules = real.modules  # shared by every session of this process
        #: The custom nodes loaded into this root for the session (see :meth:`adopt`).
        self.adopted: dict[str, ModuleType] = {}
        #: Names the session's backends adopted: activating this one takes them out of ``sys.modules``.
        self.foreign: set[str] = set()

    def adopt(self, names: Iterable[str]) -> None:
        """Makes these ``sys.modules`` entries (custom nodes loaded into this root) come back
        whenever the backend is activated, and leave when another backend is."""
        self.adopted.update({n: sys.modules[n] for n in names if n in sys.modules})

    def activate(self) -> Callable[[], None]:
        if all(sys.modules.get(n) is m for n, m in {**self._modules, **self.adopted}.items()):
            return lambda: None
        record = Undo()
        # A mock must not serve ComfyUI's lazy imports: its finders leave sys.meta_path meanwhile.
        finders = [f for f in sys.meta_path if isinstance(f, EraFinder)]
        for finder in finders:
            sys.meta_path.remove(finder)
        record.call(lambda: sys.meta_path.__setitem__(slice(0, 0), finders))
        for name in [n for n in sys.modules if is_managed(n) or n in self._modules or n in self.foreign]:
            record.delitem(sys.modules, name)
        for name, module in {**self._modules, **self.adopted}.items():
            record.set_module(name, module)

        def forget_lazy_imports() -> None:
            """Runs first on undo: keeps what ComfyUI imported lazily meanwhile, then takes out
            every ComfyUI module the record does not know about."""
            self._modules.update(self.real.own_modules())
            for name in [n for n in sys.modules if n in self._modules or is_managed(n) or n in self.adopted]:
                del sys.modules[name]
        record.call(forget_lazy_imports)
        return record.undo

    def load(self) -> tuple[ModuleType, ModuleType, Any]:
        """The root's modules and the ``server.PromptServer`` :func:`~.real.load_real_comfyui` built
        as ``main.py`` does (its record and history start empty for each test); a private
        :class:`~.harness.RecordingServer` where it built none (era D: see ``RealComfyUI.no_server``)."""
        server = self.real.server
        if server is None:
            return self.real.execution, self.real.nodes, RecordingServer()
        _fresh(server)
        return self.real.execution, self.real.nodes, server

    def watched(self) -> list[ModuleType]:
        return [sys.modules[n] for n in REAL_WATCHED if n in sys.modules and self.real.owns(sys.modules[n])]

    def module_names(self) -> list[str]:
        """The names this backend holds in ``sys.modules`` while active: the root's modules, and
        any ComfyUI imported lazily since it was activated."""
        return [n for n in sys.modules if n in self._modules or is_managed(n)]

    def point_folders(self, tmp_dir: Path) -> None:
        """Output, temp, input and (from August 2024, where ``folder_paths`` has it) user folders
        under ``tmp_dir``, through ``folder_paths``' setters as ``main.py``'s ``--output-directory``
        and its siblings do; the snapshot of ``folder_paths`` puts them back after the test."""
        folder_paths = sys.modules["folder_paths"]
        for kind in ("output", "temp", "input", "user"):
            setter = getattr(folder_paths, f"set_{kind}_directory", None)
            if setter is None:  # era A keeps its user folder in app.user_manager (the server's, see real.py)
                continue
            path = tmp_dir / kind
            os.makedirs(path, exist_ok=True)
            setter(str(path))


def _fresh(server: Any) -> None:
    """A test starts with nothing recorded, no history and no harness's client connected (the
    server itself lives on, as in ComfyUI)."""
    recording_loop(server).clear()
    sockets = getattr(server, "sockets", {})
    for sid in [sid for sid, socket in sockets.items() if isinstance(socket, ClientSocket)]:
        del sockets[sid]
    queue = getattr(server, "prompt_queue", None)
    if queue is not None:
        queue.wipe_history()
