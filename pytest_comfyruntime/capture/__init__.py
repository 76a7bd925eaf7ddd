"""Reference runtime capture for ComfyUI: safe hooks on ``PromptExecutor.execute`` /
``execute_async`` and ``execution.get_input_data``, one session per prompt.

Use the default instance through the module functions, or make your own
:class:`RuntimeCapture` (own opt-in variable, own logger name)::

    from pytest_comfyruntime import capture

    capture.auto_enable()                    # at import of your extension: off unless opted in
    ...
    record = capture.consume_session(prompt_id)   # in your save node
    if record is not None:
        steps = record.inputs[node_id]["steps"]

Opting in: ``COMFYRUNTIME_CAPTURE=1`` (or ``0`` to force off), else ``runtime_hooks.enabled`` in
the JSON file named by ``COMFYRUNTIME_CAPTURE_CONFIG``, else off. Importing this package patches
nothing and imports neither torch nor ComfyUI.
"""
from __future__ import annotations

from types import ModuleType
from typing import Any, Final

from ._capture import RuntimeCapture
from ._config import CONFIG_ENV_VAR, ENV_VAR, CaptureConfigError, OptIn, resolve_opt_in
from ._models import CaptureStatus, HookStats, NodeCapture, PromptCapture
from ._targets import TARGETS, Target

#: The capture behind the module-level functions.
CAPTURE: Final = RuntimeCapture()


def enable_hooks(execution: ModuleType | None = None) -> bool:
    """Installs the default capture now (an explicit opt-in); see :meth:`RuntimeCapture.enable`."""
    return CAPTURE.enable(execution)


def disable_hooks(execution: ModuleType | None = None) -> bool:
    """Restores the originals and drops every session; see :meth:`RuntimeCapture.disable`."""
    return CAPTURE.disable(execution)


def auto_enable(execution: ModuleType | None = None) -> bool:
    """Installs the default capture only when opted in (env > config file > off)."""
    return CAPTURE.auto_enable(execution)


def get_session(prompt_id: Any) -> PromptCapture | None:
    return CAPTURE.get_session(prompt_id)


def consume_session(prompt_id: Any) -> PromptCapture | None:
    return CAPTURE.consume_session(prompt_id)


def status() -> CaptureStatus:
    return CAPTURE.status()


__all__ = [
    "CAPTURE",
    "CONFIG_ENV_VAR",
    "CaptureConfigError",
    "CaptureStatus",
    "ENV_VAR",
    "HookStats",
    "NodeCapture",
    "OptIn",
    "PromptCapture",
    "RuntimeCapture",
    "TARGETS",
    "Target",
    "auto_enable",
    "consume_session",
    "disable_hooks",
    "enable_hooks",
    "get_session",
    "resolve_opt_in",
    "status",
]
