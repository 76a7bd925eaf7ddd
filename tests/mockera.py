"""Test helper: the mock of one era, active for one test, with the CR node pack registered."""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType

from pytest_comfyruntime.executor.eras import ERAS
from pytest_comfyruntime.executor.harness import ExecutorHarness
from pytest_comfyruntime.executor.registry import NodeRegistry
from pytest_comfyruntime.executor.standin import StandIn
from pytest_comfyruntime.nodes import TEST_NODE_CLASS_MAPPINGS

ALL_ERAS = sorted(ERAS)


@dataclass
class Mock:
    era: str
    execution: ModuleType
    nodes: ModuleType
    registry: NodeRegistry

    def harness(self, **kwargs) -> ExecutorHarness:
        server = sys.modules["server"].PromptServer(None)
        return ExecutorHarness(self.execution, server, era=self.era, **kwargs)


@contextlib.contextmanager
def mock_era(era: str, tmp_path) -> Iterator[Mock]:
    standin = StandIn(ERAS[era])
    undo = standin.activate()
    try:
        execution = standin.import_core(str(tmp_path))
        nodes = sys.modules["nodes"]
        registry = NodeRegistry(nodes)
        registry.add_all(TEST_NODE_CLASS_MAPPINGS)
        try:
            yield Mock(era, execution, nodes, registry)
        finally:
            registry.undo()
    finally:
        undo()


def four_node(a: int = 2, b: int = 3, ids=("1", "2", "3", "4")) -> dict:
    n1, n2, n3, n4 = ids
    return {
        n1: {"class_type": "CRInt", "inputs": {"value": a}},
        n2: {"class_type": "CRInt", "inputs": {"value": b}},
        n3: {"class_type": "CRAdd", "inputs": {"a": [n1, 0], "b": [n2, 0]}},
        n4: {"class_type": "CRRecord", "inputs": {"value": [n3, 0], "label": "sum"}},
    }
