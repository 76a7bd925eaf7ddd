"""pytest-comfyruntime: test ComfyUI extensions' execution hooks against a faithful mock or a real
ComfyUI ``PromptExecutor``. The public names are listed in ``__all__``; the README documents them.

Importing this package imports neither torch nor ComfyUI.
"""
from __future__ import annotations

from .checks.residue import Residue
from .config import ConfigError, Settings
from .executor.eras import ERAS, Era
from .executor.harness import ExecutorHarness, Message, PromptValidationError, ProviderCall, RunResult
from .executor.hook_breaker import HookBrokenWarning
from .executor.registry import NodeRegistry
from .executor.standin import StandIn
from .workflows import WorkflowError, load_workflow, validate_workflow

__all__ = [
    "ConfigError",
    "ERAS",
    "Era",
    "ExecutorHarness",
    "HookBrokenWarning",
    "Message",
    "NodeRegistry",
    "PromptValidationError",
    "ProviderCall",
    "Residue",
    "RunResult",
    "Settings",
    "StandIn",
    "WorkflowError",
    "load_workflow",
    "validate_workflow",
]
