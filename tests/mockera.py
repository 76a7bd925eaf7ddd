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

    @property
    def gen(self) -> str:
        """The generation: the era, or the era a variant belongs to ("D" for "D-11"), for facts of
        the files a variant shares with its base (``nodes``, ``comfy_api``, ...)."""
        return ERAS[self.era].base

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


class _Polled:
    """A node whose IS_CHANGED answers ``token[0]``, which the test sets between prompts: its
    inputs (one constant) are the same in every prompt, so only IS_CHANGED can tell them apart."""

    token = ["x"]
    runs: list = []

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", {"default": 0})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"

    @classmethod
    def IS_CHANGED(cls, value=None, **kwargs):
        return cls.token[0]

    def run(self, value):
        self.runs.append(value)
        return (value,)


def polled_node() -> type:
    """A fresh :class:`_Polled` (its own token and run list)."""
    return type("Polled", (_Polled,), {"token": ["x"], "runs": []})


POLLED_PROMPT = {"1": {"class_type": "Polled", "inputs": {"value": 7}},
                 "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}}
