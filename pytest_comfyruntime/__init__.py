"""pytest-comfyruntime: test ComfyUI extensions' execution hooks against a faithful mock or a real
ComfyUI ``PromptExecutor``. The public names are listed in ``__all__``; the README documents them.

Importing this package imports neither torch nor ComfyUI, nor any of the harness: each public
name is imported on first use (module ``__getattr__``), so ``import pytest_comfyruntime.capture``
inside a running ComfyUI loads the capture and nothing else.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from .checks.assertions import RuntimeChecks
    from .checks.canaries import IsolationReport
    from .checks.hooks_active import HooksActiveReport
    from .checks.residue import Residue
    from .config import ConfigError, Settings
    from .executor.eras import ERAS, Era
    from .executor.harness import (
        ExecutorHarness,
        Message,
        PromptShapeError,
        PromptValidationError,
        ProviderCall,
        RunResult,
    )
    from .executor.hook_breaker import HookBrokenWarning
    from .executor.registry import NodeRegistry
    from .executor.standin import StandIn
    from .overhead.measure import OverheadError
    from .overhead.models import Budget, OverheadResult
    from .workflows import WorkflowError, load_workflow, validate_workflow

#: Public name -> the module (relative to this package) it is imported from on first use.
_WHERE: Final[dict[str, str]] = {
    "ConfigError": ".config",
    "ERAS": ".executor.eras",
    "Era": ".executor.eras",
    "ExecutorHarness": ".executor.harness",
    "HookBrokenWarning": ".executor.hook_breaker",
    "HooksActiveReport": ".checks.hooks_active",
    "IsolationReport": ".checks.canaries",
    "Message": ".executor.harness",
    "NodeRegistry": ".executor.registry",
    "Budget": ".overhead.models",
    "OverheadError": ".overhead.measure",
    "OverheadResult": ".overhead.models",
    "PromptShapeError": ".executor.harness",
    "PromptValidationError": ".executor.harness",
    "ProviderCall": ".executor.harness",
    "Residue": ".checks.residue",
    "RunResult": ".executor.harness",
    "RuntimeChecks": ".checks.assertions",
    "Settings": ".config",
    "StandIn": ".executor.standin",
    "WorkflowError": ".workflows",
    "load_workflow": ".workflows",
    "validate_workflow": ".workflows",
}

__all__ = [
    "Budget",
    "ConfigError",
    "ERAS",
    "Era",
    "ExecutorHarness",
    "HookBrokenWarning",
    "HooksActiveReport",
    "IsolationReport",
    "Message",
    "NodeRegistry",
    "OverheadError",
    "OverheadResult",
    "PromptShapeError",
    "PromptValidationError",
    "ProviderCall",
    "Residue",
    "RunResult",
    "RuntimeChecks",
    "Settings",
    "StandIn",
    "WorkflowError",
    "load_workflow",
    "validate_workflow",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
