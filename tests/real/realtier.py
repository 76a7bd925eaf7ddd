"""Helpers of the real-ComfyUI tier (a module of its own: every ``conftest`` is imported under
the one name ``conftest``, so ``from conftest import`` would get whichever was imported last)."""
from __future__ import annotations

import copy
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pytest_comfyruntime.executor.harness import ExecutorHarness, PromptValidationError
from pytest_comfyruntime.nodes import TEST_NODE_CLASS_MAPPINGS

#: Node classes to register: a mapping, or a function building them on the ComfyUI of the backend
#: (V3 stand-ins are built on the active ``comfy_api.latest.io``), called once that backend is active.
ExtraNodes = Mapping[str, type] | Callable[[], dict] | None


@contextmanager
def backend_harness(runtime, backend: str, extra_nodes: ExtraNodes = None) -> Iterator[ExecutorHarness]:
    """A harness on one backend with the CR pack (and ``extra_nodes``); fails on residue."""
    with tempfile.TemporaryDirectory(prefix=f"comfyruntime-{backend}-") as tmp:
        fixed = extra_nodes if isinstance(extra_nodes, Mapping) else {}
        ctx = runtime.open_test(Path(tmp), {**TEST_NODE_CLASS_MAPPINGS, **fixed}, backend=backend)
        try:
            if extra_nodes is not None and not isinstance(extra_nodes, Mapping):
                ctx.registry.add_all(extra_nodes())
            yield ctx.harness()
        finally:
            ctx.close()
            residue = ctx.check()
            assert not residue, [str(r) for r in residue]


def run_on_both(runtime, steps_factory, extra_nodes: ExtraNodes = None):
    """Runs the same series on the mock and on real ComfyUI; returns (mock_records, real_records)."""
    from pytest_comfyruntime.checks.parity import record_series

    out = {}
    for backend in ("mock", "real"):
        with backend_harness(runtime, backend, extra_nodes) as harness:
            out[backend] = record_series(harness, steps_factory())
    return out["mock"], out["real"]


def validate_on_both(runtime, prompt: dict, client: str, extra_nodes: ExtraNodes = None) -> dict[str, Any]:
    """``validate_prompt`` of the same prompt on the mock and on real ComfyUI: per backend, the cleaned
    verdict (good outputs, or the error and node errors) and the prompt as validation left it."""
    from pytest_comfyruntime.checks.parity import clean

    results = {}
    for backend in ("mock", "real"):
        with backend_harness(runtime, backend, extra_nodes) as harness:
            work = copy.deepcopy(prompt)
            try:
                results[backend] = clean({"valid": True, "good": sorted(harness.validate(work, client)),
                                          "prompt_after": work})
            except PromptValidationError as exc:
                results[backend] = clean({"valid": False, "error": exc.error, "node_errors": exc.node_errors,
                                          "prompt_after": work})
    return results
