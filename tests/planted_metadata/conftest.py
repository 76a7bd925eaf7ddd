"""The metadata save nodes (the reference one and the planted ones) registered, and the reference
capture enabled on this test's ComfyUI (what a metadata extension's hooks do), undone afterwards."""
from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import planted_savers
import pytest

from pytest_comfyruntime import capture
from pytest_comfyruntime.metadata import METADATA_NODE_CLASS_MAPPINGS


@pytest.fixture
def savers(comfy_execution_module: ModuleType, comfy_nodes) -> Iterator[ModuleType]:
    for name, cls in {**METADATA_NODE_CLASS_MAPPINGS, **planted_savers.PLANTED}.items():
        comfy_nodes.add(name, cls)
    planted_savers.reset()
    assert capture.enable_hooks(comfy_execution_module), capture.status().reason
    try:
        yield comfy_execution_module
    finally:
        planted_savers.drop_extra_data(comfy_execution_module)
        capture.disable_hooks(comfy_execution_module)
        planted_savers.reset()
