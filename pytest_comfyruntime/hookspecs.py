"""The plugin's own hooks, added to pytest with ``pytest_addhooks``.

Implement them in a ``conftest.py`` (or a plugin) of the extension under test. pytest only
collects hook implementations whose names start with ``pytest_``, hence the
``pytest_comfyruntime_`` prefix (as ``pytest_xdist_*`` and ``pytest_benchmark_*`` do). Every hook is
called once per test that requests ``comfy_execution_module`` (or a fixture built on it), with
the ``execution`` module in use: the mock of the selected era, or a real ComfyUI's.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from types import ModuleType

    from .executor.registry import NodeRegistry

hookspec = pluggy.HookspecMarker("pytest")


@hookspec
def pytest_comfyruntime_register_nodes(registry: NodeRegistry) -> None:
    """Register the extension's node classes for this test: ``registry.add(name, cls)``.

    Called before ``pytest_comfyruntime_enable_hooks``; everything added is removed after the test.
    """


@hookspec
def pytest_comfyruntime_enable_hooks(execution: ModuleType) -> Any:
    """Install the extension's execution hooks on ``execution`` (the module in use).

    Called after the ini ``comfyruntime_hooks`` functions, before the test body. Whatever you
    patch must be undone by ``pytest_comfyruntime_disable_hooks``: the plugin checks that it was.
    """


@hookspec
def pytest_comfyruntime_disable_hooks(execution: ModuleType) -> Any:
    """Remove what ``pytest_comfyruntime_enable_hooks`` installed. Called after the test body."""


@hookspec(firstresult=True)
def pytest_comfyruntime_generate_environment(config: Any) -> dict[str, Any] | None:
    """Return the dict that becomes the overhead report's ``environment.extra`` (the first
    non-None result wins; the plugin's own gives ``{}``). Called once per process that writes its
    part of the report (each xdist worker), like pytest-benchmark's
    ``pytest_benchmark_generate_machine_info``."""


@hookspec
def pytest_comfyruntime_update_environment(config: Any, extra: dict[str, Any]) -> None:
    """Add to or change ``extra`` (the report's ``environment.extra``) in place: a runner label,
    the GPU driver, the extension's own version."""
