"""``measure_overhead``: what the extension's hooks cost on one workload, and the verdicts.

Four passes, each optional except the first two, all in the test's own process and ComfyUI:

1. **Attribution** (:mod:`.probe`): a few prompts with the hooks on under the probe give, per
   target, the exclusive time of every hook call (the originals and suspended time excluded).
2. **End to end**: the workload with the hooks on (B) and off (A, the baseline's functions put
   back by :class:`.hookset.HookSet`) in ABBA / BAAB blocks after a warm-up; the overhead is the
   median over blocks of the on/off ratio with a bootstrap interval (:mod:`.stats`). An A/A run
   (both arms on) measures the noise floor.
3. **Retained memory** (:mod:`.memory`), when a budget asks for it or ``memory=True``.
4. **Counting mode** (:mod:`.counting`), with ``mode="count"``: instructions, not time.

A budget passes when its interval's upper bound is within it, fails when the lower bound is over
it and is otherwise inconclusive; an inconclusive end-to-end verdict gets more blocks first, up to
``max_blocks``. With several budgets the intervals are widened for the number of comparisons
(Bonferroni).
"""
from __future__ import annotations

import gc
import math
import os
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from ..executor.registry import NodeRegistry
from ..state.snapshot import Snapshot
from ..state.undo import Undo
from .hookset import HookSet
from .models import (
    Budget,
    BudgetKey,
    EndToEnd,
    Mode,
    OverheadResult,
    ProbeCost,
    PromptTiming,
    TargetStats,
    Verdict,
)
from .probe import Attribution, calibrate, engine_name, probing
from .stats import Block, corrected_confidence, judge, mean_interval, median, overhead_interval, percentile, schedule
from .workloads import Prompt, Workload, resolve_workload


class OverheadError(ValueError):
    """A measurement that cannot be made as asked: one message naming the argument and the fix."""


class Context(Protocol):
    """What a measurement runs in (a test's :class:`~pytest_comfyruntime.contexts.TestContext`)."""

    backend: str
    comfyui_version: str | None
    nodes: ModuleType
    snapshot: Snapshot
    baseline: Snapshot | None

    def harness(self) -> Any: ...


@dataclass
class Settings:
    """How hard to try (defaults suit a test; benchmarks raise them)."""

    attribution_prompts: int = 20
    warmup_prompts: int = 3
    blocks: int = 12
    max_blocks: int = 48
    run_ms: float = 8.0
    max_prompts_per_run: int = 50
    memory_prompts: int = 100
    count_prompts: int = 10
    confidence: float = 0.95
    resamples: int = 2000
    time_limit_s: float = 60.0


#: The fewest ABBA blocks an end-to-end interval is computed from.
MIN_BLOCKS = 6

_CALIBRATION: dict[str, tuple[float, float]] = {}


def _calibration() -> tuple[float, float]:
    """``(residual_ns, callback_ns)``, measured once per process. The residual is subtracted only
    by the ``sys.monitoring`` engine: under ``sys.setprofile`` the profiled code itself runs slower,
    so its figures are upper bounds and are left as measured."""
    engine = engine_name()
    if engine not in _CALIBRATION:
        residual, callback = calibrate()
        _CALIBRATION[engine] = (residual if engine == "sys.monitoring" else 0.0, callback)
    return _CALIBRATION[engine]


def _check_positive(name: str, value: Any, *, integer: bool = False) -> None:
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or not math.isfinite(value) or value <= 0:
        kind = "a positive whole number" if integer else "a positive number"
        raise OverheadError(f"{name}={value!r} is not {kind}; fix: pass e.g. {name}={'10' if integer else '1.5'}")


def parse_budget(source: str | None, values: Mapping[str, Any]) -> Budget:
    """A :class:`Budget` from keyword arguments (a marker's, ``assert_overhead``'s); one message
    naming ``source`` (when given), the argument and the fix for anything else."""
    allowed = ("pct", "per_call_us", "instructions", "retained_kb_per_prompt")
    where = f"{source}: " if source else ""
    for key, value in values.items():
        if key not in allowed:
            raise OverheadError(f"{where}unknown budget {key}=; fix: use any of {', '.join(a + '=' for a in allowed)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise OverheadError(f"{where}{key}={value!r} is not a positive number; fix: pass e.g. {key}=1.5")
    return Budget(**{k: float(v) for k, v in values.items()})


class _Runner:
    """Runs the workload's i-th prompt; ``i`` only ever counts up, so nothing is served from a cache."""

    def __init__(self, ctx: Context, workload: Workload) -> None:
        self.ctx, self.workload = ctx, workload
        self.counter = 0
        self._harness: Any = None

    def prompt(self) -> Prompt:
        self.counter += 1
        return self.workload.make_prompt(self.counter)

    def run_one(self, prompt: Prompt | None = None) -> None:
        harness = self._harness if self._harness is not None and not self.workload.fresh_executor else None
        if harness is None:
            harness = self._harness = self.ctx.harness()
        harness.run(prompt if prompt is not None else self.prompt(), prompt_id=f"comfyruntime-overhead-{self.counter}")

    def new_executor(self) -> None:
        self._harness = None

    def timed_run(self, prompts: int) -> float:
        """Microseconds per prompt over ``prompts`` prompts on a fresh executor (prompts made first,
        and the young generations collected before the clock starts, so that no run inherits another's
        garbage)."""
        made = [self.prompt() for _ in range(prompts)]
        self.new_executor()
        harness = self.ctx.harness()
        self._harness = harness
        gc.collect(1)
        start = time.perf_counter_ns()
        for prompt in made:
            if self.workload.fresh_executor:
                self._harness = None
            self.run_one(prompt)
        return (time.perf_counter_ns() - start) / prompts / 1000


def _entered(context: Any) -> Callable[[], None]:
    """Enters ``context`` now; the returned step leaves it (for an :class:`Undo`)."""
    context.__enter__()
    return lambda: context.__exit__(None, None, None)


def _comfyui_files(ctx: Context) -> list[str]:
    """ComfyUI's own code (the mock's and the node pack's: this package; a real root's folder):
    what a hook's original allocates is not the hook's."""
    here = str(Path(__file__).resolve().parents[1])
    execution = getattr(ctx, "execution", None)
    path = getattr(execution, "__file__", None)
    return [here] + ([str(Path(path).resolve().parent)] if isinstance(path, str) else [])


def _extension_files(hookset: HookSet) -> list[str]:
    """The folders (or files) of the packages the hooks' code comes from."""
    out: set[str] = set()
    functions = [getattr(h.value, "__func__", h.value) for h in hookset.hooks]
    functions += [getattr(type(p), "__init__", None) for p in hookset.providers]
    for function in functions:
        name = getattr(function, "__globals__", {}).get("__name__") if function is not None else None
        if not isinstance(name, str):
            name = getattr(function, "__module__", None)
        if not isinstance(name, str) or name.startswith(("pytest_comfyruntime.", "execution", "comfy")):
            continue
        top = sys.modules.get(name.split(".")[0])
        path = getattr(top, "__file__", None)
        if isinstance(path, str):
            out.add(os.path.dirname(path) if Path(path).name == "__init__.py" else path)
    for provider in hookset.providers:
        path = getattr(sys.modules.get(type(provider).__module__), "__file__", None)
        if isinstance(path, str):
            out.add(path)
    return sorted(out)


def _target_stats(at: Attribution, prompt_us: float, prompts: int, async_targets: set[str], names: Mapping[str, str],
                  confidence: float, resamples: int, rng: random.Random) -> list[TargetStats]:
    out = []
    for label, samples in sorted(at.samples.items()):
        in_order = [s / 1000 for s in samples]  # time order: the batch bootstrap needs it
        us = sorted(in_order)
        total = sum(us)
        interval = (mean_interval(in_order, confidence=confidence, resamples=resamples, rng=rng)
                    if len(us) > 1 else None)
        share = (total / prompts) / prompt_us * 100 if prompt_us > 0 and prompts else 0.0
        out.append(TargetStats(target=label, hook=names.get(label, label), is_async=label in async_targets,
                               calls=len(us), total_us=total, mean_us=total / len(us), p50_us=percentile(us, 50),
                               p99_us=percentile(us, 99), max_us=us[-1], mean_interval=interval, share_pct=share))
    return out


def _end_to_end(runner: _Runner, hookset: HookSet, blocks: Sequence[Block], count: int, per_run: int,
                rng: random.Random, aa: bool) -> list[Block]:
    done = list(blocks)
    for order in schedule(count, rng):
        on: list[float] = []
        off: list[float] = []
        for arm in order:
            if arm == "B" or aa:
                hookset.on()
            else:
                hookset.off()
            (on if arm == "B" else off).append(runner.timed_run(per_run))
        hookset.on()
        done.append(Block(off=tuple(off), on=tuple(on)))
    return done


def _e2e_model(blocks: Sequence[Block], per_run: int, confidence: float, resamples: int, rng: random.Random,
               aa: bool) -> EndToEnd:
    point, interval = overhead_interval(blocks, confidence=confidence, resamples=resamples, rng=rng)
    on = [t for b in blocks for t in b.on]
    off = [t for b in blocks for t in b.off]
    return EndToEnd(method=interval.method, aa=aa, blocks=len(blocks), runs_on=len(on), runs_off=len(off),
                    prompts_per_run=per_run, on_median_us=median(on), off_median_us=median(off),
                    overhead_pct=point, interval=interval)


def measure_overhead(ctx: Context, workload: Any = None, *, budget: Budget | None = None, mode: Mode = "wall",
                     aa: bool = False, noise: bool = False, memory: bool | None = None, seed: int = 0,
                     settings: Settings | None = None, era: str = "",
                     files: Sequence[str] = (), count_tool: str | None = None, hook_specs: Sequence[str] = (),
                     device: str = "cpu", dtype: str = "float32") -> OverheadResult:
    """Measures the hooks installed on ``ctx`` (everything since its baseline) on ``workload``
    (a bundled name, a prompt, a function ``i -> prompt``; None: ``txt2img``) and judges
    ``budget`` when given. ``aa``: both arms run the hooks (an A/A run, for the noise floor);
    ``noise``: an A/A run as well as the real one, reported as ``noise``."""
    settings = settings or Settings()
    if settings.blocks < MIN_BLOCKS or settings.max_blocks < settings.blocks:
        raise OverheadError(f"blocks={settings.blocks}, max_blocks={settings.max_blocks}: an interval needs at least "
                            f"{MIN_BLOCKS} ABBA blocks (a bootstrap over fewer is too narrow to trust); fix: pass "
                            f"blocks>={MIN_BLOCKS} and max_blocks>=blocks")
    if mode not in ("wall", "count"):
        raise OverheadError(f"mode={mode!r} is not a measurement mode; fix: mode='wall' (time) or mode='count' "
                            "(instructions)")
    work = resolve_workload(workload, device=device, dtype=dtype)
    baseline = ctx.baseline or ctx.snapshot
    hookset = HookSet.since(baseline)
    if not hookset:
        raise OverheadError("measure_overhead: the extension installed nothing on ComfyUI's modules and classes "
                            "(and registered no CacheProvider) since the baseline, so there is nothing to measure; "
                            "fix: enable the hooks (ini comfyruntime_hooks, or the custom nodes) before measuring")
    rng = random.Random(seed)
    undo = Undo()
    notes: list[str] = []
    try:
        if work.nodes:  # registered for the measurement only, replacing same-named built-ins
            NodeRegistry(ctx.nodes, undo).add_all(dict(work.nodes))
        undo.call(_entered(work.context()))
        runner = _Runner(ctx, work)
        try:
            for _ in range(settings.warmup_prompts):
                runner.run_one()
        except Exception as exc:
            raise OverheadError(f"workload {work.name!r} ({work.description}) failed with the hooks on: "
                                f"{type(exc).__name__}: {exc}; fix: make the workload run (try it with "
                                "comfy_executor.run first) or choose another workload=") from None
        return _measure(ctx, work, hookset, runner, budget, mode, aa, noise, memory, seed, rng, settings, era,
                        files, count_tool, hook_specs, notes)
    finally:
        hookset.on()
        undo.undo()


def _measure(ctx: Context, work: Workload, hookset: HookSet, runner: _Runner, budget: Budget | None, mode: Mode,
             aa: bool, noise: bool, memory: bool | None, seed: int, rng: random.Random, settings: Settings, era: str,
             files: Sequence[str], count_tool: str | None, hook_specs: Sequence[str], notes: list[str]) -> OverheadResult:
    started = time.monotonic()
    items = budget.items() if budget is not None else []
    comparisons = max(1, sum(1 for k, _ in items if k in ("pct", "per_call_us")))
    confidence = corrected_confidence(settings.confidence, comparisons) if comparisons > 1 else settings.confidence
    if comparisons > 1:
        notes.append(f"{comparisons} budgets judged on intervals: each at {confidence:.4f} confidence (Bonferroni)")

    # 1. attribution
    residual, callback = _calibration()
    labels, excluded = hookset.codes()
    at = Attribution(labels, excluded, residual_ns=residual)
    runner.new_executor()
    probed = [runner.prompt() for _ in range(settings.attribution_prompts)]
    with probing(at):
        for prompt in probed:
            runner.run_one(prompt)
    if engine_name() == "sys.setprofile":
        notes.append("per-hook times come from sys.setprofile (Python < 3.12), which slows the profiled code: "
                     "they are upper bounds; exact per-hook figures need Python 3.12+ (sys.monitoring)")
    if at.unfinished():
        notes.append(f"{at.unfinished()} hook calls started during the attribution prompts and never finished")

    # 2. end to end
    per_prompt_us = runner.timed_run(2)
    per_run = max(1, min(settings.max_prompts_per_run, math.ceil(settings.run_ms * 1000 / max(per_prompt_us, 1.0))))
    blocks = _end_to_end(runner, hookset, [], settings.blocks, per_run, rng, aa)
    e2e = _e2e_model(blocks, per_run, confidence, settings.resamples, rng, aa)
    pct_limit = budget.pct if budget is not None else None
    while (pct_limit is not None and e2e.interval.low <= pct_limit < e2e.interval.high
           and len(blocks) < settings.max_blocks and time.monotonic() - started < settings.time_limit_s):
        more = min(len(blocks), settings.max_blocks - len(blocks))
        blocks = _end_to_end(runner, hookset, blocks, more, per_run, rng, aa)
        e2e = _e2e_model(blocks, per_run, confidence, settings.resamples, rng, aa)
    noise_model = None
    if noise:
        noise_blocks = _end_to_end(runner, hookset, [], settings.blocks, per_run, rng, True)
        noise_model = _e2e_model(noise_blocks, per_run, settings.confidence, settings.resamples, rng, True)

    prompt_us = e2e.on_median_us
    probe_us = (at.callback_ns + residual * at.events) / 1000
    targets = _target_stats(at, prompt_us, len(probed), hookset.async_targets(), hookset.describe(), confidence,
                            settings.resamples, rng)
    hooks_us = sum(t.total_us for t in targets) / max(len(probed), 1)
    timing = PromptTiming(prompts=len(probed), median_us=prompt_us, hooks_us_per_prompt=hooks_us,
                          share_pct=hooks_us / prompt_us * 100 if prompt_us > 0 else 0.0)
    probe = ProbeCost(engine=engine_name(), callback_ns=callback, residual_ns=residual, events=at.events,  # type: ignore[arg-type]
                      total_us=probe_us)

    # 3. memory
    retained = None
    if memory or (memory is None and budget is not None and budget.retained_kb_per_prompt is not None):
        from .memory import measure_retained

        watched = list(files) or _extension_files(hookset)
        if not watched:
            raise OverheadError("retained memory: no file of the extension was found to attribute allocations to; "
                                "fix: pass files=[...] (the extension's package folder)")
        runner.new_executor()
        retained = measure_retained(lambda i: runner.run_one(), watched, prompts=settings.memory_prompts,
                                    notes=notes, exclude=_comfyui_files(ctx))

    # 4. counting mode
    counts = None
    if mode == "count":
        counts = _count(runner, hookset, labels, excluded, settings, count_tool, era, work, hook_specs)

    calls_per_prompt = sum(t.calls for t in targets) / max(len(probed), 1)
    verdicts = _verdicts(budget, e2e, targets, retained, counts, mode, len(blocks), per_run, calls_per_prompt)
    return OverheadResult(workload=work.name, backend=ctx.backend, era=era, comfyui_version=ctx.comfyui_version,
                          mode=mode, seed=seed, targets=targets, prompts=timing, end_to_end=e2e, noise=noise_model,
                          counts=counts, retained=retained, probe=probe, verdicts=verdicts, notes=notes)


def _count(runner: _Runner, hookset: HookSet, labels: Any, excluded: Any, settings: Settings, tool: str | None,
           era: str, work: Workload, hook_specs: Sequence[str]) -> Any:
    from .counting import CountingError, count_available, count_with_valgrind, count_workload, default_tool

    tool = tool or default_tool()
    try:
        reason = count_available(tool)
        if reason is not None:
            raise OverheadError(f"mode='count' with count_tool={tool!r}: {reason}")
        if tool == "sys.monitoring":
            labels, excluded = hookset.codes(plain=True)  # the counter reads no frames: no resolvers

            def run_prompt(i: int) -> None:
                runner.run_one(work.make_prompt(10_000_000 + i))
            def switch(on: bool) -> None:  # each index runs in both arms: a fresh executor, no cache hit
                hookset.on() if on else hookset.off()
                runner.new_executor()
            return count_workload(run_prompt, hooks_on=lambda: switch(True), hooks_off=lambda: switch(False),
                                  prompts=settings.count_prompts, hook_codes=labels, excluded=excluded)
        if not hook_specs or work.name not in ("trivial", "chain_100", "cpu_bound", "txt2img"):
            raise OverheadError("mode='count' with valgrind runs a bundled workload on the mock in child processes, "
                                "with the hooks enabled by comfyruntime_hooks; fix: set comfyruntime_hooks and use a "
                                "bundled workload, or run on Python 3.12+ (sys.monitoring counts in this process)")
        return count_with_valgrind(era=era, workload=work.name, hooks=list(hook_specs), sys_path=list(sys.path),
                                   prompts=settings.count_prompts)
    except CountingError as exc:
        raise OverheadError(str(exc)) from None


def _verdicts(budget: Budget | None, e2e: EndToEnd, targets: Sequence[TargetStats], retained: Any, counts: Any,
              mode: Mode, blocks: int, per_run: int, calls_per_prompt: float) -> list[Verdict]:
    if budget is None:
        return []
    out: list[Verdict] = []
    for key, limit in budget.items():
        out += _judge_key(key, limit, e2e, targets, retained, counts, mode, blocks, per_run, calls_per_prompt)
    return out


def _judge_key(key: BudgetKey, limit: float, e2e: EndToEnd, targets: Sequence[TargetStats], retained: Any,
               counts: Any, mode: Mode, blocks: int, per_run: int, calls_per_prompt: float) -> list[Verdict]:
    if key == "pct":
        what = "the prompt (A/A: both arms hooked)" if e2e.aa else "the prompt"
        return [judge(key="pct", limit=limit, value=e2e.overhead_pct, interval=e2e.interval, mode="wall",
                            target=None, unit="%",
                            samples=f"{blocks} ABBA blocks, {e2e.runs_on} runs per arm of {per_run} prompts; {what}")]
    if key == "per_call_us":
        out = []
        for t in targets:
            verdict = judge(key="per_call_us", limit=limit, value=t.mean_us, interval=t.mean_interval,
                                  mode="wall", target=t.target, unit="us", samples=f"{t.calls} calls")
            if verdict.outcome == "fail" and engine_name() == "sys.setprofile":
                head = verdict.message.removesuffix(": fail")
                verdict = verdict.model_copy(update={
                    "outcome": "inconclusive",
                    "message": head + ": inconclusive, because on Python < 3.12 per-call figures come from "
                               "sys.setprofile and are upper bounds; fix: run on Python 3.12+ for an exact figure"})
            out.append(verdict)
        return out
    if key == "retained_kb_per_prompt":
        if retained is None:
            return []
        verdict = judge(key=key, limit=limit, value=retained.retained_kb_per_prompt, interval=None, mode="wall",
                              target=None, unit="KB", samples=f"{retained.prompts} prompts")
        if retained.leak:
            from .memory import describe_retained

            verdict = verdict.model_copy(update={"message": verdict.message + "; " + describe_retained(retained)})
        return [verdict]
    if counts is None:
        return [Verdict(key="instructions", limit=limit, value=0.0, outcome="inconclusive", mode=mode,
                        message="instructions= needs counting mode: pass mode='count' (or the marker's mode='count')")]
    if counts.per_target:
        return [judge(key="instructions", limit=limit, value=v, interval=None, mode="count", target=t,
                            unit=f"{counts.unit} per call", samples=f"{counts.prompts} prompts, {counts.tool}")
                for t, v in sorted(counts.per_target.items())]
    per_call = counts.delta_per_prompt / calls_per_prompt if calls_per_prompt else counts.delta_per_prompt
    return [judge(key="instructions", limit=limit, value=per_call, interval=None, mode="count", target=None,
                        unit=f"{counts.unit} per hook call (all hooks)", samples=f"{counts.prompts} prompts, {counts.tool}")]


__all__ = ["Context", "OverheadError", "Settings", "measure_overhead", "parse_budget"]
