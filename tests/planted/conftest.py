"""Planted bad hook modules (``modules/``) and what they need: their source, and the backends.

Every test here runs on the mock; when the session itself runs a real ComfyUI (the real tier:
``--comfyruntime-executor=both --comfyui-root ROOT``), the pytester runs repeat on it too.
"""
from __future__ import annotations

import pytest
from planted_faults import source


def _real_args(config: pytest.Config) -> list[str] | None:
    from pytest_comfyruntime.runtime import RUNTIME_KEY

    runtime = config.stash.get(RUNTIME_KEY, None)
    real = runtime.backends.get("real") if runtime is not None else None
    if real is None:
        return None
    return ["--comfyruntime-executor=real", f"--comfyui-root={real.real.info.root}",
            f"--comfyruntime-era={real.era.key}"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend_args" in metafunc.fixturenames:
        params = [pytest.param([], id="on-mock")]
        real = _real_args(metafunc.config)
        if real is not None:
            params.append(pytest.param(real, id="on-real"))
        metafunc.parametrize("backend_args", params)


@pytest.fixture
def planted(pytester: pytest.Pytester):
    """``planted("planted_global", ...)`` writes those modules into the pytester folder."""
    def write(*names: str) -> None:
        pytester.makepyfile(**{name: source(name) for name in names})
        pytester.syspathinsert()
    return write
