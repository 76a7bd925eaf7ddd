"""Counting mode (pytest_comfyruntime.overhead.counting): instructions instead of time.

The sys.monitoring tests need Python 3.12+ and are skipped below it (they run under 3.12 with
``PYTHONPATH=. python3.12 -m pytest tests/test_ovh_counting.py``). The valgrind tests need
valgrind on PATH (``make test`` installs it) and count a tiny workload in child processes; the
rest runs everywhere.
"""
from __future__ import annotations

import asyncio
import dis
import gc
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from mockera import mock_era

from pytest_comfyruntime.overhead import counting
from pytest_comfyruntime.overhead.counting import (
    CountingError,
    count_available,
    count_bytecode,
    count_with_valgrind,
    count_workload,
    default_tool,
)

needs_monitoring = pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring needs Python 3.12+")
needs_valgrind = pytest.mark.skipif(count_available("valgrind") is not None,
                                    reason=f"valgrind counting: {count_available('valgrind')}")
PACKAGE_ROOT = Path(counting.__file__).resolve().parents[2]


# -- planted code: an original, and hooks of known extra work -------------------------------
def original(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def make_hook(k: int):
    """A wrapper that loops ``k`` times, then calls :func:`original`."""
    def hook(n: int) -> int:
        for _ in range(k):
            pass
        return original(n)
    return hook


async def async_original(n: int) -> int:
    await asyncio.sleep(0)
    total = 0
    for i in range(n):
        total += i
    await asyncio.sleep(0)
    return total


def make_async_hook(k: int):
    async def async_hook(n: int) -> int:
        for _ in range(k):
            pass
        result = await async_original(n)
        for _ in range(k):
            pass
        return result
    return async_hook


def raising_original(n: int) -> None:
    original(n)
    raise ValueError("planted")


def make_catching_hook(k: int):
    def catching_hook(n: int) -> None:
        for _ in range(k):
            pass
        try:
            raising_original(n)
        except ValueError:
            pass
        for _ in range(k):
            pass
    return catching_hook


def _loop_cost() -> int:
    """Bytecode instructions of one ``for _ in range(k): pass`` iteration (the loop's body)."""
    code = make_hook(1).__code__
    ops = [i.opname for i in dis.get_instructions(code)]
    start = ops.index("FOR_ITER")
    end = next(j for j in range(start, len(ops)) if ops[j].startswith("JUMP_BACKWARD"))
    return end - start + 1


def _per_call(hook, n: int, calls: int = 5) -> float:
    def run() -> None:
        for _ in range(calls):
            hook(n)
    count = count_bytecode(run, hook_codes={hook.__code__: "hook"}, excluded=[original.__code__])
    assert count.calls == {"hook": calls}
    per_call = count.per_call("hook")
    assert per_call is not None
    return per_call


# -- which tool, and what happens without it --------------------------------------------------
def test_missing_tools_say_what_to_do(monkeypatch, tmp_path):
    assert default_tool() == ("sys.monitoring" if sys.version_info >= (3, 12) else "valgrind")
    if sys.version_info < (3, 12):
        this = f"{sys.version_info[0]}.{sys.version_info[1]}"
        reason = count_available("sys.monitoring")
        assert reason == (f"needs Python 3.12+ (this is {this}); use tool='valgrind' (apt-get install valgrind) "
                          "or run on 3.12+")
        with pytest.raises(CountingError) as info:
            count_bytecode(lambda: None)
        assert str(info.value) == f"pytest-comfyruntime: counting mode, tool='sys.monitoring': {reason}"
        with pytest.raises(CountingError, match="needs Python 3.12"):
            count_workload(lambda i: None, hooks_on=lambda: None, hooks_off=lambda: None, prompts=1)
    else:
        assert count_available("sys.monitoring") is None
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no valgrind on PATH
    expected = ("valgrind not found on PATH; install it (apt-get install valgrind; `make test` does) or use "
                "Python 3.12+ for tool='sys.monitoring'")
    assert count_available("valgrind") == expected
    with pytest.raises(CountingError) as info:
        count_with_valgrind(era="D", workload="trivial", hooks=[])
    assert str(info.value) == f"pytest-comfyruntime: counting mode, tool='valgrind': {expected}"
    with pytest.raises(CountingError, match=r"tool='perf' is not a counting tool; fix: use one of 'sys.monitoring'"):
        count_available("perf")


@pytest.mark.parametrize("kwargs, expected", [
    ({"era": "Z"}, "era='Z' is not a mock era; fix: use one of A, B, C, D"),
    ({"workload": "nope"}, "workload='nope' is not a bundled workload; fix: use one of trivial"),
    ({"workload": "cpu_bound"}, "burns a fixed CPU *time*"),
    ({"hooks": "ext.hooks:enable"}, "hooks='ext.hooks:enable': 'ext.hooks:enable' is not of the form"),
    ({"hooks": ["ext.hooks"]}, "'ext.hooks' is not of the form 'package.module:function'"),
    ({"prompts": 0}, "prompts=0 is not a positive whole number"),
    ({"timeout_s": -1}, "timeout_s=-1 is not a positive number of seconds"),
    ({"sys_path": "/x"}, "sys_path='/x' is a string"),
])
def test_valgrind_bad_arguments(kwargs, expected):
    args = {"era": "D", "workload": "trivial", "hooks": [], **kwargs}
    with pytest.raises(CountingError) as info:
        count_with_valgrind(**args)
    assert str(info.value).startswith("pytest-comfyruntime: count_with_valgrind: ")
    assert expected in str(info.value) and "fix:" in str(info.value)


def test_region_must_be_marked_once(tmp_path):
    (tmp_path / "stderr").write_text("==1== a valgrind line\nTraceback ...\nImportError: boom\n")
    with pytest.raises(CountingError, match=r"(?s)the hooked child did not count one region \(callgrind "
                                            r"dumped nothing.*fix: see the child's output below\nTraceback"):
        counting.region_instructions(tmp_path, "hooked")
    for part, trigger in ((1, "getresuid"), (2, "getresgid"), (3, "getresuid")):
        (tmp_path / f"callgrind.out.{part}").write_text(
            f"# callgrind format\ndesc: Trigger: --dump-before={trigger}\nevents: Ir\nsummary: {part * 100}\n")
    with pytest.raises(CountingError, match="call os.getresuid"):  # the workload marked a second region
        counting.region_instructions(tmp_path, "hooked")
    (tmp_path / "callgrind.out.3").unlink()
    assert counting.region_instructions(tmp_path, "hooked") == 200


def test_child_runs_natively(tmp_path):
    """The child outside valgrind: the workload runs, the client request is a no-op, and a hook
    that cannot be imported is reported as the setting would be."""
    def child(hooks: list[str]) -> subprocess.CompletedProcess[str]:
        folder = tmp_path / f"run{len(hooks)}"
        folder.mkdir()
        spec = {"era": "D", "workload": "trivial", "hooks": hooks, "sys_path": [], "prompts": 2, "warmup": 1,
                "work_dir": str(folder / "work"), "start_instrumentation": counting.fast_start()}
        (folder / "spec.json").write_text(json.dumps(spec))
        env = {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT)}
        return subprocess.run([sys.executable, "-m", "pytest_comfyruntime.overhead._count_child", "spec.json"],
                              cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    done = child([])
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["prompts"] == 2 and result["executed_nodes"] >= 6  # 3 or 4 of the 4 nodes each time
    failed = child(["no_such_ext.hooks:enable"])
    assert failed.returncode == 2
    assert failed.stderr.startswith("pytest-comfyruntime: comfyruntime_hooks: cannot import module 'no_such_ext")


# -- sys.monitoring -------------------------------------------------------------------------
@needs_monitoring
def test_counts_are_exact_and_repeat():
    def straight() -> int:
        x = 1
        y = x + 2
        return y
    # every instruction but RESUME (function entry is the PY_START event, not an INSTRUCTION one)
    expected = sum(1 for i in dis.get_instructions(straight) if i.opname != "RESUME")
    assert count_bytecode(straight).total == expected
    hook = make_hook(50)
    counts = [count_bytecode(lambda: [hook(20) for _ in range(3)], hook_codes={hook.__code__: "hook"},
                             excluded=[original.__code__]) for _ in range(3)]
    assert counts[0] == counts[1] == counts[2]
    assert counts[0].calls == {"hook": 3} and counts[0].total > counts[0].per_label["hook"] > 0


@needs_monitoring
def test_planted_hook_is_charged_its_own_work_only():
    c = _loop_cost()
    assert 2 <= c <= 4
    base, more, most = (_per_call(make_hook(k), 10) for k in (100, 200, 300))
    assert more - base == most - more == 100 * c  # exactly K*c more per call
    assert base == pytest.approx(100 * c, abs=20)  # plus a few instructions of set-up and the call
    # the original's work is not the hook's: ten times more of it leaves the hook's figure alone
    assert _per_call(make_hook(100), 1000) == base


@needs_monitoring
def test_async_hook_excludes_the_awaited_original():
    hook = make_async_hook(100)

    def count(n: int) -> counting.BytecodeCount:
        return count_bytecode(lambda: asyncio.run(hook(n)), hook_codes={hook.__code__: "async_hook"},
                              excluded=[async_original.__code__])
    small, large = count(10), count(2000)
    assert small.calls == large.calls == {"async_hook": 1}  # resumed after each await, called once
    assert small.per_label == large.per_label  # the awaited original's loop is not charged
    assert small.per_label["async_hook"] == pytest.approx(200 * _loop_cost(), abs=30)
    assert large.total - small.total >= 1990 * 3  # but it is counted in the total


@needs_monitoring
def test_exception_through_the_original_keeps_the_stack_right():
    hook = make_catching_hook(100)

    def count(n: int) -> counting.BytecodeCount:
        return count_bytecode(lambda: hook(n), hook_codes={hook.__code__: "catching"},
                              excluded=[raising_original.__code__])
    small, large = count(5), count(500)
    assert small.per_label == large.per_label  # after the unwind, the hook's second loop is its own again
    assert small.per_label["catching"] == pytest.approx(200 * _loop_cost(), abs=40)


@needs_monitoring
@pytest.mark.parametrize("gc_enabled", [True, False])
def test_leaves_nothing_behind(gc_enabled):
    hook = make_hook(3)
    was = gc.isenabled()
    (gc.enable if gc_enabled else gc.disable)()
    try:
        seen = []
        count_bytecode(lambda: seen.append(gc.isenabled()), hook_codes={hook.__code__: "h"})
        assert seen == [False] and gc.isenabled() is gc_enabled
        with pytest.raises(ZeroDivisionError):
            count_bytecode(lambda: 1 / 0, hook_codes={hook.__code__: "h"}, excluded=[original.__code__])
        assert gc.isenabled() is gc_enabled
    finally:
        (gc.enable if was else gc.disable)()
    monitoring = sys.monitoring
    assert all(monitoring.get_tool(i) is None for i in (2, 3, 4, 5))
    assert monitoring.get_local_events(2, hook.__code__) == 0


@needs_monitoring
def test_no_free_tool_id_is_an_error():
    monitoring = sys.monitoring
    taken = [i for i in (2, 3, 4, 5) if monitoring.get_tool(i) is None]
    for i in taken:
        monitoring.use_tool_id(i, f"test holder {i}")
    try:
        with pytest.raises(CountingError, match=r"every sys.monitoring tool id it can use is taken .*fix: "):
            count_bytecode(lambda: None)
    finally:
        for i in taken:
            monitoring.free_tool_id(i)


@needs_monitoring
def test_count_workload_on_the_mock(tmp_path):
    """A hook on ``execution.get_input_data`` (called once per executed node) that loops K times:
    its figure per call is about K*c, and the delta per prompt is exactly what it was charged."""
    from pytest_comfyruntime.overhead.workloads import trivial_prompt

    k = 300
    with mock_era("D", tmp_path) as mock:
        execution = mock.execution
        unhooked = execution.get_input_data

        def get_input_data(*args, **kwargs):
            for _ in range(k):
                pass
            return unhooked(*args, **kwargs)

        state = {}
        order = []

        def switch(hook):
            execution.get_input_data = hook
            state["harness"] = mock.harness()  # a fresh executor per arm: the same prompts are not cached

        def run_prompt(i: int) -> None:
            order.append(i)
            assert state["harness"].run(trivial_prompt(i), prompt_id=f"p{i}").success

        def measure():
            order.clear()
            return count_workload(run_prompt, hooks_on=lambda: switch(get_input_data),
                                  hooks_off=lambda: switch(unhooked), prompts=3, warmup=1,
                                  hook_codes={get_input_data.__code__: "execution.get_input_data"},
                                  excluded=[unhooked.__code__])
        try:
            first = measure()
            assert order == [3, 3, 0, 0, 1, 1, 2, 2]  # warm-up, then counted: each index off, then on
            assert execution.get_input_data is get_input_data  # left on, as a test has the hooks
            again = measure()
        finally:
            execution.get_input_data = unhooked
    assert first == again
    assert (first.tool, first.unit, first.prompts) == ("sys.monitoring", "bytecode instructions", 3)
    per_call = first.per_target["execution.get_input_data"]
    assert per_call == pytest.approx(k * _loop_cost(), abs=30)
    # everything the hooked prompts ran more is the hook's: the delta is a whole number of its calls
    calls = first.delta_per_prompt * first.prompts / per_call
    assert calls == pytest.approx(round(calls), abs=1e-6) and round(calls) >= 3 * 3  # 3 or 4 nodes a prompt
    assert first.delta_pct == pytest.approx(first.delta_per_prompt / first.off_per_prompt * 100)


# -- valgrind ---------------------------------------------------------------------------------
PLANTED = """
def enable(execution):
    original = execution.get_input_data

    def get_input_data(*args, **kwargs):
        total = 0
        for i in range(3000):
            total += i
        return original(*args, **kwargs)

    execution.get_input_data = get_input_data
"""


@needs_valgrind
def test_valgrind_counts_the_region_stably(tmp_path):
    (tmp_path / "ovh_counting_planted.py").write_text(textwrap.dedent(PLANTED))
    runs = [count_with_valgrind(era="D", workload="trivial", hooks=["ovh_counting_planted:enable"],
                                sys_path=[str(tmp_path)], prompts=2, timeout_s=300) for _ in range(2)]
    first, second = runs
    assert (first.tool, first.unit, first.prompts, first.per_target) == ("valgrind", "machine instructions", 2, {})
    for arm in ("on_per_prompt", "off_per_prompt"):
        a, b = getattr(first, arm), getattr(second, arm)
        assert abs(a - b) / a < 0.001, (arm, a, b)
    # the region is the prompts only (Python's start-up alone is tens of millions)
    assert 100_000 < first.off_per_prompt < 20_000_000
    # 3 nodes run per prompt, 3000 loop iterations each: far more than the noise
    assert first.delta_per_prompt > 3 * 3000 * 20


@needs_valgrind
def test_valgrind_hook_that_cannot_be_imported(tmp_path):
    with pytest.raises(CountingError) as info:
        count_with_valgrind(era="D", workload="trivial", hooks=["ovh_counting_absent:enable"], prompts=1,
                            timeout_s=300)
    text = str(info.value)
    assert text.startswith("pytest-comfyruntime: comfyruntime_hooks: cannot import module 'ovh_counting_absent'")
    assert "pass the folders they import from as sys_path=" in text


@needs_valgrind
def test_valgrind_timeout_stops_the_children():
    with pytest.raises(CountingError) as info:
        count_with_valgrind(era="D", workload="trivial", hooks=[], prompts=1, timeout_s=0.5)
    assert str(info.value).startswith("pytest-comfyruntime: count_with_valgrind: the counted children ran past "
                                      "timeout_s=0.5 (1 prompt per child under valgrind")
    assert "fix: raise timeout_s or count fewer prompts" in str(info.value)
