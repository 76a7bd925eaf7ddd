"""Microseconds per prompt on the mock executor of each era, and what importing the plugin loads.

    make bench        (or: .venv/bin/python benchmarks/bench_mock_executor.py [--repeat N])

For each era and graph it times ``PromptExecutor.execute`` (as ``main.py`` calls it) on prompts
whose constants change every run, so every node executes (no cache hits), plus an identical
rerun (all cached) and the full ``ExecutorHarness.run`` path (validation, queue, history).
Each figure is the median over ``--repeat`` batches of the mean of one batch; the spread is the
min-max of the batch means. Run side by side in one process, so ratios between rows are fair;
absolute numbers move with the machine's load.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_comfyruntime.executor.eras import ERAS
from pytest_comfyruntime.executor.harness import ExecutorHarness
from pytest_comfyruntime.executor.registry import NodeRegistry
from pytest_comfyruntime.executor.standin import StandIn
from pytest_comfyruntime.nodes import TEST_NODE_CLASS_MAPPINGS

BUDGET_US = 50.0  # issue 4: a 4-node prompt in at most 50 us on this machine


def four_node(i: int) -> dict:
    return {"1": {"class_type": "CRInt", "inputs": {"value": i}},
            "2": {"class_type": "CRInt", "inputs": {"value": i + 1}},
            "3": {"class_type": "CRAdd", "inputs": {"a": ["1", 0], "b": ["2", 0]}},
            "4": {"class_type": "CRRecord", "inputs": {"value": ["3", 0], "label": "sum"}}}


def chain(i: int, n: int = 100) -> dict:
    prompt = {"1": {"class_type": "CRInt", "inputs": {"value": i}}}
    for k in range(2, n):
        prompt[str(k)] = {"class_type": "CRAdd", "inputs": {"a": [str(k - 1), 0], "b": 1}}
    prompt[str(n)] = {"class_type": "CRRecord", "inputs": {"value": [str(n - 1), 0], "label": ""}}
    return prompt


def batch_means(fn, batch: int, repeat: int) -> list[float]:
    """Microseconds per call of ``fn(i)`` (``i`` counting up), one mean per batch, after a warm-up."""
    fn(0)
    means = []
    counter = 1
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(batch):
            fn(counter)
            counter += 1
        means.append((time.perf_counter() - start) / batch * 1e6)
    return means


def measure(fn, batch: int, repeat: int) -> tuple[float, float, float]:
    means = batch_means(fn, batch, repeat)
    return statistics.median(means), min(means), max(means)


async def _nothing() -> None:
    return None


def _empty_loop(i: int) -> None:
    asyncio.run(_nothing())


def bench_era(key: str, repeat: int) -> list[tuple[str, float, float, float]]:
    standin = StandIn(ERAS[key])
    undo = standin.activate()
    rows = []
    try:
        execution = standin.import_core(tempfile.mkdtemp(prefix="comfyruntime-bench-"))
        import nodes
        import server
        registry = NodeRegistry(nodes)
        registry.add_all(TEST_NODE_CLASS_MAPPINGS)
        harness = ExecutorHarness(execution, server.PromptServer(None), era=key)
        executor = harness.executor
        prompts4 = [four_node(i) for i in range(4000)]
        prompts100 = [chain(i) for i in range(200)]
        same = four_node(7)

        no_client: dict = {}  # one dict for every call: nothing allocated inside the measured call

        def run4(i, extra=no_client):
            executor.execute(prompts4[i % 4000], "p", extra, ["4"])

        rows.append(("4-node, every node runs, no client", *measure(run4, 200, repeat)))
        rows.append(("4-node, every node runs, with client",
                     *measure(lambda i: run4(i, {"client_id": "c"}), 200, repeat)))
        rows.append(("4-node, identical rerun (all cached)",
                     *measure(lambda i: executor.execute(same, "p", {}, ["4"]), 200, repeat)))
        rows.append(("4-node, ExecutorHarness.run (server path)",
                     *measure(lambda i: harness.run(prompts4[i % 4000]), 100, repeat)))
        rows.append(("100-node chain, every node runs, no client",
                     *measure(lambda i: executor.execute(prompts100[i % 200], "p", {}, ["100"]), 10, repeat)))
        if key in ("C", "D"):  # execute() is asyncio.run(execute_async(...)), as in ComfyUI
            rows.append(("floor: asyncio.run of an empty coroutine", *measure(_empty_loop, 200, repeat)))
        registry.undo()
    finally:
        undo()
    return rows


def heavy_imports() -> list[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import pytest_comfyruntime.plugin"],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    names = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    roots = ("torch", "diffusers", "numpy", "PIL", "execution", "comfy", "comfy_execution", "nodes")
    return sorted(n for n in names if n.split(".")[0] in roots)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="batches per figure (default 15)")
    args = parser.parse_args()
    print(f"pytest-comfyruntime mock executor benchmark (python {sys.version.split()[0]}, "
          f"median of {args.repeat} batch means, us per prompt)")
    print(f"{'era':<4} {'case':<46} {'median':>9} {'min':>9} {'max':>9}")
    four = {}
    for key in sorted(ERAS):
        for case, med, lo, hi in bench_era(key, args.repeat):
            print(f"{key:<4} {case:<46} {med:9.1f} {lo:9.1f} {hi:9.1f}")
            if case.startswith("4-node, every node runs, no client"):
                four[key] = med
    for key, med in four.items():
        verdict = "within" if med <= BUDGET_US else "OVER"
        print(f"era {key}: 4-node prompt {med:.1f} us vs budget {BUDGET_US:.0f} us -> {verdict} budget")
    heavy = heavy_imports()
    print("import pytest_comfyruntime.plugin loads heavy modules:", ", ".join(heavy) if heavy else "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
