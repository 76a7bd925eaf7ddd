"""What a test and a conformance check run in: a backend opened for them (activated, loaded,
snapshotted, its folders pointed at a temporary folder, the built-in nodes registered), as a
:class:`TestContext` (with the extension's hooks, opened by ``ComfyRuntime.open_test``) or a
:class:`ComfyBench` (without them, ``ComfyRuntime.open_bench``). Everything installed is recorded
on an :class:`~pytest_comfyruntime.state.undo.Undo`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .capture._targets import TARGETS
from .checks.residue import Residue, find_residue
from .executor.backends import MockBackend, RealBackend
from .executor.eras import Era
from .executor.harness import ExecutorHarness, RecordingServer
from .executor.hook_breaker import HookBreaker
from .executor.registry import NodeRegistry
from .executor.snapshots import snapshot_comfyui
from .state.snapshot import Snapshot, originals_of, restore
from .state.undo import Undo


@dataclass
class _Opened:
    """What a test and a conformance check both start from: a backend activated and loaded, a
    snapshot taken, its folders pointed at a temporary folder, built-in nodes registered and the
    hook breaker saved (from the snapshot's originals)."""

    backend: MockBackend | RealBackend
    execution: ModuleType
    nodes: ModuleType
    server: Any
    snapshot: Snapshot
    registry: NodeRegistry
    hook_breaker: HookBreaker | None
    #: What was installed on top of the snapshot (the nodes, and a test's hooks).
    undo: Undo
    #: The backend's activation: undone last.
    activation: Undo

    def discard(self) -> None:
        """Undoes what was installed, puts the snapshot back, then undoes the activation."""
        try:
            try:
                self.undo.undo()
            finally:
                restore(self.snapshot)
        finally:
            self.activation.undo()


def _open(backend: MockBackend | RealBackend, tmp_dir: Path, builtin_nodes: dict[str, type],
          builtin_names: dict[str, str] | None, *, display_names: bool = True,
          baseline: Snapshot | None = None) -> _Opened:
    """Activates and loads ``backend``, snapshots it (``display_names``: the display-name
    registry too), saves the hook breaker (the originals of ``baseline``, the state before the
    custom nodes loaded, where there is one), points the folders at ``tmp_dir`` and registers the
    built-in nodes; on failure everything is undone again."""
    activation = Undo()
    activation.call(backend.activate())
    try:
        execution, nodes, server = backend.load()
        snapshot = snapshot_comfyui(backend.watched(), nodes, display_names=display_names,
                                    module_names=backend.module_names())
    except BaseException:
        activation.undo()
        raise
    undo = Undo()
    opened = _Opened(backend, execution, nodes, server, snapshot, NodeRegistry(nodes, undo),
                     HookBreaker.save(backend.era, originals_of(baseline or snapshot)), undo, activation)
    try:
        backend.point_folders(tmp_dir)
        opened.registry.add_all(builtin_nodes, builtin_names)
    except BaseException:
        opened.discard()
        raise
    return opened


@dataclass
class TestContext:
    """One test's view of ComfyUI: the modules, the registry, and what to undo."""

    era: Era
    execution: ModuleType
    nodes: ModuleType
    server: Any
    registry: NodeRegistry
    snapshot: Snapshot
    backend: str = "mock"
    comfyui_version: str | None = None
    #: Eras C and D: the functions ComfyUI puts back on purpose, saved before the hooks were enabled.
    hook_breaker: HookBreaker | None = None
    #: What the test installed (nodes, the hooks' undo): undone by :meth:`close`.
    undo: Undo = field(default_factory=Undo)
    #: The backend's activation: undone by :meth:`check`, after the residue is found.
    after_check: Undo = field(default_factory=Undo)
    #: ComfyUI before the extension's hooks: before its custom nodes loaded at session start,
    #: where they did (what ``assert_hooks_active`` diffs against); else the test's snapshot.
    baseline: Snapshot | None = None

    def harness(self) -> ExecutorHarness:
        return ExecutorHarness(self.execution, self.server, backend=self.backend, era=self.era.key,
                               comfyui_version=self.comfyui_version, hook_breaker=self.hook_breaker or False)

    def close(self) -> None:
        """Disables hooks and unregisters nodes (the extension's undo runs first); idempotent."""
        self.undo.undo()

    def check(self) -> list[Residue]:
        """What was left behind since the snapshot; everything is restored either way."""
        try:
            found = find_residue(self.snapshot)
            restore(self.snapshot)
        finally:
            self.after_check.undo()
        return found


class ComfyBench:
    """A clean ComfyUI for one conformance check (:meth:`ComfyRuntime.open_bench`): the backend's
    modules, the CR nodes, a snapshot to diff (the checks' ``Bench``)."""

    def __init__(self, opened: _Opened) -> None:
        self._opened = opened
        self.backend = opened.backend
        self.execution, self.nodes, self.server = opened.execution, opened.nodes, opened.server
        self.snapshot = opened.snapshot
        self.hook_breaker = opened.hook_breaker
        self.registry = opened.registry

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
        """Unregisters the nodes, puts the snapshot back and undoes the activation."""
        self._opened.discard()


__all__ = ["ComfyBench", "TestContext"]
