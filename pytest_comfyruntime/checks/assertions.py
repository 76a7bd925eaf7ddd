"""The assertions the ``comfyruntime`` fixture hands out, bound to one test's executor.

:class:`RuntimeChecks` runs :func:`~.hooks_active.check_hooks_active` and
:func:`~.isolation.run_isolation` on the test's ComfyUI and fails the test (``pytest.fail``,
no traceback) with the report's message; on success it returns the report.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import pytest

from ..executor.harness import ExecutorHarness, RecordingServer
from .canaries import IsolationReport, ReadCapture
from .hooks_active import PROBE_PROMPT, HooksActiveReport, check_hooks_active, module_of
from .isolation import run_isolation
from .lookups import Observation

if TYPE_CHECKING:
    from ..overhead.models import OverheadResult

#: What an inconclusive overhead verdict does to the test (ini ``comfyruntime_overhead_inconclusive``).
Inconclusive = Literal["fail", "skip", "pass"]
INCONCLUSIVE_CHOICES: tuple[Inconclusive, ...] = ("fail", "skip", "pass")


class RuntimeChecks:
    """The assertions bound to the current test's executor (the ``comfyruntime`` fixture)."""

    def __init__(self, ctx: Any, hook_specs: Sequence[str], observation: Observation | None, *,
                 inconclusive: Inconclusive = "skip",
                 hardware: Callable[[], tuple[str, str]] | None = None) -> None:
        self._ctx = ctx
        self._hook_specs = list(hook_specs)
        self._hook_modules = [module_of(s) for s in hook_specs]
        self._observation = observation
        self._inconclusive = inconclusive
        self._hardware = hardware
        #: Every overhead measurement of this test, in order (what the report is made of).
        self.results: list[OverheadResult] = []

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

    # -- overhead ----------------------------------------------------------------------------
    def measure_overhead(self, workload: Any = None, *, mode: str = "wall", aa: bool = False, noise: bool = False,
                         memory: bool | None = None, seed: int = 0, budget: Mapping[str, float] | None = None,
                         files: Sequence[str] = (), count_tool: str | None = None,
                         **settings: Any) -> OverheadResult:
        """Measures what the extension's hooks cost on ``workload`` (a bundled name: ``trivial``,
        ``chain_100``, ``cpu_bound``, ``txt2img`` (default), ``diffusers``; an API-format prompt; or a
        function ``i -> prompt``): per-hook attribution, hooks on versus off end to end, and, when
        asked, retained memory and instruction counts. Returns the :class:`OverheadResult`; judges
        nothing unless ``budget`` is given (see :meth:`assert_overhead`)."""
        from ..overhead.measure import OverheadError, Settings, measure_overhead, parse_budget

        ctx = self._ctx
        try:
            parsed = parse_budget("measure_overhead(budget=...)", budget) if budget else None
            known = set(Settings.__dataclass_fields__)
            unknown = sorted(set(settings) - known)
            if unknown:
                raise OverheadError(f"measure_overhead: unknown argument(s) {', '.join(unknown)}; fix: use any of "
                                    f"{', '.join(sorted(known))} (or workload=, mode=, aa=, noise=, memory=, seed=, "
                                    "budget=, files=, count_tool=)")
            # the diffusers workload runs where comfy_hw would put the test (and only it needs to know)
            device, dtype = self._hardware() if workload == "diffusers" and self._hardware else ("cpu", "float32")
            result = measure_overhead(ctx, workload, budget=parsed, mode=mode, aa=aa, noise=noise,  # type: ignore[arg-type]
                                      memory=memory, seed=seed, settings=Settings(**settings), era=ctx.era.key,
                                      files=files, count_tool=count_tool, hook_specs=self._hook_specs,
                                      device=device, dtype=dtype)
        except (OverheadError, ValueError) as exc:
            message = str(exc)
        else:
            self.results.append(result)
            return result
        pytest.fail(message, pytrace=False)

    def assert_overhead(self, pct: float | None = None, per_call_us: float | None = None, *,
                        retained_kb_per_prompt: float | None = None, instructions: float | None = None,
                        workload: Any = None, mode: str | None = None, **options: Any) -> OverheadResult:
        """Fails unless every budget given is met: ``pct`` (hooks' share of prompt time, end to end),
        ``per_call_us`` (each hook's exclusive time per call), ``retained_kb_per_prompt`` (memory the
        hooks keep), ``instructions`` (per call, counting mode). A budget passes when the upper
        bound of its interval is within it, fails when the lower bound is over; an inconclusive one
        (after more rounds) fails, skips or passes the test as ini ``comfyruntime_overhead_inconclusive``
        says (default: skip). Every message gives the figures, sample sizes and method."""
        budget = {k: v for k, v in (("pct", pct), ("per_call_us", per_call_us),
                                    ("retained_kb_per_prompt", retained_kb_per_prompt),
                                    ("instructions", instructions)) if v is not None}
        if not budget:
            pytest.fail("assert_overhead: no budget given; fix: pass any of pct=, per_call_us=, "
                        "retained_kb_per_prompt=, instructions=", pytrace=False)
        if mode is None:
            mode = "count" if instructions is not None else "wall"
        result = self.measure_overhead(workload, mode=mode, budget=budget, **options)
        outcome = result.outcome
        if outcome == "pass" or (outcome == "inconclusive" and self._inconclusive == "pass"):
            return result
        from ..overhead.report_text import overhead_message

        text = overhead_message(result)
        if outcome == "inconclusive" and self._inconclusive == "skip":
            pytest.skip(text)
        pytest.fail(text, pytrace=False)

    # -- metadata ----------------------------------------------------------------------------
    def assert_metadata(self, path_or_result: Any, *, expect: Any = None, inline_limit_kb: float = 32,
                        forbid: Sequence[str] = ()) -> Any:
        """Fails unless the metadata of a file, or of every file a ``RunResult``'s nodes wrote, parses,
        validates and is true to the run, keeps to the inline limit (sidecar past it), and leaks no
        secret (``extra_data``'s API keys, token-like environment variables, ``forbid``). Given a
        ``RunResult``, it also reruns that prompt twice on this test's executor with canaries and a
        witness, and fails on values of the other prompt. Returns the ``MetadataReport``
        (:mod:`pytest_comfyruntime.metadata`)."""
        from ..metadata import assert_metadata

        return assert_metadata(path_or_result, expect=expect, inline_limit_kb=inline_limit_kb, forbid=forbid,
                               rerun=lambda: self._harness(False), node_classes=self._ctx.nodes.NODE_CLASS_MAPPINGS)


__all__ = ["INCONCLUSIVE_CHOICES", "Inconclusive", "RuntimeChecks"]
