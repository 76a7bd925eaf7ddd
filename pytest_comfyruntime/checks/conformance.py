"""The conformance battery: any hook module with enable/disable, against the safety principles.

``comfyruntime_conformance = "my_ext.hooks"`` (or ``"my_ext.hooks:enable=start,disable=stop,
read=get_session"``) makes one test item per check in :data:`CHECKS` (see ``checks/plugin.py``).
Each check gets a clean ComfyUI (:class:`Bench`) and fails naming the principle and what broke
it. An exception inside a hook is provoked without knowing the hook: the prompt id and node ids
are :class:`PoisonStr` strings that raise :class:`InjectedFault` when the hook module's own code
hashes, compares, copies or formats them (ComfyUI's code, and the standard library it calls, sees
plain strings).
"""
from __future__ import annotations

import ast
import inspect
import io
import logging
import os
import sys
import sysconfig
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Final, Protocol

from pydantic import BaseModel, ConfigDict

from ..capture._targets import TARGETS, describe, wraps_chain
from ..executor.harness import ExecutorHarness, RunResult
from ..executor.hook_breaker import HookBreaker
from ..executor.standin import is_managed
from .hooks_active import PROBE_PROMPT, CallCounter, installed_since, provider_label, providers_since
from .hooks_active import check_hooks_active as hooks_active_report
from .isolation import DEFAULT_TEMPLATE, CanaryPlan, run_isolation
from .lookups import LookupTracer, Watched
from .residue import Residue, Snapshot

MARK: Final = "comfyruntime-injected-fault"
_STDLIB: Final = tuple({sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]})


class CheckFailed(AssertionError):
    """A principle is broken; the message says which and how."""


class CheckSkipped(Exception):
    """The check could not be made (the message says why)."""


class ConformanceTarget(BaseModel):
    """One ``comfyruntime_conformance`` entry: the hook module, its function names (None: the
    usual ones), and the size of the concurrent run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    module: str
    enable: str | None = None
    disable: str | None = None
    read: str | None = None
    auto: str | None = None
    threads: int = 8
    repeats: int = 100
    real_threads: bool = False


_CANDIDATES: Final = {"enable": ("enable_hooks", "enable"), "disable": ("disable_hooks", "disable"),
                      "read": ("get_session",), "auto": ("auto_enable", "auto_enable_from_env")}


def call_hook(fn: Callable[..., Any], execution: ModuleType) -> Any:
    """Calls an enable/disable function the way it asks: ``fn(execution)`` when it takes a
    positional argument, ``execution=`` or ``executor_class=`` by keyword, else ``fn()``."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return fn(execution)
    if any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params):
        return fn(execution)
    names = {p.name for p in params}
    if "execution" in names:
        return fn(execution=execution)
    return fn(executor_class=execution.PromptExecutor) if "executor_class" in names else fn()


@dataclass
class Subject:
    """The hook module under test, its functions, and where its wrappers' code lives."""

    target: ConformanceTarget
    module: ModuleType
    functions: dict[str, Callable[..., Any] | None]
    wrapper_modules: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, target: ConformanceTarget) -> Subject:
        import importlib

        try:
            module = importlib.import_module(target.module)
        except Exception as exc:
            raise CheckFailed(f"cannot import hook module {target.module!r}: {type(exc).__name__}: {exc}; fix: "
                              "install the extension (pip install -e .) or correct comfyruntime_conformance") from None
        found: dict[str, Callable[..., Any] | None] = {}
        for role, names in _CANDIDATES.items():
            chosen = getattr(target, role)
            fn = getattr(module, chosen, None) if chosen else next(
                (getattr(module, n) for n in names if callable(getattr(module, n, None))), None)
            if fn is None and (role in ("enable", "disable") or chosen):
                raise CheckFailed(f"hook module {target.module} has no {role} function (looked for "
                                  f"{chosen or ' or '.join(names)}); fix: name it, e.g. comfyruntime_conformance = "
                                  f"\"{target.module}:{role}=my_{role}\"")
            found[role] = fn
        return cls(target, module, found)

    @property
    def prefix(self) -> str:
        """Module-name prefix of the hook module's own code: its package (or itself)."""
        if hasattr(self.module, "__path__"):
            return self.module.__name__
        return self.module.__name__.rpartition(".")[0] or self.module.__name__

    def owns(self, module_name: str | None) -> bool:
        name = module_name or ""
        return any(name == p or name.startswith(p + ".") for p in (self.prefix, *self.wrapper_modules))

    def enable(self, execution: ModuleType) -> Any:
        return call_hook(self.functions["enable"], execution)  # type: ignore[arg-type]

    def disable(self, execution: ModuleType) -> Any:
        return call_hook(self.functions["disable"], execution)  # type: ignore[arg-type]

    def quiet_disable(self, execution: ModuleType) -> None:
        try:
            self.disable(execution)
        except Exception:
            pass


class Bench(Protocol):
    """A clean ComfyUI for one check (built by ``checks/plugin.py``): the backend's modules with
    the CR nodes registered, and the snapshot taken before the hook module was touched."""

    backend: Any
    execution: ModuleType
    nodes: ModuleType
    snapshot: Snapshot
    label: str
    hook_breaker: HookBreaker | None

    def harness(self, own_server: bool = False) -> ExecutorHarness: ...
    def left_behind(self) -> list[Residue]: ...
    def reset(self) -> None: ...
    def targets(self) -> dict[str, Any]: ...


# -- provoking an exception inside a hook, and hearing about it --------------------------------
class InjectedFault(Exception):
    """Raised by pytest-comfyruntime inside a hook, to check that the hook survives it."""


@dataclass
class _Scope:
    owns: Callable[[str | None], bool]
    raised: list[str] = field(default_factory=list)


_SCOPE: _Scope | None = None


def _trip() -> None:
    scope = _SCOPE
    if scope is None:
        return
    frame = sys._getframe(2)
    while frame is not None and (frame.f_globals.get("__name__") == __name__
                                 or frame.f_code.co_filename.startswith(_STDLIB)):
        frame = frame.f_back
    if frame is not None and scope.owns(frame.f_globals.get("__name__")):
        where = f"{Path(frame.f_code.co_filename).name}:{frame.f_lineno} in {frame.f_code.co_name}"
        scope.raised.append(where)
        raise InjectedFault(f"{MARK}: pytest-comfyruntime raised this inside the hook at {where}")


def _poisoned(name: str) -> Callable[..., Any]:
    plain = getattr(str, name)

    def method(self: str, *args: Any) -> Any:
        _trip()
        return plain(self, *args)
    return method


class PoisonStr(str):
    """A string that raises :class:`InjectedFault` when the hook module's code uses it."""

    __slots__ = ()
    __hash__ = _poisoned("__hash__")  # type: ignore[assignment]
    __eq__ = _poisoned("__eq__")  # type: ignore[assignment]
    __ne__ = _poisoned("__ne__")  # type: ignore[assignment]
    __str__ = _poisoned("__str__")  # type: ignore[assignment]
    __format__ = _poisoned("__format__")  # type: ignore[assignment]

    def __deepcopy__(self, memo: dict) -> PoisonStr:
        _trip()
        return self

    def __reduce_ex__(self, protocol: Any) -> Any:
        _trip()
        return (PoisonStr, (str.__str__(self),))


def poisoned(prompt: dict[str, Any]) -> dict[str, Any]:
    """``prompt`` with every node id (keys and links) a :class:`PoisonStr`."""
    ids = {nid: PoisonStr(nid) for nid in prompt}
    return {ids[nid]: {**node, "inputs": {k: [ids[v[0]], v[1]] if isinstance(v, list) and v and v[0] in ids else v
                                          for k, v in node["inputs"].items()}} for nid, node in prompt.items()}


@contextmanager
def armed(subject: Subject) -> Iterator[_Scope]:
    global _SCOPE
    _SCOPE = scope = _Scope(subject.owns)
    try:
        yield scope
    finally:
        _SCOPE = None


@dataclass(frozen=True)
class Report:
    """One thing the code said: a log record (with its level and source file), a printed line or a
    warning (level 0, no file)."""

    text: str
    level: int = 0
    file: str = ""


@contextmanager
def captured_reports() -> Iterator[list[Report]]:
    """Everything logged (any logger), printed or warned meanwhile."""
    reports: list[Report] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            reports.append(Report(self.format(record), record.levelno, record.pathname))

    handler = _Keep(logging.DEBUG)
    loggers = [logging.getLogger()] + [lg for lg in logging.root.manager.loggerDict.values()
                                        if isinstance(lg, logging.Logger) and not lg.propagate]
    for lg in loggers:
        lg.addHandler(handler)
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield reports
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
    reports += [Report(line) for line in out.getvalue().splitlines() + err.getvalue().splitlines()]
    reports += [Report(str(w.message)) for w in caught]


def summary(result: RunResult) -> dict[str, Any]:
    """A workflow's result, for comparing a run with and without the hooks."""
    error = result.error or {}
    return {"success": result.success, "outputs": result.outputs, "executed": result.executed_nodes,
            "error": {k: error.get(k) for k in ("node_id", "exception_type", "exception_message")} if error else None}


def diff(before: Any, after: Any, path: str = "") -> list[str]:
    """Readable differences between two JSON-like values."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = [f"{path}[{k!r}] added ({after[k]!r})" for k in after if k not in before]
        out += [f"{path}[{k!r}] removed (was {before[k]!r})" for k in before if k not in after]
        return out + [d for k in before if k in after for d in diff(before[k], after[k], f"{path}[{k!r}]")]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [d for i, (b, a) in enumerate(zip(before, after)) for d in diff(b, a, f"{path}[{i}]")]
    return [] if before == after and type(before) is type(after) else [f"{path or 'value'}: {before!r} -> {after!r}"]


def env_names(subject: Subject) -> set[str]:
    """Environment-variable-like constants (``MY_EXT_ENABLE_HOOKS``) in the hook module's source."""
    base = Path(getattr(subject.module, "__file__", "") or "")
    files = base.parent.rglob("*.py") if hasattr(subject.module, "__path__") else [base]
    names: set[str] = set()
    for file in files:
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        names |= {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                  and len(n.value) > 3 and "_" in n.value and n.value.isupper() and n.value.replace("_", "").isalnum()}
    return names


# -- the checks -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Found:
    """What ``enable()`` does to a clean ComfyUI: the names it patches and the CacheProviders it
    registers (ComfyUI of 2026)."""

    patched: list[str]
    providers: list[str]


@dataclass(frozen=True)
class Held:
    """What hooks hold in ComfyUI now: callables patched in (``where (wrapper)``) and
    CacheProviders registered; false when nothing; ``str`` is the phrase the checks report."""

    patched: list[str]
    registered: list[str]

    def __bool__(self) -> bool:
        return bool(self.patched or self.registered)

    def __str__(self) -> str:
        if not self.patched:
            return "registered " + ", ".join(self.registered)
        return "patched " + ", ".join([*self.patched, *(f"{p} (registered)" for p in self.registered)])


def hooks_held(bench: Bench) -> Held:
    return Held([f"{i.where} ({describe(i.value)})" for i in installed_since(bench.snapshot)],
                [provider_label(p) for p in providers_since(bench.snapshot)])


def _discover(subject: Subject, bench: Bench) -> Found:
    """What ``enable()`` patches and registers on a clean ComfyUI (put back afterwards)."""
    try:
        subject.enable(bench.execution)
        found = installed_since(bench.snapshot)
        installed = [i.where for i in found if not i.added]
        providers = providers_since(bench.snapshot)
        subject.wrapper_modules |= {m for i in found if (m := getattr(getattr(i.value, "__func__", i.value),
                                                                    "__module__", None)) and not is_managed(m)}
        subject.wrapper_modules |= {m for p in providers if not is_managed(m := type(p).__module__)}
        labels = [provider_label(p) for p in providers]
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


def _run(bench: Bench, prompt: dict, prompt_id: str) -> RunResult:
    return bench.harness().run(prompt, prompt_id=prompt_id)


def check_hooks_active(subject: Subject, bench: Bench) -> None:
    entry = f"{subject.module.__name__}:{subject.functions['enable'].__name__}"
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
    entry = f"{subject.module.__name__}:{subject.functions['enable'].__name__}"
    if returned is False and not any(c.returned_false and c.entry for c in report.observation.enable_calls):
        report.problems.insert(0, f"enabling returned False: {entry}")
    if not report.ok:
        raise CheckFailed(report.message())


def _import_afresh(subject: Subject, bench: Bench) -> Held:
    """What importing the hook module anew patches (the module objects in use are put back)."""
    import importlib

    name = subject.module.__name__
    mine = lambda n: n == name or n.startswith(name + ".")  # noqa: E731
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


def _foreign(original: Any, is_async: bool) -> Any:
    if is_async:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            return await original(*args, **kwargs)
    else:
        def wrapper(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            return original(*args, **kwargs)
    wrapper.__module__, wrapper.__qualname__ = "other_extension", "other_extension_wrapper"
    return wrapper


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
    files = {os.path.realpath(m.__file__) for n, m in list(sys.modules.items())
             if subject.owns(n) and getattr(m, "__file__", None)}
    errors = [r for r in reports if r.level >= logging.ERROR and os.path.realpath(r.file or "-") in files]
    if errors:
        lines.append("the hooks logged errors during the run: " + errors[0].text.splitlines()[0][:200])
    if lines:
        how = f"{t.threads} threads x {t.repeats} prompts" if threads else "sequential and interleaved prompts"
        raise CheckFailed(f"cross-talk or exceptions with {how}" + ("" if subject.functions["read"] else
                          f" (no {t.read or 'get_session'} to read captures: ComfyUI's results only)") +
                          ":\n" + "\n".join(lines))


def _run_given(bench: Bench, prompt: dict, prompt_id: str) -> dict:
    """Runs ``prompt``; returns the very dict ``PromptExecutor.execute`` was given, after the run."""
    harness = bench.harness()
    executor, given = harness.executor, {}

    def execute(prompt: dict, *args: Any) -> Any:  # on the instance: whatever the class holds still runs
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
    "hooks_active": ("the hooks reach targets this executor has and run during a prompt", check_hooks_active),
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



__all__ = ["Bench", "CHECKS", "CheckFailed", "CheckSkipped", "ConformanceTarget", "InjectedFault", "MARK",
           "PoisonStr", "Subject", "call_hook"]
