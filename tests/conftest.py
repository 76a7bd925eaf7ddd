"""The project's own tests. ``pytester`` is enabled through pyproject's addopts."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _no_ci_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's own inner sessions never write into the CI job's step summary, nor annotate it."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config):
    """tests/real runs only in sessions with both backends (make test starts one per era)."""
    if collection_path.name == "real" and collection_path.parent == Path(__file__).parent:
        from pytest_comfyruntime.runtime import RUNTIME_KEY

        runtime = config.stash.get(RUNTIME_KEY, None)
        if runtime is None or set(runtime.backends) != {"mock", "real"}:
            return True
    return None
