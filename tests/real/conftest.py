"""The real-ComfyUI tier: collected only when the session runs both backends.

``make test`` runs it once per era, each in its own process:
``pytest tests/real --comfyruntime-executor=both --comfyui-root ROOT --comfyruntime-era ERA``.
"""
from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pytest_comfyruntime.executor.harness import ExecutorHarness
from pytest_comfyruntime.nodes import TEST_NODE_CLASS_MAPPINGS
from pytest_comfyruntime.plugin import RUNTIME_KEY


@pytest.fixture(scope="session")
def runtime(pytestconfig):
    rt = pytestconfig.stash[RUNTIME_KEY]
    assert set(rt.backends) == {"mock", "real"}, "tests/real needs --comfyruntime-executor=both"
    assert rt.backends["mock"].era.key == rt.backends["real"].era.key, (
        "pass --comfyruntime-era equal to the real root's era (see the header)")
    return rt


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
