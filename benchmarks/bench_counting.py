"""Counting mode: how stable its figures are over repeated runs, and what counting costs.

    .venv/bin/python benchmarks/bench_counting.py [--runs 20] [--valgrind-runs 10] [--workload txt2img]
                                                  [--era D] [--prompts 5] [--only sys.monitoring|valgrind]
    python3.12 benchmarks/bench_counting.py        (PYTHONPATH=. where the package is not installed)

The workload runs on the mock ComfyUI with a planted hook on ``execution.get_input_data`` (a loop
of 1000 iterations per call), hooked and unhooked, as ``count_workload`` /
``count_with_valgrind`` count it: ``--runs`` runs of sys.monitoring, ``--valgrind-runs`` of valgrind
(fewer by default: each takes about 20 s). Each run is a fresh process (as separate CI jobs, or pytest-xdist
workers, are): for ``sys.monitoring`` (Python 3.12+) the interpreter's own random hash seed
included, for valgrind with the fixed environment the child gets. For each figure it prints min,
median, max and the spread (max - min) / median over the runs. The goal is a spread under 0.1%.

Then the cost of counting, per prompt: the wall time of a counted prompt against an uncounted
one (sys.monitoring: in-process, median over prompts; valgrind: the child's counted region under
callgrind against the same child run natively). Wall times move with the machine's load; the
counts do not.

On Python below 3.12 only valgrind runs (sys.monitoring is skipped, saying so); without valgrind
only sys.monitoring does.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_comfyruntime.overhead import counting  # noqa: E402

PLANTED_ITERATIONS = 1000
#: valgrind runs by default: fewer than --runs, each takes about 20 s (two children under callgrind).
VALGRIND_RUNS = 10
TARGET = "execution.get_input_data"


def planted_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    """The planted hook: ``PLANTED_ITERATIONS`` loop iterations, then the original."""
    def get_input_data(*args: Any, **kwargs: Any) -> Any:
        total = 0
        for i in range(PLANTED_ITERATIONS):
            total += i
        return original(*args, **kwargs)

    get_input_data.__wrapped__ = original  # type: ignore[attr-defined]
    return get_input_data


#: The same planted hook as an enable function, for valgrind's child (written to a folder of its own,
#: the same one for every run: what the import system lists there must not change between runs).
PLANTED_MODULE = f"""
def enable_planted(execution):
    original = execution.get_input_data

    def get_input_data(*args, **kwargs):
        total = 0
        for i in range({PLANTED_ITERATIONS}):
            total += i
        return original(*args, **kwargs)

    execution.get_input_data = get_input_data
"""


def spread_line(name: str, values: list[float]) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    pct = (high - low) / mid * 100 if mid else 0.0
    return f"  {name:<28} min {low:>14,.1f}  median {mid:>14,.1f}  max {high:>14,.1f}  spread {pct:.4f}%"


# -- sys.monitoring: one run, in this (fresh) process -------------------------------------------
def sysmon_once(era: str, workload: str, prompts: int, cost_prompts: int) -> dict[str, Any]:
    """``count_workload`` of the planted hook, then the cost of counting one prompt."""
    from pytest_comfyruntime.config import Settings
    from pytest_comfyruntime.nodes import TEST_NODE_CLASS_MAPPINGS, TEST_NODE_DISPLAY_NAME_MAPPINGS
    from pytest_comfyruntime.overhead.workloads import resolve_workload
    from pytest_comfyruntime.runtime import ComfyRuntime

    make_prompt = resolve_workload(workload).make_prompt
    with tempfile.TemporaryDirectory(prefix="bench-counting-") as tmp:
        runtime = ComfyRuntime(Settings(eras=(era,)), base_dir=Path(tmp) / "base")
        runtime.start()
        ctx = runtime.open_test(Path(tmp) / "comfyui", dict(TEST_NODE_CLASS_MAPPINGS),
                                dict(TEST_NODE_DISPLAY_NAME_MAPPINGS))
        execution = ctx.execution
        unhooked = execution.get_input_data
        hooked = planted_wrapper(unhooked)
        state: dict[str, Any] = {}

        def switch(fn: Callable[..., Any]) -> None:
            execution.get_input_data = fn
            state["harness"] = ctx.harness()  # a fresh executor per arm: the same prompts, none cached

        def run_prompt(i: int) -> None:
            if not state["harness"].run(make_prompt(i), prompt_id=f"p{i}").success:
                raise RuntimeError(f"prompt {i} failed")

        try:
            counts = counting.count_workload(run_prompt, hooks_on=lambda: switch(hooked),
                                             hooks_off=lambda: switch(unhooked), prompts=prompts,
                                             hook_codes={hooked.__code__: TARGET}, excluded=[unhooked.__code__])
            plain, counted = [], []
            for k in range(cost_prompts):  # indices not run before: every node runs
                began = time.perf_counter()
                run_prompt(1000 + k)
                plain.append(time.perf_counter() - began)
                began = time.perf_counter()
                counting.count_bytecode(lambda k=k: run_prompt(2000 + k), hook_codes={hooked.__code__: TARGET},
                                        excluded=[unhooked.__code__])
                counted.append(time.perf_counter() - began)
        finally:
            execution.get_input_data = unhooked
            ctx.close()
            ctx.check()
            runtime.stop()
    return {"counts": counts.model_dump(), "plain_s": statistics.median(plain),
            "counted_s": statistics.median(counted)}


def bench_sysmon(args: argparse.Namespace) -> None:
    print(f"sys.monitoring (bytecode instructions): {args.runs} runs, each a fresh process "
          f"(its own random hash seed), workload {args.workload!r}, era {args.era}, {args.prompts} prompts per arm")
    reason = counting.count_available("sys.monitoring")
    if reason is not None:
        print(f"  skipped: sys.monitoring {reason}")
        return
    runs = []
    started = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    for _ in range(args.runs):
        done = subprocess.run([sys.executable, __file__, "--sysmon-once", "--era", args.era, "--workload",
                               args.workload, "--prompts", str(args.prompts)],
                              capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise SystemExit(f"a sys.monitoring run failed:\n{done.stderr}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    counts = [r["counts"] for r in runs]
    for key in ("on_per_prompt", "off_per_prompt", "delta_per_prompt"):
        print(spread_line(key, [c[key] for c in counts]))
    print(spread_line(f"per call {TARGET}", [c["per_target"][TARGET] for c in counts]))
    plain = statistics.median(r["plain_s"] for r in runs)
    counted = statistics.median(r["counted_s"] for r in runs)
    print(f"  cost per prompt: {plain * 1e3:.2f} ms uncounted, {counted * 1e3:.2f} ms counted "
          f"({counted / plain:.1f}x; {counted - plain:.3f} s more); {time.perf_counter() - started:.0f} s for "
          f"the {args.runs} runs")


# -- valgrind -------------------------------------------------------------------------------------
def run_child(spec: dict[str, Any], folder: Path, *, under_valgrind: bool) -> dict[str, Any]:
    """The counting child, natively or under callgrind, as ``count_with_valgrind`` runs it."""
    folder.mkdir()
    (folder / "spec.json").write_text(json.dumps({**spec, "work_dir": str(folder / "work"),
                                                  "start_instrumentation": under_valgrind and counting.fast_start()}))
    command = (counting.valgrind_command(Path("spec.json"), folder / "callgrind.out", fast=counting.fast_start())
               if under_valgrind else
               [sys.executable, "-m", "pytest_comfyruntime.overhead._count_child", "spec.json"])
    done = subprocess.run(command, cwd=folder, env=counting.child_environment(), capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"the counting child failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bench_valgrind(args: argparse.Namespace, runs: int) -> None:
    fewer = f" (fewer than --runs {args.runs}: each takes about 20 s; --valgrind-runs N for more)" \
        if runs < args.runs else ""
    print(f"valgrind (machine instructions, callgrind Ir): {runs} runs of count_with_valgrind{fewer} (hooked and "
          f"unhooked child side by side), workload {args.workload!r}, era {args.era}, {args.prompts} prompts per arm; "
          "a checkout that changes between runs moves the counts a little")
    reason = counting.count_available("valgrind")
    if reason is not None:
        print(f"  skipped: {reason}")
        return
    hooks = ["bench_counting_planted:enable_planted"]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-counting-") as tmp:
        (Path(tmp) / "hooks").mkdir()
        (Path(tmp) / "hooks" / "bench_counting_planted.py").write_text(PLANTED_MODULE)
        sys_path = [str(Path(tmp) / "hooks")]
        started = time.perf_counter()
        for _ in range(runs):
            results.append(counting.count_with_valgrind(era=args.era, workload=args.workload, hooks=hooks,
                                                        sys_path=sys_path, prompts=args.prompts))
        elapsed = time.perf_counter() - started
        for key in ("on_per_prompt", "off_per_prompt", "delta_per_prompt"):
            print(spread_line(key, [getattr(r, key) for r in results]))
        spec = {"era": args.era, "workload": args.workload, "hooks": hooks, "sys_path": sys_path,
                "prompts": args.prompts, "warmup": 2}
        native = run_child(spec, Path(tmp) / "native", under_valgrind=False)
        counted = run_child(spec, Path(tmp) / "valgrind", under_valgrind=True)
    plain, slow = native["region_s"] / args.prompts, counted["region_s"] / args.prompts
    print(f"  cost per prompt: {plain * 1e3:.2f} ms uncounted, {slow * 1e3:.2f} ms counted under callgrind "
          f"({slow / plain:.0f}x); {elapsed / runs:.1f} s per count_with_valgrind call (start-up included), "
          f"{elapsed:.0f} s for the {runs} runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per tool (default 20)")
    parser.add_argument("--valgrind-runs", type=int, default=VALGRIND_RUNS,
                        help=f"runs of valgrind (default {VALGRIND_RUNS}: about 20 s each)")
    parser.add_argument("--workload", default="txt2img", help="a bundled workload (default txt2img)")
    parser.add_argument("--era", default="D", help="the mock era (default D)")
    parser.add_argument("--prompts", type=int, default=5, help="counted prompts per arm (default 5)")
    parser.add_argument("--cost-prompts", type=int, default=5, help=argparse.SUPPRESS)
    parser.add_argument("--sysmon-once", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=("sys.monitoring", "valgrind"), default=None, help="one tool only")
    args = parser.parse_args()
    if args.sysmon_once:
        print(json.dumps(sysmon_once(args.era, args.workload, args.prompts, args.cost_prompts)))
        return
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if args.only in (None, "sys.monitoring"):
        bench_sysmon(args)
    if args.only in (None, "valgrind"):
        bench_valgrind(args, args.valgrind_runs)


if __name__ == "__main__":
    main()
