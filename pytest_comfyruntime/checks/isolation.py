"""``assert_session_isolation``: does what an extension captured for one prompt hold another's?

Every prompt gets canaries nobody else has (:mod:`.canaries`). Prompts then run (a) one after
another on one executor, alternating a full graph and one that lacks two of its nodes (stale
state), then two prompts in the same millisecond (``time.time`` held still, as on a fast
machine), (b) on one executor with runs and reads interleaved, each prompt read only after the
next one ran, and (c) concurrently on N executors in N threads, each thread yielding the
interpreter whenever ComfyUI announces a node (so prompts of several threads are inside the hooks
at once even on the eras whose prompts never wait). Whatever ``read_capture(prompt_id)`` returns
is searched for canaries (:func:`~.canaries.scan`): one of another prompt is a leak, none of its
own means its data is missing. Each problem names the prompt, the field and the prompt the value
came from.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from ..executor.harness import ExecutorHarness
from .canaries import (
    DEFAULT_TEMPLATE,
    MODE_TEXT,
    CanaryPlan,
    IsolationReport,
    Origin,
    Problem,
    ReadCapture,
    _Planned,
    scan,
    walk,
)

HarnessFactory = Callable[[bool], ExecutorHarness]  # argument: a server of its own (for a thread)


# -- running the modes -------------------------------------------------------------------------
_RETRIES: Final = 20  # the progress-registry race can strike the same prompt again under load


@contextmanager
def _same_millisecond() -> Iterator[None]:
    """``time.time()`` / ``time.time_ns()`` stand still: what a fast machine does to two prompts."""
    now_ns = time.time_ns() + 1_000_000_000  # a millisecond no earlier prompt had
    now = now_ns / 1e9
    saved = time.time, time.time_ns
    time.time, time.time_ns = (lambda: now), (lambda: now_ns)
    try:
        yield
    finally:
        time.time, time.time_ns = saved


def _yield_at_each_node(server: Any) -> None:
    """Makes a mode (c) thread give up the interpreter whenever ComfyUI announces the next node
    (``executing``), so prompts of several threads are inside the hooks at once at node
    boundaries. Without it a thread keeps the GIL for 5 ms, longer than a whole prompt of eras A
    and B on the mock (a few hundred microseconds), and a module-level "current prompt" in the
    hooks went unseen there. ``server`` is the thread's own, made for this check."""
    send = server.send_sync

    def send_sync(event: Any, *args: Any, **kwargs: Any) -> Any:
        if event == "executing":
            time.sleep(0)
        return send(event, *args, **kwargs)
    server.send_sync = send_sync


def _progress_race(failure: Any) -> bool:
    """ComfyUI's own race, not the hook's: ``comfy_execution.progress.global_progress_registry``
    is process-wide (eras C, D), so with executors in several threads one iterates its ``nodes``
    while another adds to them ("dictionary changed size during iteration")."""
    if isinstance(failure, RuntimeError) and "changed size during iteration" in str(failure):
        tb = failure.__traceback__
        while tb is not None:
            if tb.tb_frame.f_globals.get("__name__") == "comfy_execution.progress":
                return True
            tb = tb.tb_next
    if isinstance(failure, dict):
        return ("changed size during iteration" in str(failure.get("exception_message"))
                and any("progress.py" in line for line in failure.get("traceback") or []))
    return False


@dataclass
class _Runner:
    plan: CanaryPlan
    read: ReadCapture | None
    report: IsolationReport
    make_harness: HarnessFactory
    max_problems: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def full(self) -> bool:
        return self.report.stopped

    def add(self, problems: list[Problem]) -> None:
        with self.lock:
            room = self.max_problems - len(self.report.problems)
            self.report.problems.extend(problems[:max(room, 0)])
            if len(problems) >= room:
                self.report.stopped = len(problems) > room or len(self.report.problems) >= self.max_problems

    def run(self, harness: ExecutorHarness, planned: _Planned, headless: bool = False) -> None:
        for attempt in range(_RETRIES + 1):
            try:
                result = harness.run(planned.prompt, prompt_id=planned.prompt_id, extra_data={} if headless else None)
            except Exception as exc:
                if attempt < _RETRIES and _progress_race(exc):
                    self._retried()
                    harness = self.make_harness(True)  # a fresh executor: nothing cached from the failed try
                    continue
                self.add([Problem(prompt_id=planned.prompt_id, mode=planned.mode, kind="run error",
                                  value=f"{type(exc).__name__}: {exc}")])
                return
            if result.success or attempt == _RETRIES or not _progress_race(result.error):
                break
            self._retried()
            harness = self.make_harness(True)
        if not result.success:
            self.add([Problem(prompt_id=planned.prompt_id, mode=planned.mode, kind="run error",
                              value=f"ComfyUI reported {result.error}")])
            return
        for node_id, value in planned.expected.items():
            got = result.outputs.get(node_id, {}).get("value")
            if got != value:
                self.add([Problem(prompt_id=planned.prompt_id, mode=planned.mode, kind="wrong result",
                                  value=f"ComfyUI's output of node {node_id} is {got!r}, expected {value!r}")])

    def _retried(self) -> None:
        with self.lock:
            self.report.retried += 1

    def check(self, planned: _Planned) -> None:
        if self.read is None:
            return
        try:
            data = self.read(planned.prompt_id)
        except Exception as exc:
            self.add([Problem(prompt_id=planned.prompt_id, mode=planned.mode, kind="read error",
                              value=f"read_capture raised {type(exc).__name__}: {exc}")])
            return
        self.add(scan(self.plan, planned, data))


def _plans(plan: CanaryPlan, templates: Sequence[Mapping[str, Any]], mode: str, start: int, count: int,
           *, stale: bool, label: str) -> list[_Planned]:
    out = []
    for i in range(count):
        g = start + i
        prompt_id = f"iso-{mode}-{g:05d}-{plan.salt}"
        full = not stale or i % 2 == 0
        prompt, expected = plan.build(g, prompt_id, templates[i % len(templates)], branch=full)
        n = len(templates[i % len(templates)])
        out.append(_Planned(prompt_id, label, g, prompt, expected, set() if full else {n + 3, n + 4}))
    return out


def run_isolation(make_harness: HarnessFactory, read_capture: ReadCapture | None, node_classes: Mapping[str, type], *,
                  prompts: Sequence[Mapping[str, Any]] | None = None, threads: int = 4, repeats: int = 4,
                  modes: str = "abc", skip_reasons: Mapping[str, str] | None = None,
                  salt: int | None = None, max_problems: int = 200) -> IsolationReport:
    """Runs the modes in ``modes`` and returns what went wrong (see the module docstring)."""
    plan = CanaryPlan(node_classes, salt)
    templates = list(prompts) if prompts else [DEFAULT_TEMPLATE]
    report = IsolationReport(skipped=dict(skip_reasons or {}))
    runner = _Runner(plan, read_capture, report, make_harness, max_problems)
    start = 0
    if "a" in modes:
        harness = make_harness(False)
        batch = _plans(plan, templates, "a", start, max(2, repeats), stale=True, label=f"a: {MODE_TEXT['a']}")
        pair = _plans(plan, templates, "a", start + len(batch), 2, stale=False,
                      label=f"a: {MODE_TEXT['a']}, two prompts in the same millisecond")
        for planned in batch:
            if runner.full:
                break
            runner.run(harness, planned)
            runner.check(planned)
        with _same_millisecond():
            for planned in pair:
                if not runner.full:
                    runner.run(harness, planned)
                    runner.check(planned)
        report.prompts["a"], start = len(batch) + 2, start + len(batch) + 2
    if "b" in modes and not runner.full:
        harness = make_harness(False)
        batch = _plans(plan, templates, "b", start, max(2, repeats), stale=False, label=f"b: {MODE_TEXT['b']}")
        for i, planned in enumerate(batch):
            if runner.full:
                break
            runner.run(harness, planned, headless=i % 2 == 1)
            if i:
                runner.check(batch[i - 1])
        if not runner.full:
            runner.check(batch[-1])
        report.prompts["b"], start = len(batch), start + len(batch)
    if "c" in modes and threads > 0 and not runner.full:
        label = "c: " + MODE_TEXT["c"].format(threads=threads)
        batches = [_plans(plan, templates, "c", start + t * repeats, repeats, stale=False, label=f"{label}, thread {t + 1}")
                   for t in range(threads)]
        harnesses = [make_harness(True) for _ in range(threads)]
        for h in harnesses:
            _yield_at_each_node(h.server)
        barrier = threading.Barrier(threads)

        def work(t: int) -> None:
            for planned in batches[t]:
                if runner.full:
                    barrier.abort()
                    break
                try:  # every round starts together: prompts of several threads enter the hooks at once
                    barrier.wait(timeout=30)
                except threading.BrokenBarrierError:
                    pass
                try:
                    runner.run(harnesses[t], planned)
                    runner.check(planned)
                except Exception as exc:  # never lose a thread's verdict
                    runner.add([Problem(prompt_id=planned.prompt_id, mode=planned.mode, kind="check error",
                                        value=f"{type(exc).__name__}: {exc}")])

        workers = [threading.Thread(target=work, args=(t,), name=f"comfyruntime-isolation-{t}") for t in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        report.prompts["c"] = threads * repeats
        report.skipped.pop("c", None)
    return report


__all__ = ["CanaryPlan", "DEFAULT_TEMPLATE", "HarnessFactory", "IsolationReport", "MODE_TEXT", "Origin", "Problem",
           "ReadCapture", "run_isolation", "scan", "walk"]
