"""The real-ComfyUI tier: collected only when the session runs both backends.

``make test`` runs it once per era, each in its own process, with tests/capture and the planted
faults' real runs: ``pytest tests/real tests/capture tests/planted -k "not planted or on-real"
--comfyruntime-executor=both --comfyui-root=ROOT --comfyruntime-era ERA``.
"""
from __future__ import annotations

import pytest

from pytest_comfyruntime.runtime import RUNTIME_KEY


@pytest.fixture(scope="session")
def runtime(pytestconfig):
    rt = pytestconfig.stash[RUNTIME_KEY]
    assert set(rt.backends) == {"mock", "real"}, "tests/real needs --comfyruntime-executor=both"
    assert rt.backends["mock"].era.key == rt.backends["real"].era.key, (
        "pass --comfyruntime-era equal to the real root's era (see the header)")
    return rt
