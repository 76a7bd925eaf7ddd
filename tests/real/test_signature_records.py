"""The A-C signature records (the project's one store of facts about real ComfyUI's surface) match
the real ComfyUI modules of their era (run per era, in the real tier's own process). A record that
drifts fails with a line per target and parameter; regenerate it with the command in
``pytest_comfyruntime/executor/signatures/__main__.py``."""
from __future__ import annotations

import importlib

from realtier import backend_harness

from pytest_comfyruntime.executor import signatures


def test_record_matches_the_real_module(runtime):
    backend = runtime.backends["real"]
    era = backend.era.key
    # the record of the signature read from the root's code (A to C: the era's own; 2026: "D" or "D-11")
    assert backend.signature == signatures.detect_signature(era, (backend.real.info.root / "execution.py").read_text())
    record = signatures.load_record(backend.signature)
    assert record["obtained"] == "run", f"{signatures.origin(record)}: there is no real ComfyUI to compare it with"
    with backend_harness(runtime, "real"):
        real = signatures.record_from_modules(era, importlib.import_module)
    diff = signatures.compare(record, real, left=signatures.origin(record), right="real ComfyUI",
                              public_names_subset=False)
    assert not diff, "\n".join(diff)
