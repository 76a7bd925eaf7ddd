"""Watching an extension enable its hooks: which entry points to trace, and the tracer's start/stop.

The ``comfyruntime`` fixture's plugin starts an :class:`EnableWatch` just before the extension's
hooks are enabled and stops it right after; the :class:`~.lookups.Observation` it returns lets
``assert_hooks_active`` name a target the extension reached for and ComfyUI lacks.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .hooks_active import module_of
from .lookups import LookupTracer, Observation, Watched


def entry_points(hook_specs: Sequence[str], enable_functions: Iterable[Callable[..., Any]] = ()) -> list[str]:
    """``module:function`` of every way the hooks get enabled: the ini's ``comfyruntime_hooks``
    entries and the ``pytest_comfyruntime_enable_hooks`` implementations given."""
    points = [s.replace(" ", "") for s in hook_specs]
    points += [f"{fn.__module__}:{fn.__name__}" for fn in enable_functions]
    return points


class EnableWatch:
    """Line-traces the extension's code (the packages of ``points``) from :meth:`start` to
    :meth:`stop`, recording what it looks up on ComfyUI."""

    def __init__(self, points: Sequence[str]) -> None:
        self.points = list(points)
        self._tracer = LookupTracer(Watched(), tops={module_of(p).split(".")[0] for p in self.points},
                                    entry_points=self.points)

    def start(self) -> None:
        self._tracer.start()

    def stop(self) -> Observation:
        return self._tracer.stop()


__all__ = ["EnableWatch", "entry_points"]
