"""The A-C signature records (the project's one store of facts about real ComfyUI's surface) match
the real ComfyUI modules of their era (run per era, in the real tier's own process). A record that
drifts fails with a line per target and parameter; regenerate it with the command in
``pytest_comfyruntime/executor/signatures/__main__.py``."""
from __future__ import annotations

import importlib

from realtier import backend_harness

from pytest_comfyruntime.executor import signatures


def test_record_matches_the_real_module(runtime):
    era = runtime.backends["real"].era.key
    record = signatures.load_record(era)
    assert record["obtained"] == "run", f"{signatures.origin(record)}: there is no real ComfyUI to compare it with"
    with backend_harness(runtime, "real"):
        real = signatures.record_from_modules(era, importlib.import_module)
    diff = signatures.compare(record, real, left=signatures.origin(record), right="real ComfyUI",
                              public_names_subset=False)
    assert not diff, "\n".join(diff)
