"""Counting mode: what the extension's hooks cost, in instructions rather than time.

Wall-clock figures move with the machine's load (shared CI runners are noisy), and hardware
instruction counters are not available on GitHub-hosted runners. Counting the instructions the
hooked and the unhooked workload execute gives the same figure on every run of the same commit,
on any machine of the same Python, and under pytest-xdist. Two tools count:

- ``sys.monitoring`` (Python 3.12+, in-process): Python *bytecode* instructions, from an
  ``INSTRUCTION`` event on every code object, with per-hook attribution. A hook is charged for
  its own instructions and for those of the (untracked) functions it calls, but not for the
  original function it wraps (an *excluded* code): instructions go to the innermost *tracked*
  frame (a hook's or an excluded code's) of the thread, kept by ``PY_START``/``PY_RESUME``/
  ``PY_RETURN``/``PY_YIELD`` local events on the tracked codes and global ``PY_UNWIND``/
  ``PY_THROW`` events (an ``async`` hook suspended at an ``await`` leaves the stack at
  ``PY_YIELD`` and comes back at ``PY_RESUME``). Garbage collection is off while counting.
- ``valgrind`` (any Python, Linux): *machine* instructions (callgrind's ``Ir``, no cache or
  branch simulation), totals only. The workload runs in a child process
  (:mod:`._count_child`) under ``valgrind --tool=callgrind``; the child marks the counted region
  by calling ``os.getresuid()`` just before it and ``os.getresgid()`` just after, and callgrind
  dumps its counters on entering those libc functions (``--dump-before=getresuid
  --dump-before=getresgid``), so the second dump holds exactly the region: no interpreter
  start-up, imports or set-up. On x86-64 the child also starts uninstrumented
  (``--instr-atstart=no``) and turns instrumentation on itself just before the region (callgrind's
  client request), which makes its start-up about five times faster. The hooked and the unhooked
  child run side by side, with ``PYTHONHASHSEED=0``, a fixed environment and paths that are the
  same string on every run: repeated counts agree within 0.001% on an unchanged checkout.

Every figure says which tool and unit it came from (:class:`~.models.Counts`).
"""
from __future__ import annotations

import gc
import importlib
import shutil
import sys
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from types import CodeType, MappingProxyType
from typing import TYPE_CHECKING, Any

from .models import Counts

#: The counting tools, by name.
TOOLS: tuple[str, ...] = ("sys.monitoring", "valgrind")
#: The libc functions whose entry marks the start and the end of the counted region (the child
#: calls them as ``os.getresuid()`` and ``os.getresgid()``; nothing else in a prompt does).
REGION_START, REGION_END = "getresuid", "getresgid"
#: The ``sys.monitoring`` tool ids tried, in order (PROFILER_ID first; 3 and 4 are unassigned).
_TOOL_IDS: tuple[int, ...] = (2, 3, 4, 5)
_TOOL_NAME = "pytest-comfyruntime counting"
_NO_CODES: Mapping[CodeType, str] = MappingProxyType({})
#: Workloads whose amount of work is not fixed: their instruction counts differ from run to run.
_UNCOUNTABLE = {
    "cpu_bound": "burns a fixed CPU *time* (CRBurn), not a fixed amount of work, so its instruction count "
                 "changes from run to run; fix: count trivial, chain_100 or txt2img",
    "diffusers": "runs torch under valgrind, which takes many minutes and counts torch's worker threads; fix: "
                 "count it with tool='sys.monitoring' (Python 3.12+) or measure it in wall mode",
}


class CountingError(RuntimeError):
    """Counting cannot run as asked; the message names the setting, the problem and the fix."""


# -- which tool --------------------------------------------------------------------------
def count_available(tool: str) -> str | None:
    """``None`` when ``tool`` can count here, else one line saying why not and what to do."""
    if tool == "sys.monitoring":
        if sys.version_info >= (3, 12):
            return None
        this = f"{sys.version_info[0]}.{sys.version_info[1]}"
        return (f"needs Python 3.12+ (this is {this}); use tool='valgrind' (apt-get install valgrind) "
                "or run on 3.12+")
    if tool == "valgrind":
        if shutil.which("valgrind") is not None:
            return None
        return ("valgrind not found on PATH; install it (apt-get install valgrind; `make test` does) "
                "or use Python 3.12+ for tool='sys.monitoring'")
    raise CountingError(f"pytest-comfyruntime: counting mode: tool={tool!r} is not a counting tool; "
                        f"fix: use one of {', '.join(repr(t) for t in TOOLS)}")


def default_tool() -> str:
    """``sys.monitoring`` on Python 3.12+ (in-process, per hook), else ``valgrind``."""
    return "sys.monitoring" if sys.version_info >= (3, 12) else "valgrind"


def _require(tool: str) -> None:
    reason = count_available(tool)
    if reason is not None:
        raise CountingError(f"pytest-comfyruntime: counting mode, tool={tool!r}: {reason}")


# -- sys.monitoring: bytecode instructions, in-process -------------------------------------
@dataclass(frozen=True)
class BytecodeCount:
    """One :func:`count_bytecode`: every bytecode instruction run, and each label's share."""

    total: int
    #: Instructions charged to each label (its hooks' own and what they called, minus the originals).
    per_label: dict[str, int] = field(default_factory=dict)
    #: Calls of each label: entries into its code from outside that label.
    calls: dict[str, int] = field(default_factory=dict)

    def per_call(self, label: str) -> float | None:
        """Instructions per call of ``label`` (``None`` when it was not called)."""
        calls = self.calls.get(label, 0)
        return self.per_label[label] / calls if calls else None


class _Attribution:
    """Per-thread stacks of tracked frames (``(code, label)``; label ``None`` for an excluded
    code). At every push and pop, the instructions counted since the previous one go to the label
    of the thread's innermost tracked frame, if it is a hook's."""

    def __init__(self, box: list[int], hook_codes: Mapping[CodeType, str], excluded: Collection[CodeType]) -> None:
        self.box = box
        self.labels: dict[CodeType, str | None] = {**dict.fromkeys(excluded), **hook_codes}
        self.stacks: dict[int, list[tuple[CodeType, str | None]]] = {}
        self.mark = 0
        names = sorted(set(hook_codes.values()))
        self.instructions = dict.fromkeys(names, 0)
        self.calls = dict.fromkeys(names, 0)

    def _stack(self) -> list[tuple[CodeType, str | None]]:
        ident = threading.get_ident()
        stack = self.stacks.get(ident)
        if stack is None:
            stack = self.stacks[ident] = []
        return stack

    def _flush(self, stack: list[tuple[CodeType, str | None]]) -> None:
        now = self.box[0]
        if stack:
            label = stack[-1][1]
            if label is not None:
                self.instructions[label] += now - self.mark
        self.mark = now

    def push(self, code: CodeType, *, call: bool = False) -> None:
        stack = self._stack()
        label = self.labels[code]
        if call and label is not None and (not stack or stack[-1][1] != label):
            self.calls[label] += 1
        self._flush(stack)
        stack.append((code, label))

    def pop(self, code: CodeType) -> None:
        stack = self._stack()
        if stack and stack[-1][0] is code:  # a frame entered before counting began has no entry
            self._flush(stack)
            stack.pop()

    def finish(self) -> None:
        """Charges what ran since the last push or pop (to a hook still running on this thread)."""
        self._flush(self._stack())

    # the callbacks, by event
    def on_start(self, code: CodeType, offset: int) -> None:
        self.push(code, call=True)

    def on_resume(self, code: CodeType, offset: int) -> None:
        self.push(code)

    def on_leave(self, code: CodeType, offset: int, value: object) -> None:  # PY_RETURN, PY_YIELD
        self.pop(code)

    def on_unwind(self, code: CodeType, offset: int, exc: BaseException) -> None:  # global: any code
        if code in self.labels:
            self.pop(code)

    def on_throw(self, code: CodeType, offset: int, exc: BaseException) -> None:  # global: any code
        if code in self.labels:
            self.push(code)


def _claim_tool_id() -> int:
    """A free ``sys.monitoring`` tool id, now ours (PROFILER_ID first)."""
    if sys.version_info < (3, 12):  # pragma: no cover - callers check first
        raise CountingError("pytest-comfyruntime: counting mode: sys.monitoring needs Python 3.12+")
    monitoring = sys.monitoring
    for tool_id in _TOOL_IDS:
        if monitoring.get_tool(tool_id) is None:
            try:
                monitoring.use_tool_id(tool_id, _TOOL_NAME)
            except ValueError:  # taken between the check and the claim
                continue
            return tool_id
    users = ", ".join(f"{i}: {monitoring.get_tool(i)!r}" for i in _TOOL_IDS)
    raise CountingError(f"pytest-comfyruntime: counting mode, tool='sys.monitoring': every sys.monitoring tool "
                        f"id it can use is taken ({users}); fix: run without the profiler or debugger that holds "
                        "them, or use tool='valgrind'")


def _instruction_counter(own: CodeType) -> tuple[list[int], Callable[[CodeType, int], None]]:
    """A one-item list and the INSTRUCTION callback that counts into it (skipping ``own``'s
    instructions: the counting frame's, around ``run()``)."""
    box = [0]

    def on_instruction(code: CodeType, offset: int) -> None:
        if code is not own:
            box[0] += 1

    return box, on_instruction


def _counted_call(run: Callable[[], object], tool_id: int, events: int) -> None:
    """``run()`` with the global events on (this frame's own instructions are not counted)."""
    if sys.version_info >= (3, 12):
        monitoring = sys.monitoring
        monitoring.set_events(tool_id, events)
        try:
            run()
        finally:
            monitoring.set_events(tool_id, 0)


def count_bytecode(run: Callable[[], object], *, hook_codes: Mapping[CodeType, str] = _NO_CODES,
                   excluded: Collection[CodeType] = ()) -> BytecodeCount:
    """Counts the bytecode instructions ``run()`` executes, in every code object and thread
    (Python 3.12+, ``sys.monitoring``).

    ``hook_codes`` maps the code of each hook to its label; ``excluded`` are the codes of the
    originals the hooks wrap. An instruction is charged to the label of the innermost tracked
    frame (hook or excluded) of its thread, when that is a hook's. Charging is exact while one
    thread runs Python code at a time (ComfyUI's executor runs a prompt on one thread); another
    thread's instructions interleaved with a hook's would be charged to it.

    Garbage is collected before and the collector is off during ``run()`` (restored after), so
    repeated counts of a deterministic ``run`` are identical. The tool id, events and callbacks
    are all released again, also when ``run`` raises (which propagates).
    """
    _require("sys.monitoring")
    if sys.version_info < (3, 12):  # pragma: no cover - _require raised
        raise AssertionError
    monitoring = sys.monitoring
    events = monitoring.events
    box, on_instruction = _instruction_counter(_counted_call.__code__)
    attribution = _Attribution(box, hook_codes, excluded)
    callbacks: dict[int, Callable[..., Any]] = {
        events.INSTRUCTION: on_instruction, events.PY_START: attribution.on_start,
        events.PY_RESUME: attribution.on_resume, events.PY_RETURN: attribution.on_leave,
        events.PY_YIELD: attribution.on_leave, events.PY_UNWIND: attribution.on_unwind,
        events.PY_THROW: attribution.on_throw}
    local = events.PY_START | events.PY_RESUME | events.PY_RETURN | events.PY_YIELD
    tool_id = _claim_tool_id()
    was_enabled = gc.isenabled()
    try:
        for event, callback in callbacks.items():
            monitoring.register_callback(tool_id, event, callback)
        for code in attribution.labels:
            monitoring.set_local_events(tool_id, code, local)
        gc.collect()
        gc.disable()
        _counted_call(run, tool_id, events.INSTRUCTION | events.PY_UNWIND | events.PY_THROW)
        attribution.finish()
    finally:
        if was_enabled:
            gc.enable()
        _release(tool_id, attribution.labels, callbacks)
    return BytecodeCount(box[0], dict(attribution.instructions), dict(attribution.calls))


def _release(tool_id: int, codes: Collection[CodeType], events: Collection[int]) -> None:
    """Turns every event of ``tool_id`` off, unregisters its callbacks and frees it."""
    if sys.version_info >= (3, 12):
        monitoring = sys.monitoring
        monitoring.set_events(tool_id, 0)
        for code in codes:
            monitoring.set_local_events(tool_id, code, 0)
        for event in events:
            monitoring.register_callback(tool_id, event, None)
        monitoring.free_tool_id(tool_id)


def _check_counts(prompts: int, warmup: int, *, who: str) -> None:
    if isinstance(prompts, bool) or not isinstance(prompts, int) or prompts < 1:
        raise CountingError(f"pytest-comfyruntime: {who}: prompts={prompts!r} is not a positive whole number; "
                            "fix: count at least 1 prompt (20 is the default)")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise CountingError(f"pytest-comfyruntime: {who}: warmup={warmup!r} is not a whole number >= 0; "
                            "fix: pass 0 or more warm-up prompts (2 is the default)")


def count_workload(run_prompt: Callable[[int], object], *, hooks_on: Callable[[], object],
                   hooks_off: Callable[[], object], prompts: int, warmup: int = 2,
                   hook_codes: Mapping[CodeType, str] = _NO_CODES,
                   excluded: Collection[CodeType] = ()) -> Counts:
    """Bytecode instructions per prompt with the hooks on and off (Python 3.12+).

    Both arms run the same prompt indices, alternating: ``warmup`` uncounted prompts ``prompts ..
    prompts + warmup - 1``, then the counted prompts ``0 .. prompts - 1``, each index first with the
    hooks off, then on, each counted on its own (:func:`count_bytecode`). ``hooks_off`` and
    ``hooks_on`` are called alternately, before every prompt (never the same one twice in a row),
    so that what a workload accumulates from prompt to prompt (saved images, history) weighs the
    same on both arms; the hooks are left on at the end, as a test has them, also when a prompt
    raises. Since each index runs twice, ``run_prompt`` must not answer the second run from
    ComfyUI's cache: ``hooks_on``/``hooks_off`` may start a fresh ``PromptExecutor``.
    ``per_target`` is the instructions per call of each label called during the hooked prompts
    (labels never called are left out).
    """
    _require("sys.monitoring")
    _check_counts(prompts, warmup, who="count_workload")
    totals = {False: 0, True: 0}
    per_label: dict[str, int] = {}
    calls: dict[str, int] = {}
    left_off = False
    try:
        for i in [*range(prompts, prompts + warmup), *range(prompts)]:
            counted = i < prompts
            for on in (False, True):
                left_off = not on
                (hooks_on if on else hooks_off)()
                if not counted:
                    run_prompt(i)
                    continue
                count = count_bytecode(_bind(run_prompt, i), hook_codes=hook_codes, excluded=excluded)
                totals[on] += count.total
                for label in count.per_label if on else ():
                    per_label[label] = per_label.get(label, 0) + count.per_label[label]
                    calls[label] = calls.get(label, 0) + count.calls[label]
    finally:
        if left_off:
            hooks_on()
    per_target = {label: per_label[label] / calls[label] for label in sorted(per_label) if calls[label]}
    return _counts("sys.monitoring", "bytecode instructions", prompts, totals[True] / prompts,
                   totals[False] / prompts, per_target)


def _bind(run_prompt: Callable[[int], object], i: int) -> Callable[[], object]:
    def run() -> object:
        return run_prompt(i)

    return run


def _counts(tool: str, unit: str, prompts: int, on: float, off: float, per_target: dict[str, float]) -> Counts:
    delta = on - off
    return Counts.model_validate({
        "tool": tool, "unit": unit, "prompts": prompts, "on_per_prompt": on, "off_per_prompt": off,
        "delta_per_prompt": delta, "delta_pct": delta / off * 100 if off else 0.0, "per_target": per_target})


# -- valgrind: machine instructions, in child processes (its own module; re-exported here) ---
_FROM_VALGRIND = frozenset({"child_environment", "count_with_valgrind", "fast_start", "region_instructions",
                            "valgrind_command"})
if TYPE_CHECKING:
    from .valgrind import child_environment, count_with_valgrind, fast_start, region_instructions, valgrind_command


def __getattr__(name: str) -> Any:
    """The valgrind tool's names, from :mod:`.valgrind` on first use (it imports this module)."""
    if name in _FROM_VALGRIND:  # through sys.modules, not the package's attribute (pytester may drop it)
        return getattr(importlib.import_module(".valgrind", __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["REGION_END", "REGION_START", "TOOLS", "BytecodeCount", "CountingError", "child_environment",
           "count_available", "count_bytecode", "count_with_valgrind", "count_workload", "default_tool", "fast_start",
           "region_instructions", "valgrind_command"]
