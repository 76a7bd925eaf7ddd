"""Helpers of the real-ComfyUI tier (a module of its own: every ``conftest`` is imported under
the one name ``conftest``, so ``from conftest import`` would get whichever was imported last)."""
from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytest_comfyruntime.executor.harness import ExecutorHarness
from pytest_comfyruntime.nodes import TEST_NODE_CLASS_MAPPINGS


@contextmanager
def backend_harness(runtime, backend: str, extra_nodes: dict | None = None) -> Iterator[ExecutorHarness]:
    """A harness on one backend with the CR pack (and ``extra_nodes``); fails on residue."""
    with tempfile.TemporaryDirectory(prefix=f"comfyruntime-{backend}-") as tmp:
        ctx = runtime.open_test(Path(tmp), {**TEST_NODE_CLASS_MAPPINGS, **(extra_nodes or {})}, backend=backend)
        try:
            yield ctx.harness()
        finally:
            ctx.close()
            residue = ctx.check()
            assert not residue, [str(r) for r in residue]


def run_on_both(runtime, steps_factory, extra_nodes: dict | None = None):
    """Runs the same series on the mock and on real ComfyUI; returns (mock_records, real_records)."""
    from pytest_comfyruntime.checks.parity import record_series

    out = {}
    for backend in ("mock", "real"):
        with backend_harness(runtime, backend, extra_nodes) as harness:
            out[backend] = record_series(harness, steps_factory())
    return out["mock"], out["real"]
