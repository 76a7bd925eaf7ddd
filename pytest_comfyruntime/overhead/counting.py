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
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, MappingProxyType
from typing import Any

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


# -- valgrind: machine instructions, in a child process --------------------------------------
_SUMMARY = re.compile(r"^summary:\s*(\d+)\s*$", re.MULTILINE)
_TRIGGER = re.compile(r"^desc: Trigger:\s*(.*)$", re.MULTILINE)
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
#: The child's exit statuses: set-up failed, and no executable memory for the client request.
_SETUP_FAILED, _NO_CLIENT_REQUEST = 2, 4


def fast_start() -> bool:
    """Whether the child can turn callgrind's instrumentation on itself (a client request in
    x86-64 machine code), so that its start-up and set-up run uninstrumented, about five times
    faster; elsewhere everything is instrumented (the region's count is the same either way)."""
    return sys.platform.startswith("linux") and platform.machine().lower() in ("x86_64", "amd64")


def valgrind_command(spec: Path, out_file: Path, *, fast: bool) -> list[str]:
    """The command that counts the child of ``spec`` under callgrind (``Ir`` only: no cache or
    branch simulation), dumping on entry to :data:`REGION_START` and :data:`REGION_END`;
    ``fast``: instrumentation off until the child turns it on (:func:`fast_start`)."""
    return ["valgrind", "--tool=callgrind", "-q", "--vgdb=no", f"--callgrind-out-file={out_file}",
            "--cache-sim=no", "--branch-sim=no", "--dump-line=no", f"--instr-atstart={'no' if fast else 'yes'}",
            f"--dump-before={REGION_START}", f"--dump-before={REGION_END}", sys.executable, "-m",
            "pytest_comfyruntime.overhead._count_child", str(spec)]


def child_environment(pythonpath: str = str(_PACKAGE_ROOT)) -> dict[str, str]:
    """A small, fixed environment for the child (the same on every run, so the count is too):
    ``PYTHONHASHSEED=0``, no bytecode files written, this package importable from ``pythonpath``,
    and (3.11+) the child's folder, whose name is random, not put on ``sys.path``."""
    env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "PYTHONSAFEPATH": "1",
           "PYTHONPATH": pythonpath}
    for name in ("HOME", "LD_LIBRARY_PATH"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _check_valgrind_args(era: str, workload: str, hooks: Sequence[str], sys_path: Sequence[str], prompts: int,
                         timeout_s: float) -> str:
    """The era's key (``"c"`` and ``"async"`` are ``"C"``); a :class:`CountingError` for a bad argument."""
    from ..executor.eras import ERAS, resolve_era
    from .workloads import BUNDLED, NAMES

    who = "count_with_valgrind"
    _check_counts(prompts, 0, who=who)
    try:
        key = resolve_era(era).key
    except (ValueError, AttributeError):
        raise CountingError(f"pytest-comfyruntime: {who}: era={era!r} is not a mock era; fix: use one of "
                            f"{', '.join(ERAS)}") from None
    if not isinstance(workload, str) or workload not in (*BUNDLED, "diffusers"):
        raise CountingError(f"pytest-comfyruntime: {who}: workload={workload!r} is not a bundled workload; fix: "
                            f"use one of {', '.join(NAMES)} (the child process makes its prompts by name)")
    if workload in _UNCOUNTABLE:
        raise CountingError(f"pytest-comfyruntime: {who}: workload={workload!r} {_UNCOUNTABLE[workload]}")
    for spec in ([hooks] if isinstance(hooks, str) else hooks):
        module, sep, attr = str(spec).partition(":")
        if isinstance(hooks, str) or not sep or not module.strip() or not attr.strip():
            raise CountingError(f"pytest-comfyruntime: {who}: hooks={hooks!r}: {spec!r} is not of the form "
                                "'package.module:function'; fix: pass a list of enable functions as "
                                "comfyruntime_hooks takes them, e.g. ['my_ext.hooks:enable']")
    if isinstance(sys_path, str):
        raise CountingError(f"pytest-comfyruntime: {who}: sys_path={sys_path!r} is a string; fix: pass a list of "
                            "folders, e.g. [str(tests_dir)]")
    if not (isinstance(timeout_s, (int, float)) and math.isfinite(timeout_s) and timeout_s > 0):
        raise CountingError(f"pytest-comfyruntime: {who}: timeout_s={timeout_s!r} is not a positive number of "
                            "seconds; fix: pass e.g. timeout_s=600")
    return key


def _write_spec(folder: Path, *, era: str, workload: str, hooks: Sequence[str], sys_path: Sequence[str],
                prompts: int, warmup: int, fast: bool) -> Path:
    """A fresh ``folder`` holding the child's ``spec.json`` (and, later, what the child writes)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    spec = folder / "spec.json"
    spec.write_text(json.dumps({"era": era, "workload": workload, "hooks": list(hooks),
                                "sys_path": [str(Path(p).resolve()) for p in sys_path], "prompts": prompts,
                                "warmup": warmup, "work_dir": _work_dir(folder), "start_instrumentation": fast}))
    return spec


def _as_seen_by_child(folder: Path, name: str) -> str:
    """``folder / name`` as the child names it: through ``/proc/self/cwd`` (the child runs in
    ``folder``) where there is one, so that the path is the same string on every run (a path's
    characters change how the dicts holding it probe, and so the count, a little)."""
    return f"/proc/self/cwd/{name}" if Path("/proc/self/cwd").is_dir() else str(folder / name)


def _work_dir(folder: Path) -> str:
    return _as_seen_by_child(folder, "work")


def _import_path(folder: Path) -> str:
    """Where the child imports this package from: ``folder/lib``, holding only a link to it. The
    package's parent folder (an extension's or this repository's checkout, where files come and
    go) would otherwise be listed by the import system, and what it holds shifts the heap, and so
    the count, a little. Without links, the parent folder itself."""
    lib = folder / "lib"
    try:
        lib.mkdir()
        (lib / "pytest_comfyruntime").symlink_to(_PACKAGE_ROOT / "pytest_comfyruntime", target_is_directory=True)
    except OSError:
        return str(_PACKAGE_ROOT)
    return _as_seen_by_child(folder, "lib")


def _start(spec: Path, fast: bool) -> subprocess.Popen[bytes]:
    folder = spec.parent
    with open(folder / "stdout", "wb") as out, open(folder / "stderr", "wb") as err:
        return subprocess.Popen(valgrind_command(Path(spec.name), folder / "callgrind.out", fast=fast), stdout=out,
                                stderr=err, stdin=subprocess.DEVNULL, env=child_environment(_import_path(folder)),
                                cwd=folder)


def _stop(children: Iterable[subprocess.Popen[bytes]]) -> None:
    """Kills the children still running (ours, by their process) and reaps them."""
    for child in children:
        if child.poll() is None:
            child.kill()
            child.wait()


def _run_children(specs: Mapping[str, Path], timeout_s: float, prompts: int, fast: bool) -> dict[str, int]:
    """Starts one child per spec, side by side; their exit statuses, by arm. Nothing is left
    running: when one fails the other is killed (its status is then negative), and on a timeout
    (a :class:`CountingError`) or an interruption all are."""
    children: dict[str, subprocess.Popen[bytes]] = {}
    deadline = time.monotonic() + timeout_s
    try:
        for arm, spec in specs.items():
            children[arm] = _start(spec, fast)
        while any(child.poll() is None for child in children.values()):
            if any(child.returncode not in (None, 0) for child in children.values()):
                break  # one failed: the other's count is of no use
            if time.monotonic() > deadline:
                raise CountingError(f"pytest-comfyruntime: count_with_valgrind: the counted children ran past "
                                    f"timeout_s={timeout_s:g} ({prompts} prompt{'s' if prompts != 1 else ''} per "
                                    "child under valgrind, which runs Python 50 to 100 times slower); fix: raise "
                                    "timeout_s or count fewer prompts")
            time.sleep(0.05)
    finally:
        _stop(children.values())
    return {arm: child.returncode for arm, child in children.items()}


def region_instructions(folder: Path, arm: str) -> int:
    """The instructions of the counted region: callgrind's second dump of the child in ``folder``
    (the first is everything before the region). A :class:`CountingError` saying what went wrong
    when the child failed or did not mark exactly one region."""
    tail = "\n".join(_child_lines(folder)[-15:])
    parts = sorted(folder.glob("callgrind.out.*"), key=lambda p: int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0)
    triggers = [_trigger(p) for p in parts]
    expected = [f"--dump-before={REGION_START}", f"--dump-before={REGION_END}"]
    if triggers != expected:
        raise CountingError(
            f"pytest-comfyruntime: count_with_valgrind: the {arm} child did not count one region (callgrind "
            f"dumped {triggers or 'nothing'}, expected {expected}); either it failed before the region, or the "
            f"workload or its hooks call os.{REGION_START}()/os.{REGION_END}(), which mark the region; "
            "fix: see the child's output below" + (f"\n{tail}" if tail else ""))
    match = _SUMMARY.search(parts[1].read_text(errors="replace"))
    if match is None:
        raise CountingError(f"pytest-comfyruntime: count_with_valgrind: no 'summary:' line in {parts[1].name} of "
                            f"the {arm} child; fix: use valgrind 3.15 or newer")
    return int(match.group(1))


def _trigger(part: Path) -> str:
    with open(part, errors="replace") as f:
        head = f.read(4096)
    match = _TRIGGER.search(head)
    return match.group(1).strip() if match else "?"


def _child_lines(folder: Path) -> list[str]:
    """What the child in ``folder`` wrote to stderr, without valgrind's own ``==pid==`` lines."""
    stderr = (folder / "stderr").read_text(errors="replace").strip()
    return [line for line in stderr.splitlines() if not line.startswith("==")]


def _child_failure(folder: Path, arm: str, returncode: int) -> CountingError:
    """The child's own message (a ``pytest-comfyruntime:`` line naming the setting and the fix)
    where it wrote one, else the end of what it printed."""
    lines = _child_lines(folder)
    own = [line for line in lines if line.startswith("pytest-comfyruntime:")]
    if own:
        hint = ("\n  (count_with_valgrind imports the hooks in a child process: pass the folders they import from "
                "as sys_path=)" if returncode == _SETUP_FAILED and "cannot import module" in own[0] else "")
        return CountingError("\n".join(own) + hint)
    text = "\n".join(lines[-15:]) or "(it printed nothing)"
    return CountingError(f"pytest-comfyruntime: count_with_valgrind: the {arm} child failed (exit status "
                         f"{returncode}); fix: see its output:\n{text}")


def count_with_valgrind(*, era: str, workload: str, hooks: Sequence[str], sys_path: Sequence[str] = (),
                        prompts: int = 20, timeout_s: float = 600) -> Counts:
    """Machine instructions per prompt of ``workload`` on the mock ComfyUI of ``era``, with the
    enable functions ``hooks`` (``'module:function'``, as ``comfyruntime_hooks`` takes them;
    ``sys_path``: folders to import them from) and without them, counted by valgrind's callgrind
    in two child processes run side by side.

    Each child sets ComfyUI up as a test does (the built-in node pack registered), runs 2 warm-up
    prompts, then counts ``prompts`` prompts with garbage collection off; only that region is
    counted. The children get a fixed environment (:func:`child_environment`, ``PYTHONHASHSEED=0``)
    and leave nothing behind. ``per_target`` is empty: valgrind counts totals only.
    """
    era = _check_valgrind_args(era, workload, hooks, sys_path, prompts, timeout_s)
    _require("valgrind")
    with tempfile.TemporaryDirectory(prefix="comfyruntime-count-") as tmp:
        folders = {"hooked": Path(tmp) / "on", "unhooked": Path(tmp) / "off"}
        fast = fast_start()
        while True:
            specs = {arm: _write_spec(folder, era=era, workload=workload, hooks=hooks if arm == "hooked" else (),
                                      sys_path=sys_path, prompts=prompts, warmup=2, fast=fast)
                     for arm, folder in folders.items()}
            returncodes = _run_children(specs, timeout_s, prompts, fast)
            if not (fast and _NO_CLIENT_REQUEST in returncodes.values()):
                break
            fast = False  # no executable memory for the client request: instrument from the start
        failed = [arm for arm, returncode in returncodes.items() if returncode > 0] or [
            arm for arm, returncode in returncodes.items() if returncode != 0]
        if failed:
            raise _child_failure(folders[failed[0]], failed[0], returncodes[failed[0]])
        on, off = (region_instructions(folders[arm], arm) for arm in ("hooked", "unhooked"))
    return _counts("valgrind", "machine instructions", prompts, on / prompts, off / prompts, {})


__all__ = ["REGION_END", "REGION_START", "TOOLS", "BytecodeCount", "CountingError", "child_environment",
           "count_available", "count_bytecode", "count_with_valgrind", "count_workload", "default_tool", "fast_start",
           "region_instructions", "valgrind_command"]
