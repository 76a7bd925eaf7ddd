"""The conformance battery: any hook module with enable/disable, against the safety principles.

``comfyruntime_conformance = "my_ext.hooks"`` (or ``"my_ext.hooks:enable=start,disable=stop,
read=get_session"``) makes one test item per check in :data:`CHECKS` (see
``pytest_comfyruntime/checks_plugin.py``). :func:`run_check` gives each check a clean ComfyUI
(:class:`Bench`) and fails naming the principle and what broke it. The hook module is read by
:mod:`.target`, an exception is provoked inside a hook by :mod:`.faults`, and what the code said
meanwhile is collected by :mod:`.reports`.
"""
from __future__ import annotations

import inspect
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Final, Protocol

from ..capture._targets import TARGETS, wraps_chain
from ..executor.harness import ExecutorHarness, RunResult
from ..executor.hook_breaker import HookBreaker
from ..executor.standin import is_managed
from ..state.describe import defined_in, describe
from ..state.snapshot import Snapshot
from .canaries import DEFAULT_TEMPLATE, CanaryPlan
from .faults import MARK, InjectedFault, PoisonStr, armed, poisoned
from .hooks_active import (
    PROBE_PROMPT,
    CallCounter,
    installed_since,
    provider_label,
    providers_since,
    sdk_label,
    sdk_providers_since,
)
from .hooks_active import check_hooks_active as hooks_active_report
from .isolation import run_isolation
from .lookups import LookupTracer, Watched
from .reports import captured_reports, diff, summary
from .residue import Residue
from .target import CheckFailed, CheckSkipped, ConformanceTarget, Subject, call_hook, env_names


class Bench(Protocol):
    """A clean ComfyUI for one check (built by the runtime, ``ComfyRuntime.open_bench``): the
    backend's modules with the CR nodes registered, and the snapshot taken before the hook module
    was touched."""

    backend: Any
    execution: ModuleType
    nodes: ModuleType
    snapshot: Snapshot
    hook_breaker: HookBreaker | None

    @property
    def label(self) -> str: ...
    def harness(self, own_server: bool = False) -> ExecutorHarness: ...
    def left_behind(self) -> list[Residue]: ...
    def reset(self) -> None: ...
    def targets(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


# -- the checks -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Found:
    """What ``enable()`` does to a clean ComfyUI: the names it patches and the CacheProviders it
    registers (ComfyUI of 2026)."""

    patched: list[str]
    providers: list[str]


@dataclass(frozen=True)
class Held:
    """What hooks hold in ComfyUI now: callables patched in (``where = wrapper``) and
    CacheProviders registered; false when nothing; ``str`` is the phrase the checks report."""

    patched: list[str]
    registered: list[str]

    def __bool__(self) -> bool:
        return bool(self.patched or self.registered)

    def __str__(self) -> str:
        if not self.patched:
            return "registered " + ", ".join(self.registered)
        return "patched " + "; ".join([*self.patched, *(f"{p} (registered)" for p in self.registered)])


def registrations(bench: Bench) -> list[str]:
    """CacheProviders and SDK providers (ComfyUI of 2026) registered since the bench's snapshot."""
    return ([provider_label(p) for p in providers_since(bench.snapshot)]
            + [sdk_label(slot, value) for slot, value in sdk_providers_since(bench.snapshot)])


def hooks_held(bench: Bench) -> Held:
    return Held([f"{i.where} = {describe(i.value)}" for i in installed_since(bench.snapshot)], registrations(bench))


def _discover(subject: Subject, bench: Bench) -> Found:
    """What ``enable()`` patches and registers on a clean ComfyUI (put back afterwards)."""
    try:
        subject.enable(bench.execution)
        found = installed_since(bench.snapshot)
        installed = [i.where for i in found if not i.added]
        providers = providers_since(bench.snapshot) + [value for _slot, value in sdk_providers_since(bench.snapshot)]
        # where each wrapper was defined (functools.wraps copies the original's __module__)
        subject.wrapper_modules |= {m for i in found if (m := defined_in(i.value) or getattr(
            getattr(i.value, "__func__", i.value), "__module__", None)) and not is_managed(m)}
        subject.wrapper_modules |= {m for p in providers if not is_managed(m := type(p).__module__)}
        labels = registrations(bench)
    finally:
        subject.quiet_disable(bench.execution)
        bench.reset()
    if not installed and not labels:
        raise CheckSkipped(f"enable() patched nothing on this executor ({bench.label}): see the hooks_active check")
    return Found(installed, labels)


def _patches(subject: Subject, bench: Bench, why: str) -> list[str]:
    """The names ``enable()`` patches; CheckSkipped (saying ``why``) when it only registers CacheProviders."""
    found = _discover(subject, bench)
    if not found.patched:
        raise CheckSkipped(f"the hooks are CacheProviders only ({', '.join(found.providers)}): {why}")
    return found.patched


def _run(bench: Bench, prompt: dict[str, Any], prompt_id: str) -> RunResult:
    return bench.harness().run(prompt, prompt_id=prompt_id)


def check_hooks_active(subject: Subject, bench: Bench) -> None:
    entry = f"{subject.module.__name__}:{subject.hook('enable').__name__}"
    tracer = LookupTracer(Watched(), tops={subject.prefix.split(".")[0]}, entry_points={entry})
    try:
        with tracer:
            returned = subject.enable(bench.execution)
        report = hooks_active_report(bench.snapshot, lambda: _run(bench, PROBE_PROMPT, "conformance-probe"),
                                     backend=bench.backend.name, era=bench.backend.era.key,
                                     observation=tracer.observation, hook_modules=[subject.module.__name__],
                                     broken=bench.hook_breaker.broken if bench.hook_breaker is not None else ())
    finally:
        subject.quiet_disable(bench.execution)
    entry = f"{subject.module.__name__}:{subject.hook('enable').__name__}"
    if returned is False and not any(c.returned_false and c.entry for c in report.observation.enable_calls):
        report.problems.insert(0, f"enabling returned False: {entry}")
    if not report.ok:
        raise CheckFailed(report.message())


def _import_afresh(subject: Subject, bench: Bench) -> Held:
    """What importing the hook module anew patches (the module objects in use are put back)."""
    import importlib

    name = subject.module.__name__

    def mine(n: str) -> bool:
        return n == name or n.startswith(name + ".")

    saved = {n: m for n, m in sys.modules.items() if mine(n)}
    parent, _, child = name.rpartition(".")
    bench.reset()
    for n in saved:
        del sys.modules[n]
    try:
        importlib.import_module(name)
        return hooks_held(bench)
    finally:
        for n in [n for n in sys.modules if mine(n)]:
            del sys.modules[n]
        sys.modules.update(saved)
        if parent and parent in sys.modules:
            setattr(sys.modules[parent], child, saved[name])
        bench.reset()


def check_off_by_default(subject: Subject, bench: Bench) -> None:
    patched = _import_afresh(subject, bench)
    if patched:
        raise CheckFailed(f"importing {subject.module.__name__} {patched}"
                          " without any opt-in: hooks must stay off until enabled")
    auto = subject.functions["auto"]
    if auto is None:
        return
    hidden = {k: os.environ.pop(k) for k in env_names(subject) if k in os.environ}
    try:
        returned = call_hook(auto, bench.execution)
        patched = hooks_held(bench)
    finally:
        os.environ.update(hidden)
        subject.quiet_disable(bench.execution)
    if patched:
        raise CheckFailed(f"{auto.__name__}() with no opt-in (its environment variables unset) returned {returned!r} "
                          f"and {patched}: hooks must stay off until opted in")


_FOREIGN: Final = {
    False: "def other_extension_wrapper(*args, **kwargs):\n    return original(*args, **kwargs)\n",
    True: "async def other_extension_wrapper(*args, **kwargs):\n    return await original(*args, **kwargs)\n",
}


def _foreign(original: Any, is_async: bool) -> Any:
    """Another extension's pass-through wrapper of ``original``, defined in a module named
    ``other_extension`` (so that it is named so, also by its code)."""
    namespace: dict[str, Any] = {"__name__": "other_extension", "original": original}
    exec(compile(_FOREIGN[is_async], "<other_extension>", "exec"), namespace)
    return namespace["other_extension_wrapper"]


def check_conflict_detection(subject: Subject, bench: Bench) -> None:
    for where in _patches(subject, bench, "ComfyUI calls every registered provider in turn, there is nothing "
                                          "to conflict over"):
        owner, _, attr = where.rpartition(".")
        holder = Watched().get(owner)
        current = vars(holder)[attr] if isinstance(holder, type) else getattr(holder, attr)
        foreign = _foreign(current, inspect.iscoroutinefunction(current))
        setattr(holder, attr, foreign)
        try:
            returned = subject.enable(bench.execution)
            touched = [f"{i.where} (now {describe(i.value)})" for i in installed_since(bench.snapshot)
                       if i.value is not foreign]
        finally:
            subject.quiet_disable(bench.execution)
            bench.reset()
        if touched:
            raise CheckFailed(f"with another extension's wrapper already on {where}, enable() returned {returned!r} "
                              "and still patched " + ", ".join(touched) + ": it must refuse, say why and touch nothing")


def check_exception_auto_disables(subject: Subject, bench: Bench) -> None:
    _patches(subject, bench, "ComfyUI itself catches and logs every exception a provider raises")
    prompt = poisoned(CanaryPlan(bench.nodes.NODE_CLASS_MAPPINGS, 4242).build(0, "fault", DEFAULT_TEMPLATE, branch=True)[0])
    originals = {t.current(bench.execution).__code__: t.name for t in TARGETS
                 if t.current(bench.execution) is not None and not t.is_async}
    with CallCounter(originals) as base_calls:
        baseline = summary(_run(bench, prompt, "conformance-fault"))
    subject.enable(bench.execution)
    problems: list[str] = []
    try:
        with captured_reports() as reports, CallCounter(originals) as calls, armed(subject) as scope:
            try:
                outcome: Any = summary(_run(bench, prompt, PoisonStr("conformance-fault")))
            except Exception as exc:
                outcome = exc
            first = list(scope.raised)
            scope.raised.clear()
            try:
                _run(bench, prompt, PoisonStr("conformance-fault-2"))
            except Exception:
                pass
            again = list(scope.raised)
    finally:
        subject.quiet_disable(bench.execution)
    if not first:
        raise CheckSkipped("could not provoke an exception inside the hooks: they never hashed, compared, copied or "
                           "formatted the prompt id or a node id they were given")
    where = f"InjectedFault raised inside the hook at {first[0]}"
    if isinstance(outcome, InjectedFault):
        problems.append("the exception escaped the hook and ComfyUI's execute(): the prompt crashed")
    else:
        if isinstance(outcome, Exception):
            problems.append(f"the prompt did not complete: running it raised {type(outcome).__name__}: {outcome}")
        for name, count in base_calls.calls.items():
            if calls.calls.get(name, 0) < count:
                problems.append(f"the original {name} was called {calls.calls.get(name, 0)} time(s), {count} without "
                                "the hooks: the wrapper did not call the original")
        changes = [] if isinstance(outcome, Exception) else diff(baseline, outcome)
        if changes:
            problems.append("the prompt's result changed: " + "; ".join(changes[:4]))
    if again:
        problems.append(f"the hooks were not disabled: the next prompt raised inside them again at {again[0]}")
    if not isinstance(outcome, InjectedFault) and not any(MARK in r.text for r in reports):
        problems.append("nothing was logged, printed or warned: the exception was swallowed silently")
    if problems:
        raise CheckFailed(f"{where}:\n  - " + "\n  - ".join(problems))


def check_teardown_restores(subject: Subject, bench: Bench) -> None:
    _discover(subject, bench)
    subject.enable(bench.execution)
    try:
        _run(bench, PROBE_PROMPT, "conformance-teardown")
    finally:
        subject.disable(bench.execution)
    left = bench.left_behind()
    if left:
        raise CheckFailed("after disable(), the originals are not back:\n  - " + "\n  - ".join(map(str, left)))


def check_idempotent(subject: Subject, bench: Bench) -> None:
    _discover(subject, bench)
    problems = []
    try:
        subject.enable(bench.execution)
        once, registered = bench.targets(), providers_since(bench.snapshot)
        subject.enable(bench.execution)
        twice = bench.targets()
        problems += [f"a second enable() registered another CacheProvider, {provider_label(p)}: ComfyUI calls both"
                     for p in providers_since(bench.snapshot) if not any(p is q for q in registered)]
        problems += [f"a second enable() replaced {n}: {describe(once[n])} -> {describe(twice[n])}" + (
            " (a second wrapper stacked on the first)" if once[n] in wraps_chain(twice[n]) else "")
            for n in once if twice[n] is not once[n]]
        states = []
        for attempt in ("first", "second"):
            try:
                subject.disable(bench.execution)
            except Exception as exc:
                problems.append(f"the {attempt} disable() raised {type(exc).__name__}: {exc}")
            states.append(bench.targets())
        problems += [f"a second disable() changed {n}: {describe(states[0][n])} -> {describe(states[1][n])}"
                     for n in states[0] if states[1][n] is not states[0][n]]
        bench.reset()
        subject.enable(bench.execution)
        if not hooks_held(bench):
            problems.append("enable() after disable() patched nothing: the hooks cannot be switched on again")
    finally:
        subject.quiet_disable(bench.execution)
    if problems:
        raise CheckFailed("enable/disable are not idempotent:\n  - " + "\n  - ".join(problems))


def check_no_crosstalk(subject: Subject, bench: Bench) -> None:
    _discover(subject, bench)
    t = subject.target
    threads = t.threads if bench.backend.name == "mock" or t.real_threads else 0
    skipped = {} if threads else {"c": "real ComfyUI runs one prompt at a time per process (set real_threads=true)"}
    subject.enable(bench.execution)
    try:
        with captured_reports() as reports:
            report = run_isolation(bench.harness, subject.functions["read"], bench.nodes.NODE_CLASS_MAPPINGS,
                                   threads=threads, repeats=t.repeats, skip_reasons=skipped)
        still = hooks_held(bench)
    finally:
        subject.quiet_disable(bench.execution)
    lines = [] if report.ok else [report.message()]
    if not still:
        lines.append("the hooks were gone after the run: they disabled themselves (an exception inside them?)")
    files = {os.path.realpath(file) for n, m in list(sys.modules.items())
             if subject.owns(n) and (file := getattr(m, "__file__", None))}
    errors = [r for r in reports if r.level >= logging.ERROR and os.path.realpath(r.file or "-") in files]
    if errors:
        lines.append("the hooks logged errors during the run: " + errors[0].text.splitlines()[0][:200])
    if lines:
        how = f"{t.threads} threads x {t.repeats} prompts" if threads else "sequential and interleaved prompts"
        raise CheckFailed(f"cross-talk or exceptions with {how}" + ("" if subject.functions["read"] else
                          f" (no {t.read or 'get_session'} to read captures: ComfyUI's results only)") +
                          ":\n" + "\n".join(lines))


def _run_given(bench: Bench, prompt: dict[str, Any], prompt_id: str) -> dict[str, Any]:
    """Runs ``prompt``; returns the very dict ``PromptExecutor.execute`` was given, after the run."""
    harness = bench.harness()
    executor = harness.executor
    given: dict[str, dict[str, Any]] = {}

    def execute(prompt: dict[str, Any], *args: Any) -> Any:  # on the instance: whatever the class holds still runs
        given["prompt"] = prompt
        return type(executor).execute(executor, prompt, *args)

    executor.execute = execute
    try:
        harness.run(prompt, prompt_id=prompt_id)
    finally:
        del executor.execute
    return given["prompt"]


def check_never_mutates_prompt(subject: Subject, bench: Bench) -> None:
    prompt = CanaryPlan(bench.nodes.NODE_CLASS_MAPPINGS, 4243).build(0, "mutation", DEFAULT_TEMPLATE, branch=True)[0]
    before = _run_given(bench, prompt, "conformance-mutation")
    subject.enable(bench.execution)
    try:
        after = _run_given(bench, prompt, "conformance-mutation")
    finally:
        subject.quiet_disable(bench.execution)
    changes = diff(before, after, "prompt")
    if changes:
        raise CheckFailed("the hooks mutated the prompt they were given (the dict passed to PromptExecutor.execute, "
                          "compared after the same run without them):\n  - " + "\n  - ".join(changes[:10]))


CHECKS: Final[dict[str, tuple[str, Callable[[Subject, Bench], None]]]] = {
    "hooks_active": ("the hooks reach targets this executor has, run during a prompt, and are the kind of function "
                     "they replace (async def for an async target)", check_hooks_active),
    "off_by_default": ("opt-in only: importing the module (or auto-enabling without opt-in) patches nothing",
                       check_off_by_default),
    "conflict_detection": ("conflict detection: refuse, record why and touch nothing when another extension "
                           "wrapped a target first", check_conflict_detection),
    "exception_auto_disables": ("an exception inside a hook disables the hooks, is logged, the original is still "
                                "called and the prompt's result is unchanged", check_exception_auto_disables),
    "teardown_restores_originals": ("teardown restores the exact original functions", check_teardown_restores),
    "idempotent": ("enable() and disable() are idempotent", check_idempotent),
    "no_crosstalk": ("per-prompt isolation: no cross-talk and no exception, also with 8 threads x 100 prompts",
                     check_no_crosstalk),
    "never_mutates_prompt": ("hooks never mutate the prompt they are given", check_never_mutates_prompt),
}


def run_check(name: str, target: ConformanceTarget, open_bench: Callable[[], Bench]) -> None:
    """Runs one check on a fresh bench from ``open_bench``; raises ``CheckFailed`` naming the principle."""
    principle, check = CHECKS[name]
    bench = open_bench()  # first: what the module patches on import is undone too
    subject = None
    try:
        subject = Subject.load(target)
        check(subject, bench)
    except CheckFailed as exc:
        raise CheckFailed(f"{target.module} breaks the principle \"{principle}\" ({bench.label}):\n{exc}") from None
    finally:
        if subject is not None:
            subject.quiet_disable(bench.execution)
        bench.close()


__all__ = ["Bench", "CHECKS", "CheckFailed", "CheckSkipped", "ConformanceTarget", "InjectedFault", "MARK",
           "PoisonStr", "Subject", "call_hook", "run_check"]
