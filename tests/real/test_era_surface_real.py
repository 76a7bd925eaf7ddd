"""The records' ``module_names`` (the public names of ``folder_paths``, ``server``, ``nodes``,
``comfy.*``, ``comfy_execution.*`` and ``comfy_api.latest``) match the real modules of this
session's era: every recorded name is there, and a name the record lacks is one the root's
source binds only conditionally (inside an ``if`` or ``try`` at module level: an optional package,
a hardware probe), so a runner with other hardware or packages does not fail the record."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

from realtier import backend_harness

from pytest_comfyruntime.executor import signatures


def _conditional_names(source: Path) -> set[str]:
    """Names bound inside module-level ``if`` / ``try`` / ``with`` blocks of ``source``."""
    found: set[str] = set()
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                    found.add(inner.id)
                elif isinstance(inner, (ast.Import, ast.ImportFrom)):
                    found.update((a.asname or a.name).split(".")[0] for a in inner.names)
                elif isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    found.add(inner.name)
    return found


def test_module_names_match_the_real_modules(runtime):
    era = runtime.backends["real"].era.key
    signature = runtime.backends["real"].signature  # read from the root's code: the era before 2026
    assert signature in signatures.SIGNATURES[era]
    record = signatures.load_record(signature)
    assert record["obtained"] == "run", f"{signatures.origin(record)}: there is no real ComfyUI to compare it with"
    with backend_harness(runtime, "real"):
        real = signatures.record_from_modules(era, importlib.import_module)
        files = {module: Path(importlib.import_module(module).__file__ or "")
                 for module, names in real["module_names"].items() if names is not None}
    problems = []
    for module, names in record["module_names"].items():
        theirs = real["module_names"][module]
        if names is None or theirs is None:
            if (names is None) != (theirs is None):
                problems.append(f"{module}: recorded {'absent' if names is None else 'present'}, real "
                                f"{'absent' if theirs is None else 'present'}")
            continue
        missing = sorted(set(names) - set(theirs))
        if missing:
            problems.append(f"{module}: recorded names real ComfyUI lacks: {missing}")
        unrecorded = set(theirs) - set(names)
        if unrecorded:
            unexplained = sorted(unrecorded - _conditional_names(files[module]))
            if unexplained:
                problems.append(f"{module}: real names the record lacks: {unexplained}")
    assert not problems, f"{signatures.origin(record)}:\n" + "\n".join(problems)
