"""Exact per-hook attribution without touching the hooks: an interpreter-level probe.

Nothing is wrapped or replaced. The probe watches code objects: the *hook* codes (what the
extension installed; each has a label, its target) and the *excluded* codes (the originals they
wrap). At every probe event the time since the previous event is charged to the innermost tracked
frame on the thread's stack, so a hook is charged for its own code and everything untracked it
calls, and not for the original it calls (nor for another target's hook further down, which is
charged to that target). A coroutine or generator frame leaves the stack when it suspends and
comes back when it resumes, so time spent awaiting other work is never charged.

Two engines: ``sys.monitoring`` (Python 3.12+; events only on the tracked code objects, so the
rest of the prompt runs untouched) and ``sys.setprofile`` (3.10 and 3.11; every call in the
thread passes through the probe). Either way the probe reads the clock when a callback starts and
again when it ends, and charges nobody for the time in between; what it cannot see, the cost of
getting into and out of a callback, is calibrated (:func:`calibrate`) as a residual per charged
interval and subtracted from every call. The extension sees the same functions, the same
``sys.getprofile()`` afterwards, and the same module attributes: the probe is invisible to it and
leaves nothing behind.
"""
from __future__ import annotations

import dis
import gc
import inspect
import statistics
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from types import CodeType, FrameType
from typing import Any, Final

Resolver = Callable[[FrameType], "str | None"]
Label = str

_RESUMABLE: Final = inspect.CO_COROUTINE | inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR
_clock = time.perf_counter_ns

#: Opcodes at which a 3.10 / 3.11 frame that returned to its caller is suspended, not finished.
_YIELD_OPS: Final = frozenset(dis.opmap[name] for name in ("YIELD_VALUE", "YIELD_FROM") if name in dis.opmap)


def engine_name() -> str:
    return "sys.monitoring" if sys.version_info >= (3, 12) else "sys.setprofile"


class ProbeError(RuntimeError):
    """The probe cannot run (no free ``sys.monitoring`` tool id)."""


class _Frame:
    __slots__ = ("acc", "code", "intervals", "label")

    def __init__(self, code: CodeType, label: str | None) -> None:
        self.code, self.label, self.acc, self.intervals = code, label, 0, 0


class _Thread:
    __slots__ = ("last", "stack")

    def __init__(self) -> None:
        self.stack: list[_Frame] = []
        self.last = 0


class Attribution:
    """What the probe measured: per label the exclusive nanoseconds of every finished call."""

    def __init__(self, hooks: Mapping[CodeType, Label | Resolver], excluded: Collection[CodeType],
                 residual_ns: float = 0.0) -> None:
        self.hooks = dict(hooks)
        self.excluded = frozenset(c for c in excluded if c not in self.hooks)
        self.tracked = frozenset(self.hooks) | self.excluded
        self.resumable = frozenset(c for c in self.tracked if c.co_flags & _RESUMABLE)
        self.residual_ns = residual_ns
        self.samples: dict[Label, list[int]] = {}
        self.totals: dict[Label, int] = {}
        self.events = 0
        self.callback_ns = 0
        self._threads: dict[int, _Thread] = {}
        self._suspended: dict[int, tuple[FrameType, _Frame]] = {}

    # -- bookkeeping shared by both engines ----------------------------------------------------
    def _thread(self) -> _Thread:
        ident = threading.get_ident()
        state = self._threads.get(ident)
        if state is None:
            state = self._threads[ident] = _Thread()
        return state

    def _label(self, code: CodeType, frame: FrameType | None) -> str | None:
        label = self.hooks.get(code)
        if label is None or isinstance(label, str):
            return label
        return label(frame) if frame is not None else None

    def enter(self, state: _Thread, code: CodeType, frame: FrameType | None) -> None:
        if frame is not None and code in self.resumable:
            held = self._suspended.pop(id(frame), None)
            if held is not None:
                state.stack.append(held[1])
                return
        state.stack.append(_Frame(code, self._label(code, frame)))

    def leave(self, state: _Thread, code: CodeType, frame: FrameType | None, final: bool) -> None:
        stack = state.stack
        if not stack or stack[-1].code is not code:
            return  # a frame that was running before the probe started
        record = stack.pop()
        if not final and frame is not None:
            self._suspended[id(frame)] = (frame, record)
            return
        if record.label is not None:
            ns = int(record.acc - self.residual_ns * record.intervals)
            self.samples.setdefault(record.label, []).append(ns)
            self.totals[record.label] = self.totals.get(record.label, 0) + ns

    def unfinished(self) -> int:
        """Hook calls that started under the probe and never finished (suspended and dropped)."""
        return sum(1 for _f, r in self._suspended.values() if r.label is not None)


# -- the engines ---------------------------------------------------------------------------
def _profile_engine(at: Attribution) -> tuple[Callable[[], None], Callable[[], None]]:
    tracked, resumable = at.tracked, at.resumable
    get_state = at._thread
    enter, leave = at.enter, at.leave
    previous: list[Any] = [None]

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        now = _clock()
        state = get_state()
        stack = state.stack
        if stack:
            top = stack[-1]
            top.acc += now - state.last
            top.intervals += 1
        at.events += 1
        code = frame.f_code
        if code in tracked:
            if event == "call":
                enter(state, code, frame)
            elif event == "return":
                final = True
                if code in resumable:
                    lasti = frame.f_lasti
                    raw = code.co_code
                    final = not (0 <= lasti < len(raw) and (raw[lasti] in _YIELD_OPS or (
                        lasti + 2 < len(raw) and raw[lasti + 2] in _YIELD_OPS)))
                leave(state, code, frame, final)
        chained = previous[0]
        if chained is not None:
            chained(frame, event, arg)
        end = _clock()
        at.callback_ns += end - now
        state.last = end

    def start() -> None:
        previous[0] = sys.getprofile()
        at._thread().last = _clock()
        sys.setprofile(profile)

    def stop() -> None:
        sys.setprofile(previous[0])

    return start, stop


def _free_tool_id() -> int:
    monitoring = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
    for tool in (monitoring.PROFILER_ID, 3, 4, monitoring.DEBUGGER_ID):
        if monitoring.get_tool(tool) is None:
            return int(tool)
    raise ProbeError("every sys.monitoring tool id this probe may use (2, 3, 4, 0) is taken by another tool "
                     "(a debugger, profiler or coverage); fix: run the overhead measurement without them")


def _monitoring_engine(at: Attribution) -> tuple[Callable[[], None], Callable[[], None]]:
    monitoring = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
    events = monitoring.events
    tracked, resumable = at.tracked, at.resumable
    need_frame = resumable | frozenset(c for c, v in at.hooks.items() if not isinstance(v, str))
    get_state = at._thread
    enter, leave = at.enter, at.leave
    getframe = sys._getframe
    tool_box: list[int] = []

    def charge(state: _Thread, now: int) -> None:
        stack = state.stack
        if stack:
            top = stack[-1]
            top.acc += now - state.last
            top.intervals += 1
        at.events += 1

    def on_enter(code: CodeType, offset: int, *rest: Any, depth: int = 1) -> None:
        now = _clock()
        state = get_state()
        charge(state, now)
        enter(state, code, getframe(depth) if code in need_frame else None)
        end = _clock()
        at.callback_ns += end - now
        state.last = end

    def on_exit(code: CodeType, offset: int, *rest: Any, final: bool = True, depth: int = 1) -> None:
        now = _clock()
        state = get_state()
        charge(state, now)
        leave(state, code, getframe(depth) if code in resumable else None, final)
        end = _clock()
        at.callback_ns += end - now
        state.last = end

    def on_yield(code: CodeType, offset: int, value: Any) -> None:
        on_exit(code, offset, final=False, depth=2)

    def on_unwind(code: CodeType, offset: int, exc: BaseException) -> None:
        if code in tracked:
            on_exit(code, offset, depth=2)

    def on_throw(code: CodeType, offset: int, exc: BaseException) -> None:
        if code in tracked:
            on_enter(code, offset, depth=2)

    local = events.PY_START | events.PY_RESUME | events.PY_RETURN | events.PY_YIELD
    callbacks = {events.PY_START: on_enter, events.PY_RESUME: on_enter, events.PY_RETURN: on_exit,
                 events.PY_YIELD: on_yield, events.PY_UNWIND: on_unwind, events.PY_THROW: on_throw}

    def start() -> None:
        tool = _free_tool_id()
        monitoring.use_tool_id(tool, "pytest-comfyruntime overhead probe")
        tool_box.append(tool)
        for event, callback in callbacks.items():
            monitoring.register_callback(tool, event, callback)
        for code in tracked:
            monitoring.set_local_events(tool, code, local)
        monitoring.set_events(tool, events.PY_UNWIND | events.PY_THROW)
        at._thread().last = _clock()

    def stop() -> None:
        if not tool_box:
            return
        tool = tool_box.pop()
        monitoring.set_events(tool, 0)
        for code in tracked:
            monitoring.set_local_events(tool, code, 0)
        for event in callbacks:
            monitoring.register_callback(tool, event, None)
        monitoring.free_tool_id(tool)

    return start, stop


@contextmanager
def probing(at: Attribution) -> Iterator[Attribution]:
    """Runs the probe for the duration of the block, on this thread (and, with
    ``sys.monitoring``, every thread)."""
    start, stop = _monitoring_engine(at) if sys.version_info >= (3, 12) else _profile_engine(at)
    start()
    try:
        yield at
    finally:
        stop()


# -- calibration ---------------------------------------------------------------------------
def _calib_original() -> None:
    return None


def _calib_hook() -> None:
    return _calib_original()


def _loop_ns(fn: Callable[[], None], calls: int) -> int:
    start = _clock()
    for _ in range(calls):
        fn()
    return _clock() - start


def calibrate(*, calls: int = 4000, trials: int = 7) -> tuple[float, float]:
    """``(residual_ns, callback_ns)``: the probe's cost left inside each charged interval, and
    its median cost per callback, measured on a hook that does nothing but call its original.

    The hook's true exclusive cost is timed without the probe (a loop of hook calls minus a loop
    of original calls); under the probe its median call is charged that plus one residual per
    interval (two per call: before and after the original). Garbage collection is off while it
    runs; medians over ``trials``."""
    hook_code, original_code = _calib_hook.__code__, _calib_original.__code__
    residuals: list[float] = []
    callbacks: list[float] = []
    collecting = gc.isenabled()
    gc.collect()
    gc.disable()  # a collection pause inside one trial would be charged as probe cost
    try:
        for _ in range(trials):
            true_ns = (_loop_ns(_calib_hook, calls) - _loop_ns(_calib_original, calls)) / calls
            at = Attribution({hook_code: "calibration"}, [original_code])
            with probing(at):
                for _ in range(calls):
                    _calib_hook()
            charged = at.samples.get("calibration", [])
            if not charged:
                continue
            # the median call: a call preempted by the machine's other work says nothing of the probe
            residuals.append((statistics.median(charged) - true_ns) / 2)
            callbacks.append(at.callback_ns / max(at.events, 1))
    finally:
        if collecting:
            gc.enable()
    if not residuals:
        return 0.0, 0.0
    return max(0.0, statistics.median(residuals)), statistics.median(callbacks)


__all__ = ["Attribution", "ProbeError", "Resolver", "calibrate", "engine_name", "probing"]
