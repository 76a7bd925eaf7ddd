"""The assertions the ``comfyruntime`` fixture hands out, bound to one test's executor.

:class:`RuntimeChecks` runs :func:`~.hooks_active.check_hooks_active` and
:func:`~.isolation.run_isolation` on the test's ComfyUI and fails the test (``pytest.fail``,
no traceback) with the report's message; on success it returns the report.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from ..executor.harness import ExecutorHarness, RecordingServer
from .canaries import IsolationReport, ReadCapture
from .hooks_active import PROBE_PROMPT, HooksActiveReport, check_hooks_active, module_of
from .isolation import run_isolation
from .lookups import Observation


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
            ctx.baseline or ctx.snapshot, lambda: ctx.harness().run(prompt or PROBE_PROMPT, prompt_id="comfyruntime-hooks-active"),
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


__all__ = ["RuntimeChecks"]
