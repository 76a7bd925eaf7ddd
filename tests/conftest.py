"""The project's own tests. ``pytester`` is enabled through pyproject's addopts."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def real_surface() -> dict:
    """Public names and signatures of real ComfyUI per era (scripts/record_real_surface.py)."""
    return json.loads((DATA / "real_surface.json").read_text())
