"""Captures, per prompt, the scalar inputs of every node that ran.

Built on pytest-comfyruntime's reference capture (:mod:`pytest_comfyruntime.capture`), which
keeps the safety promises: nothing is patched until ``enable()`` (or ``auto_enable()`` with
``COMFY_META_EXT_HOOKS=1``); another extension's wrapper on a target makes ``enable()`` refuse
and touch nothing; an exception inside the capture disables it, is logged once, and ComfyUI
still runs the original; ``disable()`` restores the exact originals. Sessions are keyed by the
real ``prompt_id`` argument and guarded by a lock; the current prompt travels in a context
variable, which also reaches the node code ComfyUI 0.3.x runs inside ``asyncio.run``.
"""
from __future__ import annotations

from types import ModuleType
from typing import Any

import execution

from pytest_comfyruntime.capture import RuntimeCapture

_capture = RuntimeCapture(name="comfy_meta_ext", env_var="COMFY_META_EXT_HOOKS", config_env_var=None)


def enable(module: ModuleType | None = None) -> bool:
    """Installs the wrappers once; returns False if they are already installed (or refused)."""
    return _capture.enable(module or execution)


def auto_enable(module: ModuleType | None = None) -> bool:
    """Installs the wrappers only when ``COMFY_META_EXT_HOOKS`` opts in."""
    return _capture.auto_enable(module or execution)


def disable(module: ModuleType | None = None) -> None:
    """Restores the exact originals and forgets every session."""
    _capture.disable(module)


def get_session(prompt_id: str) -> dict[str, Any] | None:
    """``{"prompt_id", "inputs": {node_id: {"class_type", **scalars}}, "order": [node ids]}``."""
    record = _capture.get_session(prompt_id)
    if record is None:
        return None
    return {"prompt_id": record.prompt_id, "inputs": record.inputs, "order": list(record.order)}
