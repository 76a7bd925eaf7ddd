"""The child process the valgrind counting mode counts: ``python -m
pytest_comfyruntime.overhead._count_child SPEC.json``.

It sets up the mock ComfyUI of the spec's era as a test does (``ComfyRuntime.open_test`` with the
built-in node pack and the spec's ``hooks`` enabled, as the ``comfyruntime_hooks`` setting would),
runs the warm-up prompts, then marks the counted region: ``os.getresuid()`` just before the
counted prompts and ``os.getresgid()`` just after them (callgrind dumps its counters on entering
those libc functions, see :mod:`.counting`). Garbage collection is off in the region, as it is
in the in-process counting mode. Every prompt must run every node (none answered from the cache)
and succeed; otherwise the child exits with status 3 and a ``pytest-comfyruntime:`` line saying
which prompt and why. A set-up failure (a hook that does not import, say) exits with status 2.
On success it prints one JSON line: ``prompts``, ``executed_nodes`` and ``region_s`` (the
region's wall time, for the benchmark).

The spec: ``era``, ``workload`` (a bundled name), ``hooks`` (``'module:function'`` enable specs),
``sys_path`` (folders put first on ``sys.path``), ``prompts``, ``warmup``, ``work_dir`` (an
empty folder for ComfyUI's folders) and ``start_instrumentation`` (callgrind runs with
``--instr-atstart=no``: the child turns instrumentation on just before the region). The counted prompts are ``0 .. prompts - 1``, the warm-up
ones ``prompts .. prompts + warmup - 1`` (as in the in-process mode).
"""
from __future__ import annotations

import gc
import json
import mmap
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

#: callgrind's client request "start instrumentation" (``VG_USERREQ_TOOL_BASE('C','T') + 4``).
START_INSTRUMENTATION = 0x43540004
#: x86-64 machine code of ``unsigned long request(unsigned long args[6])``: valgrind.h's client
#: request (the ``rol`` preamble, which leaves ``rdi`` as it was, then ``xchg rbx, rbx``); natively
#: it does nothing and returns 0.
_X86_64_REQUEST = bytes.fromhex("4889f8" "31d2" "48c1c703" "48c1c70d" "48c1c73d" "48c1c733" "4887db" "4889d0" "c3")


def start_instrumentation() -> None:
    """Tells callgrind (run with ``--instr-atstart=no``) to start instrumenting now: the set-up
    and the warm-up ran about five times faster without it. x86-64 only (the parent only asks
    for it there); exits with status 4 when executable memory cannot be had."""
    import ctypes

    try:
        page = mmap.mmap(-1, mmap.PAGESIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                         prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    except OSError as exc:
        _fail(4, f"counting child: cannot map executable memory for callgrind's client request ({exc}); the "
                 "parent counts again with instrumentation from the start")
    page.write(_X86_64_REQUEST)
    request = ctypes.CFUNCTYPE(ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong))(
        ctypes.addressof(ctypes.c_char.from_buffer(page)))
    request((ctypes.c_ulong * 6)(START_INSTRUMENTATION, 0, 0, 0, 0, 0))


def _fail(status: int, message: str) -> NoReturn:
    print(message if message.startswith("pytest-comfyruntime:") else f"pytest-comfyruntime: {message}",
          file=sys.stderr, flush=True)
    raise SystemExit(status)


def _read_spec(path: str) -> dict[str, Any]:
    try:
        spec: dict[str, Any] = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        _fail(2, f"counting child: cannot read its spec {path!r}: {exc}; fix: run it through count_with_valgrind")
    missing = {"era", "workload", "hooks", "sys_path", "prompts", "warmup", "work_dir"} - set(spec)
    if missing:
        _fail(2, f"counting child: spec {path!r} lacks {sorted(missing)}; fix: run it through count_with_valgrind")
    return spec


def _prompt_runner(spec: dict[str, Any]) -> tuple[Callable[[int], Any], Callable[[], None]]:
    """``run(i)`` (one prompt through the test's harness, its result returned) and ``close()``."""
    from ..config import ConfigError, Settings
    from ..nodes import TEST_NODE_CLASS_MAPPINGS, TEST_NODE_DISPLAY_NAME_MAPPINGS
    from ..runtime import ComfyRuntime, HookError
    from .workloads import WorkloadError, resolve_workload

    work = Path(spec["work_dir"])
    work.mkdir(parents=True, exist_ok=True)
    failure = None
    try:
        workload = resolve_workload(spec["workload"])
        runtime = ComfyRuntime(Settings(eras=(spec["era"],), hooks=tuple(spec["hooks"])), base_dir=work / "base")
        runtime.start()
        ctx = runtime.open_test(work / "comfyui", dict(TEST_NODE_CLASS_MAPPINGS),
                                dict(TEST_NODE_DISPLAY_NAME_MAPPINGS))
    except (ConfigError, HookError, WorkloadError, ValueError) as exc:
        failure = str(exc)
    if failure is not None:
        _fail(2, failure)
    if workload.nodes:
        ctx.registry.add_all(dict(workload.nodes))
    harness = ctx.harness()

    def run(i: int) -> Any:
        return harness.run(workload.make_prompt(i), prompt_id=f"count-{i}")

    def close() -> None:
        try:
            ctx.close()
        finally:
            ctx.check()
            runtime.stop()

    return run, close


def _check(results: list[tuple[int, Any]]) -> None:
    for i, result in results:
        if not result.success:
            error = result.error or {}
            _fail(3, f"counting child: prompt {i} failed at node {error.get('node_id')} ({error.get('node_type')}): "
                     f"{error.get('exception_type')}: {str(error.get('exception_message', '')).strip()}; fix: count "
                     "a workload that runs without error under these hooks")
        if not result.executed_nodes:
            _fail(3, f"counting child: prompt {i} was answered from ComfyUI's cache (no node ran); fix: use a "
                     "workload whose prompts differ with i")


def _count(run: Callable[[int], Any], prompts: int, warmup: int, fast: bool) -> tuple[list[tuple[int, Any]], float]:
    """The warm-up prompts, then the counted region: ``prompts`` prompts with the collector off;
    their results and the region's wall time (seconds, timed outside the markers)."""
    _check([(i, run(i)) for i in range(prompts, prompts + warmup)])
    results: list[tuple[int, Any]] = []
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    if fast:
        start_instrumentation()
    began = time.perf_counter()
    os.getresuid()  # region start: callgrind dumps (and so zeroes) on entering getresuid
    for i in range(prompts):
        results.append((i, run(i)))
    os.getresgid()  # region end: callgrind dumps the region on entering getresgid
    wall_s = time.perf_counter() - began
    if was_enabled:
        gc.enable()
    _check(results)
    return results, wall_s


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        _fail(2, "counting child: usage: python -m pytest_comfyruntime.overhead._count_child SPEC.json")
    spec = _read_spec(argv[0])
    if sys.path and sys.path[0] == os.getcwd():  # Python 3.10 ignores PYTHONSAFEPATH
        del sys.path[0]
    sys.path[:0] = [p for p in spec["sys_path"] if p not in sys.path]
    run, close = _prompt_runner(spec)
    failure = None
    try:
        results, wall_s = _count(run, int(spec["prompts"]), int(spec["warmup"]),
                                 bool(spec.get("start_instrumentation")))
    except Exception as exc:  # a prompt the harness refused, or an exception that escaped execute()
        failure = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    if failure is not None:
        _fail(3, f"counting child: a prompt raised {failure}; fix: count a workload that runs without error "
                 "under these hooks")
    close()
    print(json.dumps({"prompts": len(results), "executed_nodes": sum(len(r.executed_nodes) for _, r in results),
                      "region_s": wall_s}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
