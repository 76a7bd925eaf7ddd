"""The project's own tests. ``pytester`` is enabled through pyproject's addopts."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def real_surface() -> dict:
    """Public names and signatures of real ComfyUI per era (scripts/record_real_surface.py)."""
    from pytest_comfyruntime.executor.signatures import as_real_surface

    data = json.loads((DATA / "real_surface.json").read_text())
    data.setdefault("D", as_real_surface("D"))  # 2026: from reading its source (no runnable copy)
    return data


def pytest_ignore_collect(collection_path: Path, config: pytest.Config):
    """tests/real runs only in sessions with both backends (make test starts one per era)."""
    if collection_path.name == "real" and collection_path.parent == Path(__file__).parent:
        from pytest_comfyruntime.plugin import RUNTIME_KEY

        runtime = config.stash.get(RUNTIME_KEY, None)
        if runtime is None or set(runtime.backends) != {"mock", "real"}:
            return True
    return None
